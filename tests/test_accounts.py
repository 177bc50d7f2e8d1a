"""Accounts: a tenant's self-activation, password resets and changes, staff accounts."""
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from core.accounts import AccountToken, Role, User, utcnow
from core.estate import Lease, Person
from core.extensions import db
from core.testing.fixtures import DEFAULT_PASSWORD, csrf_token

NEW_PASSWORD = "un matin de printemps à Narbonne"


@pytest.fixture
def mail_app(make_app, smtp_server):
    """An app whose mail goes to the real SMTP server on loopback."""
    return make_app(MAIL_SERVER=smtp_server.host, MAIL_PORT=smtp_server.port,
                    PUBLIC_URL="http://locataires.habitat-demo.fr")


@pytest.fixture
def lease(mail_app, make_tenant):
    """A lease without an account yet: what a tenant has on their rent notice."""
    tenant = make_tenant(first_name="Aïcha", last_name="Haddad")
    with mail_app.app_context():
        user = db.session.get(User, tenant.id)
        person_id = user.person_id
        db.session.get(Person, person_id).email = "aicha.haddad@example.org"  # known address
        reference = db.session.scalar(
            select(Lease.reference).join(Person, Person.household_id == Lease.household_id)
            .where(Person.id == person_id))
        db.session.delete(user)
        db.session.commit()
    return {"reference": reference, "postcode": "11000", "person_id": person_id}


def token_count(app):
    with app.app_context():
        return db.session.scalar(select(func.count(AccountToken.id)))


def post(client, url, **data):
    return client.post(url, data={"csrf_token": csrf_token(client, url), **data})


def activation_code(smtp_server):
    text = smtp_server.messages[-1].get_body(preferencelist=("plain",)).get_content()
    return re.search(r"^\s+(\d{6})\s*$", text, flags=re.M).group(1), text


def test_tenant_activates_an_account_with_the_code_received_by_mail(mail_app, lease,
                                                                    smtp_server):
    client = mail_app.test_client()
    response = post(client, "/activate", lease_reference=lease["reference"].lower(),
                    postcode=lease["postcode"], email="Aicha.Haddad@Example.org")
    assert response.status_code == 302 and response.location == "/activate/code"

    message = smtp_server.messages[-1]
    assert message["To"] == "aicha.haddad@example.org"
    assert message["Subject"] == "Votre code d’activation"
    code, text = activation_code(smtp_server)
    assert "http://locataires.habitat-demo.fr/activate/code" in text
    assert "valable 30 minutes" in text

    replay = mail_app.test_client()  # the same browser state, kept to try the code again
    replay.set_cookie("palier_session", client.get_cookie("palier_session").value)
    response = post(client, "/activate/code", code=code, password=NEW_PASSWORD,
                    confirm=NEW_PASSWORD)
    assert response.status_code == 302 and response.location == "/portal/"
    assert "Bonjour Aïcha Haddad" in client.get("/portal/").get_data(as_text=True)

    response = post(replay, "/activate/code", code=code, password=NEW_PASSWORD,
                    confirm=NEW_PASSWORD)
    assert response.status_code == 400  # one use only
    with mail_app.app_context():
        user = User.by_email("aicha.haddad@example.org")
        assert user.role is Role.TENANT and user.person_id == lease["person_id"]
        assert user.check_password(NEW_PASSWORD)


@pytest.mark.parametrize("field, value", [
    ("lease_reference", "BAIL-INCONNU"), ("postcode", "75001"),
    ("email", "someone.else@example.org"),  # knowing the reference is not enough
])
def test_a_mismatch_is_explained_the_same_way_and_writes_nothing(mail_app, lease, smtp_server,
                                                                 field, value):
    data = {"lease_reference": lease["reference"], "postcode": "11000",
            "email": "aicha.haddad@example.org", field: value}
    response = post(mail_app.test_client(), "/activate", **data)
    assert response.status_code == 400
    assert "ne correspondent pas à ce que votre bailleur connaît" in response.get_data(
        as_text=True)
    assert token_count(mail_app) == 0 and smtp_server.messages == []


def test_a_household_without_a_known_address_cannot_self_activate(mail_app, lease, smtp_server):
    with mail_app.app_context():
        db.session.get(Person, lease["person_id"]).email = None
        db.session.commit()
    response = post(mail_app.test_client(), "/activate", lease_reference=lease["reference"],
                    postcode="11000", email="aicha.haddad@example.org")
    assert response.status_code == 400 and smtp_server.messages == []


def test_malformed_activation_input_is_refused_in_french(mail_app, lease):
    client = mail_app.test_client()
    response = post(client, "/activate", lease_reference="", postcode="11", email="pas-un-mail")
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Saisissez la référence de votre bail" in page
    assert "Un code postal compte cinq chiffres" in page
    assert "Saisissez une adresse e-mail valide" in page
    assert token_count(mail_app) == 0


def test_a_wrong_or_expired_code_is_refused(mail_app, lease, smtp_server):
    client = mail_app.test_client()
    post(client, "/activate", lease_reference=lease["reference"], postcode="11000",
         email="aicha.haddad@example.org")
    code, _text = activation_code(smtp_server)
    wrong = "000000" if code != "000000" else "111111"
    response = post(client, "/activate/code", code=wrong, password=NEW_PASSWORD,
                    confirm=NEW_PASSWORD)
    assert response.status_code == 400
    assert "Ce code n’est pas celui que nous avons envoyé" in response.get_data(as_text=True)

    with mail_app.app_context():
        token = db.session.scalar(select(AccountToken))
        token.expires_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
    response = post(client, "/activate/code", code=code, password=NEW_PASSWORD,
                    confirm=NEW_PASSWORD)
    assert response.status_code == 400
    assert "Ce code a expiré" in response.get_data(as_text=True)
    with mail_app.app_context():
        assert User.by_email("aicha.haddad@example.org") is None


def test_five_wrong_codes_kill_the_code(mail_app, lease, smtp_server):
    client = mail_app.test_client()
    post(client, "/activate", lease_reference=lease["reference"], postcode="11000",
         email="aicha.haddad@example.org")
    code, _text = activation_code(smtp_server)
    wrong = "000000" if code != "000000" else "111111"
    for _attempt in range(5):
        post(client, "/activate/code", code=wrong, password=NEW_PASSWORD, confirm=NEW_PASSWORD)
    response = post(client, "/activate/code", code=code, password=NEW_PASSWORD,
                    confirm=NEW_PASSWORD)
    assert response.status_code == 400
    with mail_app.app_context():
        assert User.by_email("aicha.haddad@example.org") is None


def test_a_lease_with_an_account_cannot_be_activated_twice(mail_app, make_tenant):
    tenant = make_tenant()
    with mail_app.app_context():
        reference = db.session.scalar(select(Lease.reference))
        db.session.get(Person, tenant.person_id).email = "known@example.org"
        db.session.commit()
    response = post(mail_app.test_client(), "/activate", lease_reference=reference,
                    postcode="11000", email="known@example.org")
    assert response.status_code == 400
    assert "Un compte existe déjà pour ce bail" in response.get_data(as_text=True)


def test_reset_links_use_the_public_url_never_the_request_host(mail_app, make_user,
                                                              smtp_server):
    user = make_user("agent")
    attacker = mail_app.test_client()  # a request whose Host header names another site
    page = attacker.get("/password/forgot", base_url="http://evil.example").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    response = attacker.post("/password/forgot", base_url="http://evil.example",
                             data={"csrf_token": token, "email": user.email})
    assert response.status_code == 200
    client = mail_app.test_client()
    text = smtp_server.messages[-1].get_body(preferencelist=("plain",)).get_content()
    assert "evil.example" not in text
    link = re.search(r"http://locataires\.habitat-demo\.fr(/password/reset/\S+)", text).group(1)

    other_device = mail_app.test_client()
    post(other_device, "/login", email=user.email, password=DEFAULT_PASSWORD)
    assert other_device.get("/backoffice/").status_code == 200

    response = post(client, link, password=NEW_PASSWORD, confirm=NEW_PASSWORD)
    assert response.status_code == 302 and response.location == "/login"
    assert other_device.get("/backoffice/").status_code == 302  # its session ended
    assert post(client, link, password=NEW_PASSWORD, confirm=NEW_PASSWORD).status_code == 400
    response = post(client, "/login", email=user.email, password=NEW_PASSWORD)
    assert response.location == "/backoffice/"


def test_forgot_password_says_the_same_for_unknown_addresses(mail_app, smtp_server):
    response = post(mail_app.test_client(), "/password/forgot", email="nobody@example.org")
    assert response.status_code == 200
    assert "Si un compte utilise nobody@example.org" in response.get_data(as_text=True)
    assert smtp_server.messages == []


@pytest.mark.parametrize("secret", ["", "x", "a" * 43, "A" * 200])
def test_guessed_or_empty_reset_links_are_refused(mail_app, secret):
    response = mail_app.test_client().get(f"/password/reset/{secret}")
    assert response.status_code in (400, 404)


def test_changing_the_password_ends_the_other_sessions_only(app, make_user, login):
    user = make_user("technician")
    here, elsewhere = app.test_client(), app.test_client()
    login(here, user)
    login(elsewhere, user, remember=True)
    response = post(here, "/account/password", current_password=DEFAULT_PASSWORD,
                    password=NEW_PASSWORD, confirm=NEW_PASSWORD)
    assert response.status_code == 302
    assert here.get("/backoffice/").status_code == 200
    assert elsewhere.get("/backoffice/").status_code == 302


def test_a_weak_new_password_is_refused(app, make_user, login):
    user = make_user("agent")
    client = app.test_client()
    login(client, user)
    response = post(client, "/account/password", current_password=DEFAULT_PASSWORD,
                    password="court", confirm="court")
    assert response.status_code == 400
    assert "au moins 12 caractères" in response.get_data(as_text=True)


def test_login_is_throttled_per_account_from_any_address(make_app, make_user):
    app = make_app(LOGIN_RATE_LIMIT_PER_ACCOUNT="3 per hour")
    user = make_user("agent")
    codes = []
    for n in range(5):
        client = app.test_client()
        token = csrf_token(client, "/login")
        codes.append(client.post("/login", data={"csrf_token": token, "email": user.email,
                                                 "password": "wrong"},
                                 environ_base={"REMOTE_ADDR": f"10.0.0.{n + 1}"}).status_code)
    assert codes == [401, 401, 401, 429, 429]


def test_admin_creates_a_staff_account_and_the_invitation_works(mail_app, make_user, login,
                                                                smtp_server):
    admin = make_user("admin")
    client = mail_app.test_client()
    login(client, admin)
    response = post(client, "/backoffice/admin/users", display_name="Karim Benali",
                    email="karim.benali@habitat-demo.fr", role="caretaker")
    assert response.status_code == 302
    page = client.get("/backoffice/admin/users").get_data(as_text=True)
    assert "Karim Benali" in page and "gardien" in page
    text = smtp_server.messages[-1].get_body(preferencelist=("plain",)).get_content()
    link = re.search(r"http://locataires\.habitat-demo\.fr(/password/reset/\S+)", text).group(1)
    invited = mail_app.test_client()
    assert post(invited, link, password=NEW_PASSWORD, confirm=NEW_PASSWORD).status_code == 302
    assert post(invited, "/login", email="karim.benali@habitat-demo.fr",
                password=NEW_PASSWORD).location == "/backoffice/"


def test_disabling_an_account_logs_it_out(app, make_user, login):
    admin, agent = make_user("admin"), make_user("agent")
    admin_client, agent_client = app.test_client(), app.test_client()
    login(admin_client, admin)
    login(agent_client, agent)
    response = admin_client.post(f"/backoffice/admin/users/{agent.id}/active",
                                 data={"csrf_token": csrf_token(admin_client,
                                                                "/backoffice/admin/users")})
    assert response.status_code == 302
    assert agent_client.get("/backoffice/").status_code == 302
    assert post(agent_client, "/login", email=agent.email,
                password=DEFAULT_PASSWORD).status_code == 401


def test_admin_attaches_staff_to_an_agency(app, make_user, make_estate, login):
    from sqlalchemy import select

    from core.estate import Agency

    make_estate()
    with app.app_context():
        agency = db.session.scalars(select(Agency)).first()
        agency_id, agency_name = agency.id, agency.name
    admin = make_user("admin")
    client = app.test_client()
    login(client, admin)
    created = post(client, "/backoffice/admin/users", display_name="Léa Petit",
                   email="lea.petit@habitat-demo.fr", role="agent", agency=str(agency_id))
    assert created.status_code == 302
    with app.app_context():
        lea = User.by_email("lea.petit@habitat-demo.fr")
        assert lea.agency_id == agency_id
        lea_id = lea.id
    page = client.get("/backoffice/admin/users").get_data(as_text=True)
    assert f'<option value="{agency_id}" selected>{agency_name}</option>' in page
    # Back to the whole landlord, then a made-up agency is refused and changes nothing.
    assert post(client, f"/backoffice/admin/users/{lea_id}/agency",
                agency="").status_code == 302
    refused = post(client, f"/backoffice/admin/users/{lea_id}/agency", agency="999999")
    assert refused.status_code == 303
    assert "Choisissez une agence dans la liste" in client.get(
        "/backoffice/admin/users").get_data(as_text=True)
    with app.app_context():
        assert db.session.get(User, lea_id).agency_id is None
    # An unknown agency when creating: the form says so and no account is made.
    assert post(client, "/backoffice/admin/users", display_name="X", email="x@habitat-demo.fr",
                role="agent", agency="999999").status_code == 400
    with app.app_context():
        assert User.by_email("x@habitat-demo.fr") is None


def test_palier_users_create(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["users", "create", "--email", "Nadia@Habitat-Demo.fr",
                                 "--role", "technician", "--name", "Nadia Benali",
                                 "--password", NEW_PASSWORD])
    assert result.exit_code == 0, result.output
    assert "Created technician account nadia@habitat-demo.fr" in result.output
    again = runner.invoke(args=["users", "create", "--email", "nadia@habitat-demo.fr",
                                "--role", "agent", "--password", NEW_PASSWORD])
    assert again.exit_code != 0 and "déjà utilisée" in again.output
    invited = runner.invoke(args=["users", "create", "--email", "sans.mdp@habitat-demo.fr",
                                  "--role", "agent"])
    assert invited.exit_code == 0 and "/password/reset/" in invited.output
    assert runner.invoke(args=["users", "create", "--email", "t@example.org",
                               "--role", "tenant"]).exit_code != 0
    unknown = runner.invoke(args=["users", "create", "--email", "a@habitat-demo.fr",
                                  "--role", "agent", "--agency", "AG-NOWHERE"])
    assert unknown.exit_code != 0 and "AG-NOWHERE" in unknown.output


def test_without_a_relay_mail_lands_in_the_admin_mailbox(app, make_user, login):
    user = make_user("agent")
    post(app.test_client(), "/password/forgot", email=user.email)
    admin = app.test_client()
    login(admin, make_user("admin"))
    page = admin.get("/backoffice/admin/mailbox").get_data(as_text=True)
    assert "Choisir un nouveau mot de passe" in page and user.email in page


def test_a_mail_relay_outage_is_explained_and_the_user_can_try_again(make_app, make_tenant,
                                                                     make_user, login):
    from core.testing.smtp import free_port

    app = make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=free_port(), MAIL_TIMEOUT=2)
    tenant = make_tenant()
    with app.app_context():  # a known address, and no account yet
        user = db.session.get(User, tenant.id)
        person = db.session.get(Person, user.person_id)
        person.email = "aicha.haddad@example.org"
        reference = person.household.leases[0].reference
        db.session.delete(user)
        db.session.commit()
    response = post(app.test_client(), "/activate", lease_reference=reference,
                    postcode="11000", email="aicha.haddad@example.org")
    assert response.status_code == 503
    assert "Veuillez réessayer dans quelques minutes" in response.get_data(as_text=True)
    admin = app.test_client()
    login(admin, make_user("admin"))
    response = post(admin, "/backoffice/admin/users", display_name="Paul Roux",
                    email="paul.roux@habitat-demo.fr", role="agent")
    page = admin.get("/backoffice/admin/users").get_data(as_text=True)
    assert "mais l’invitation n’a pas pu être envoyée" in page and "/password/reset/" in page


def test_activation_attempts_are_throttled_per_lease(make_app, smtp_server):
    app = make_app(ACTIVATION_RATE_LIMIT_PER_LEASE="2 per hour", MAIL_SERVER=smtp_server.host,
                   MAIL_PORT=smtp_server.port)
    codes = []
    for n in range(3):
        client = app.test_client()
        token = csrf_token(client, "/activate")
        codes.append(client.post("/activate", environ_base={"REMOTE_ADDR": f"10.1.1.{n}"},
                                 data={"csrf_token": token, "lease_reference": "BAIL-42",
                                       "postcode": "11000",
                                       "email": f"guess{n}@example.org"}).status_code)
    assert codes == [400, 400, 429]
