"""Message texts: sandboxed, strict about variables, short channels without details; the
administrators' editor with preview, save, test and restore; the test-message page and CLI."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from core.accounts import Role
from core.extensions import db
from core.testing.fixtures import csrf_token
from plugins.notifications.kinds import MessageKind
from plugins.notifications.models import Message, Status, TemplateText
from plugins.notifications.texts import TemplateProblem, allowed_context, render_source

from .conftest import run_worker

URL = "/backoffice/notifications/texts/notifications.notice/mail/fr"


@pytest.fixture
def admin_client(notif_app, make_user, login):
    admin = make_user(Role.ADMIN)
    client = notif_app.test_client()
    login(client, admin)
    return client


def test_the_sandbox_refuses_to_reach_python_internals(notif_app):
    with notif_app.app_context(), pytest.raises(TemplateProblem):
        render_source("", "{{ landlord.__class__.__mro__ }}", {"landlord": "x"})


def test_an_unknown_variable_is_an_error_not_a_blank(notif_app):
    with notif_app.app_context(), pytest.raises(TemplateProblem, match="mistake"):
        render_source("", "Bonjour {{ mistake }}", {})


def test_short_texts_never_see_the_matter_details(notif_app, tmp_path):
    kind = MessageKind("test.health", "health", str(tmp_path),
                       variables={"diagnosis": "medical detail"})
    context = {"diagnosis": "asthme sévère", "link": "https://x/claims/1"}
    with notif_app.app_context():
        assert "diagnosis" in allowed_context(kind, "mail", context)
        short = allowed_context(kind, "sms", context)
        assert "diagnosis" not in short and short["link"] == "https://x/claims/1"
        with pytest.raises(TemplateProblem):
            render_source("", "{{ diagnosis }}", short)


def _form(client, url, **fields):
    data = {"csrf_token": csrf_token(client, url), "subject": "", "body": "",
            "test_address": ""}
    data.update(fields)
    return client.post(url, data=data, follow_redirects=True)


def test_an_admin_previews_saves_tests_and_restores_a_text(notif_app, admin_client,
                                                           smtp_server):
    page = admin_client.get(URL)
    assert page.status_code == 200
    assert "{{ title }}" in page.get_data(as_text=True)  # the default text, to start from
    preview = _form(admin_client, URL, subject="Avis : {{ title }}",
                    body="Bonjour {{ recipient_name }},\n\n{{ body }}", preview="1")
    html = preview.get_data(as_text=True)
    assert "Avis : Coupure d&#39;eau jeudi 26 novembre" in html  # the sample data
    assert "Bonjour Mme Camille Martin" in html
    with notif_app.app_context():
        assert db.session.scalar(select(TemplateText)) is None  # a preview saves nothing

    bad = _form(admin_client, URL, subject="x", body="{{ diagnosis }}", save="1")
    assert "diagnosis" in bad.get_data(as_text=True)
    with notif_app.app_context():
        assert db.session.scalar(select(TemplateText)) is None

    _form(admin_client, URL, subject="Avis : {{ title }}",
          body="Bonjour {{ recipient_name }},\n\n{{ body }}", save="1")
    sent = _form(admin_client, URL, subject="Avis : {{ title }}",
                 body="Bonjour {{ recipient_name }},\n\n{{ body }}",
                 test_address="gestion@bailleur.example", send_test="1")
    assert sent.status_code == 200
    run_worker(notif_app)
    [mail] = smtp_server.messages
    assert mail["Subject"] == "Avis : Coupure d'eau jeudi 26 novembre"
    assert mail["To"] == "gestion@bailleur.example"

    _form(admin_client, URL, subject="x", body="x", restore="1")
    with notif_app.app_context():
        assert db.session.scalar(select(TemplateText)) is None
    assert "{{ title }}" in admin_client.get(URL).get_data(as_text=True)


def test_edited_texts_are_used_for_the_next_messages(notif_app, admin_client, make_tenant,
                                                     smtp_server):
    _form(admin_client, URL, subject="Information : {{ title }}", body="{{ body }}", save="1")
    tenant = make_tenant()
    with notif_app.app_context():
        from core.accounts import User
        from plugins.notifications import notify

        person = db.session.get(User, tenant.id).person
        notify(person, "notifications.notice", {"title": "Ascenseur", "body": "Réparé.",
                                                "residence": "R"}, event="notice:7")
        db.session.commit()
    run_worker(notif_app)
    assert smtp_server.messages[-1]["Subject"] == "Information : Ascenseur"


def test_only_administrators_edit_texts(notif_app, make_user, login):
    client = notif_app.test_client()
    login(client, make_user(Role.AGENT))
    assert client.get(URL).status_code == 403


def test_the_test_page_sends_through_the_worker(notif_app, admin_client, smtp_server):
    url = "/backoffice/notifications/test"
    response = admin_client.post(url, data={"csrf_token": csrf_token(admin_client, url),
                                            "channel": "mail", "address": "it@bailleur.example"})
    assert response.status_code == 302
    run_worker(notif_app)
    page = admin_client.get(response.location).get_data(as_text=True)
    assert "it@bailleur.example" in page
    with notif_app.app_context():
        message = db.session.scalar(select(Message))
        assert message.status is Status.SENT
    assert smtp_server.messages[0]["To"] == "it@bailleur.example"


def test_the_test_command_prints_the_outcome(notif_app, smtp_server):
    result = notif_app.test_cli_runner().invoke(
        args=["notify", "test", "--channel", "mail", "--to", "it@bailleur.example"])
    assert result.exit_code == 0, result.output
    assert "Outcome: sent" in result.output
    assert smtp_server.messages[0]["To"] == "it@bailleur.example"


def test_the_test_command_reports_a_channel_switched_off(notif_app):
    result = notif_app.test_cli_runner().invoke(
        args=["notify", "test", "--channel", "sms", "--to", "0612345678"])
    assert result.exit_code != 0
    assert "not switched on" in result.output


def test_the_test_command_reports_a_failure(make_app):
    from core.testing.smtp import free_port

    app = make_app(plugins=["notifications"], MAIL_SERVER="127.0.0.1", MAIL_PORT=free_port(),
                   NOTIFICATIONS_CHANNELS=["mail"], MAIL_TIMEOUT=2)
    result = app.test_cli_runner().invoke(
        args=["notify", "test", "--channel", "mail", "--to", "it@bailleur.example",
              "--timeout", "5"])
    assert result.exit_code != 0
    assert "relay unreachable" in result.output
