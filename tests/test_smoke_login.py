"""Logging in and landing on the right home."""
from core.testing.fixtures import csrf_token


def test_tenant_logs_in_and_sees_the_portal(client, make_tenant, login):
    tenant = make_tenant(first_name="Nadia", last_name="Benali")
    response = login(client, tenant)
    assert response.location == "/portal/"
    page = client.get("/portal/").get_data(as_text=True)
    assert "Nadia Benali" in page


def test_wrong_password_is_refused(client, make_user):
    user = make_user("agent")
    token = csrf_token(client, "/login")
    response = client.post("/login", data={"csrf_token": token, "email": user.email,
                                           "password": "wrong"})
    assert response.status_code == 401
    assert client.get("/backoffice/").status_code == 302
