"""The tenant portal and the back office as their users see them."""
from datetime import date

from core.testing.fixtures import csrf_token


def test_tenant_logs_in_and_sees_the_portal(client, make_tenant, login):
    tenant = make_tenant(first_name="Nadia", last_name="Benali")
    response = login(client, tenant)
    assert response.location == "/portal/"
    page = client.get("/portal/").get_data(as_text=True)
    assert "Bonjour Nadia Benali" in page
    assert "T3 de 64,5 m², étage 0" in page


def test_tenant_sees_their_dwelling_and_lease(client, make_tenant, login):
    tenant = make_tenant(lease_start=date(2019, 3, 1))
    login(client, tenant)
    page = client.get("/portal/home").get_data(as_text=True)
    assert "Logement 001" in page or "logement 001" in page
    assert "64,5 m²" in page and "1 mars 2019" in page
    assert "1 rue de la Paix" in page and "11000 Carcassonne" in page


def test_tenant_without_a_lease_is_told_whom_to_contact(client, make_user, login):
    login(client, make_user("tenant"))
    assert "Aucun bail en cours" in client.get("/portal/home").get_data(as_text=True)
    assert "Mon logement" not in client.get("/portal/").get_data(as_text=True).split(
        "</nav>")[1]


def test_wrong_password_is_refused(client, make_user):
    user = make_user("agent")
    token = csrf_token(client, "/login")
    response = client.post("/login", data={"csrf_token": token, "email": user.email,
                                           "password": "wrong"})
    assert response.status_code == 401
    assert "Adresse e-mail ou mot de passe incorrect." in response.get_data(as_text=True)
    assert client.get("/backoffice/").status_code == 302


def test_unknown_and_known_emails_get_the_same_answer(client, make_user):
    user = make_user("agent")
    token = csrf_token(client, "/login")
    known = client.post("/login", data={"csrf_token": token, "email": user.email,
                                        "password": "wrong"})
    unknown = client.post("/login", data={"csrf_token": token, "email": "x" + user.email,
                                          "password": "wrong"})
    assert known.status_code == unknown.status_code == 401


def test_invalid_login_form_says_what_to_fix_in_french(client):
    token = csrf_token(client, "/login")
    response = client.post("/login", data={"csrf_token": token, "email": "pas-une-adresse",
                                           "password": ""})
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Saisissez une adresse e-mail valide" in page
    assert "Saisissez votre mot de passe." in page
    assert 'aria-invalid="true"' in page


def test_staff_land_on_the_back_office(client, make_user, login):
    response = login(client, make_user("caretaker", display_name="Jean Garcia"))
    assert response.location == "/backoffice/"
    page = client.get("/backoffice/").get_data(as_text=True)
    assert "Jean Garcia (gardien)" in page
