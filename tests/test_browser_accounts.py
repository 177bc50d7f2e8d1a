"""In a real browser: a tenant creates their account from the code received by mail."""
import re

import pytest
from sqlalchemy import select

from core.accounts import User
from core.estate import Lease, Person
from core.extensions import db
from core.testing.browser import assert_accessible
from core.testing.smtp import free_port

pytestmark = pytest.mark.browser
PASSWORD = "trois pommes vertes sur la table"


@pytest.fixture
def live_app(make_app, smtp_server):
    port = free_port()
    return make_app(PUBLIC_URL=f"http://127.0.0.1:{port}", MAIL_SERVER=smtp_server.host,
                    MAIL_PORT=smtp_server.port)


def test_tenant_activation_from_the_mailed_code_to_the_first_login(page, live_server, live_app,
                                                                   make_tenant, smtp_server):
    tenant = make_tenant(first_name="Mireille", last_name="Fontaine")
    with live_app.app_context():  # a lease whose household has no account yet
        user = db.session.get(User, tenant.id)
        db.session.get(Person, user.person_id).email = "mireille@example.org"
        reference = db.session.scalar(select(Lease.reference).join(
            Person, Person.household_id == Lease.household_id).where(Person.id == user.person_id))
        db.session.delete(user)
        db.session.commit()

    page.goto("/login")
    page.get_by_role("link", name=re.compile("Créez-le avec la référence de votre bail")).click()
    assert page.get_by_role("heading", level=1).inner_text() == "Créer mon compte locataire"
    assert_accessible(page)

    page.get_by_label("Référence du bail").fill("référence inconnue")
    page.get_by_label("Code postal de votre logement").fill("11000")
    page.get_by_label("Adresse e-mail").fill("mireille@example.org")
    page.get_by_role("button", name="Recevoir mon code").click()
    assert "ne correspondent pas" in page.get_by_role("alert").inner_text()
    assert_accessible(page)

    page.get_by_label("Référence du bail").fill(reference)
    page.get_by_role("button", name="Recevoir mon code").click()
    page.wait_for_url("**/activate/code")
    assert "mireille@example.org" in page.locator("main").inner_text()
    assert_accessible(page)

    mail = smtp_server.messages[-1].get_body(preferencelist=("plain",)).get_content()
    code = re.search(r"^\s+(\d{6})\s*$", mail, flags=re.M).group(1)
    page.get_by_label("Code reçu par e-mail").fill(code)
    page.get_by_label("Nouveau mot de passe").fill(PASSWORD)
    page.get_by_label("Saisissez de nouveau le mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Créer mon compte").click()
    page.wait_for_url("**/portal/")
    assert page.get_by_role("heading", level=1).inner_text() == "Bonjour Mireille Fontaine"
    assert "Votre compte est prêt" in page.get_by_role("status").inner_text()

    page.get_by_role("button", name="Se déconnecter").click()
    page.wait_for_url("**/login")
    page.get_by_label("Adresse e-mail").fill("mireille@example.org")
    page.get_by_label("Mot de passe", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url("**/portal/")
