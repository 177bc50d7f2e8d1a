"""The outbox: messages written with their event, delivered once by the worker, retried,
given up as dead letters with a fallback."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from core.extensions import db
from core.plugins import hookimpl
from plugins.notifications import notify
from plugins.notifications.channels import Accepted, Channel, PermanentFailure, TemporaryFailure
from plugins.notifications.models import Message, Status

from .conftest import run_worker


def _person(app, make_tenant, **kwargs):
    tenant = make_tenant(**kwargs)
    with app.app_context():
        from core.accounts import User

        return db.session.get(User, tenant.id).person_id


def test_a_queued_mail_reaches_the_relay_once_with_its_key(notif_app, make_tenant, smtp_server):
    person_id = _person(notif_app, make_tenant, first_name="Nadia", last_name="Benali")
    with notif_app.app_context():
        from core.estate import Person

        person = db.session.get(Person, person_id)
        first = notify(person, "notifications.notice",
                       {"title": "Coupure d'eau jeudi", "body": "L'eau sera coupée de 9 h à 12 h.",
                        "residence": "Les Tilleuls"}, event="notice:1")
        again = notify(person, "notifications.notice", {"title": "x", "body": "y",
                                                        "residence": "z"}, event="notice:1")
        db.session.commit()
        assert len(first) == 1 and again == []  # one message per (event, recipient, channel)
        key = first[0].idempotency_key
    assert run_worker(notif_app) == 1
    assert len(smtp_server.messages) == 1
    received = smtp_server.messages[0]
    assert received["Subject"] == "Coupure d'eau jeudi"
    assert received["Message-ID"] == f"<{key}@localhost>"
    text = received.get_body(preferencelist=("plain",)).get_content()
    assert "L'eau sera coupée de 9 h à 12 h." in text
    html = received.get_body(preferencelist=("html",)).get_content()
    assert "L&#39;eau sera coupée" in html or "L'eau sera coupée" in html
    with notif_app.app_context():
        message = db.session.scalar(select(Message))
        assert message.status is Status.SENT
        assert [e.status for e in message.events] == ["queued", "sent"]
        assert message.sent_subject == "Coupure d'eau jeudi"
    assert run_worker(notif_app) == 0  # nothing left: never sent twice


def test_a_rolled_back_event_leaves_no_message(notif_app, make_tenant):
    person_id = _person(notif_app, make_tenant)
    with notif_app.app_context():
        from core.estate import Person

        notify(db.session.get(Person, person_id), "notifications.notice",
               {"title": "t", "body": "b", "residence": "r"}, event="notice:2")
        db.session.rollback()
        assert db.session.scalar(select(func.count(Message.id))) == 0


class Flaky(Channel):
    """A channel that answers from a script: 'ok', 'temp', 'temp:<retry-after>', 'perm'."""

    name = "flaky"
    label = "flaky"
    address_kind = "email"
    script: list[str] = []
    calls: list[str] = []

    def deliver(self, outgoing):
        answer = self.script.pop(0) if self.script else "ok"
        Flaky.calls.append(answer)
        if answer.startswith("temp"):
            _, _, after = answer.partition(":")
            raise TemporaryFailure("503 service unavailable", float(after) if after else None)
        if answer == "perm":
            raise PermanentFailure("400 invalid number")
        return Accepted(provider_ref=f"ref-{outgoing.id}")


class FlakyPlugin:
    name = "flaky"

    @hookimpl
    def register_notification_channels(self):
        return [Flaky]


@pytest.fixture
def flaky_app(make_app, smtp_server):
    Flaky.script, Flaky.calls = [], []
    return make_app(plugins=["notifications", "flaky"], extra_plugins={"flaky": FlakyPlugin()},
                    MAIL_SERVER=smtp_server.host, MAIL_PORT=smtp_server.port,
                    NOTIFICATIONS_CHANNELS=["flaky", "mail"],
                    NOTIFICATIONS_FALLBACKS={"flaky": ["mail"]},
                    NOTIFICATIONS_MAX_ATTEMPTS=3, NOTIFICATIONS_BACKOFF_SECONDS=60)


def _queue_flaky(app, person_id):
    from core.estate import Person

    with app.app_context():
        [message] = notify(db.session.get(Person, person_id), "notifications.test",
                           {"sent_by": "test"}, event="test:flaky", channel="flaky")
        db.session.commit()
        return message.id


def _move_clock(app, message_id):
    """Make a waiting retry due now (the backoff is tested on its own)."""
    with app.app_context():
        message = db.session.get(Message, message_id)
        waited = message.not_before
        message.not_before = message.not_before.replace(year=2000)
        db.session.commit()
        return waited


def test_temporary_failures_are_retried_with_backoff_then_sent(flaky_app, make_tenant):
    from core.accounts import utcnow

    message_id = _queue_flaky(flaky_app, _person(flaky_app, make_tenant))
    Flaky.script = ["temp", "temp:120", "ok"]
    before = utcnow()
    run_worker(flaky_app)
    waited = _move_clock(flaky_app, message_id)
    assert 30 <= (waited - before).total_seconds() <= 62  # 60 s base, jitter within [½, 1]
    before = utcnow()
    run_worker(flaky_app)
    waited = _move_clock(flaky_app, message_id)
    assert 120 <= (waited - before).total_seconds() <= 135  # Retry-After honoured
    run_worker(flaky_app)
    assert Flaky.calls == ["temp", "temp:120", "ok"]
    with flaky_app.app_context():
        message = db.session.get(Message, message_id)
        assert message.status is Status.SENT and message.attempts == 3
        assert [e.status for e in message.events] == ["queued", "retry", "retry", "sent"]


def test_a_permanent_failure_is_not_retried_and_queues_the_fallback(flaky_app, make_tenant,
                                                                    smtp_server):
    message_id = _queue_flaky(flaky_app, _person(flaky_app, make_tenant, first_name="Lucien"))
    Flaky.script = ["perm"]
    run_worker(flaky_app)
    assert Flaky.calls == ["perm"]
    with flaky_app.app_context():
        failed = db.session.get(Message, message_id)
        assert failed.status is Status.FAILED and failed.attempts == 1
        assert "400 invalid number" in failed.last_error
        fallback = db.session.scalar(select(Message).where(Message.fallback_of_id == message_id))
        assert fallback.channel == "mail" and fallback.status is Status.SENT
    assert len(smtp_server.messages) == 1  # the fallback, delivered in the same run


def test_the_last_attempt_makes_a_dead_letter(flaky_app, make_tenant):
    message_id = _queue_flaky(flaky_app, _person(flaky_app, make_tenant))
    Flaky.script = ["temp", "temp", "temp"]
    for _ in range(3):
        run_worker(flaky_app)
        _move_clock(flaky_app, message_id)
    with flaky_app.app_context():
        message = db.session.get(Message, message_id)
        assert message.status is Status.FAILED and message.attempts == 3
        assert "the last" in message.last_error
    assert Flaky.calls == ["temp", "temp", "temp"]


def test_a_scheduled_reminder_waits_for_its_time(notif_app, make_tenant, smtp_server):
    from datetime import timedelta

    from core.accounts import utcnow
    from core.estate import Person
    from plugins.notifications.worker import Worker

    person_id = _person(notif_app, make_tenant)
    due = utcnow() + timedelta(days=1)
    with notif_app.app_context():
        [message] = notify(db.session.get(Person, person_id), "notifications.notice",
                           {"title": "Rappel : rendez-vous demain", "body": "b",
                            "residence": "r"}, event="reminder:1", not_before=due)
        db.session.commit()
        message_id = message.id
    assert run_worker(notif_app) == 0 and smtp_server.messages == []
    tomorrow = Worker(notif_app, name="later", poll_seconds=0,
                      clock=lambda: due + timedelta(seconds=1))
    assert tomorrow.run(until_idle=True) == 1
    assert smtp_server.messages[0]["Subject"] == "Rappel : rendez-vous demain"
    with notif_app.app_context():
        assert db.session.get(Message, message_id).status is Status.SENT


def test_staff_see_a_dead_letter_and_send_it_again(flaky_app, make_tenant, make_user, login):
    from core.testing.fixtures import csrf_token

    message_id = _queue_flaky(flaky_app, _person(flaky_app, make_tenant))
    Flaky.script = ["perm", "ok"]
    run_worker(flaky_app)
    agent = flaky_app.test_client()
    login(agent, make_user("agent"))
    listing = agent.get("/backoffice/notifications?status=failed").get_data(as_text=True)
    assert f"/backoffice/notifications/{message_id}" in listing
    url = f"/backoffice/notifications/{message_id}"
    page = agent.get(url).get_data(as_text=True)
    assert "400 invalid number" in page and f"{url}/retry" in page
    response = agent.post(f"{url}/retry", data={"csrf_token": csrf_token(agent, url)})
    assert response.status_code == 302
    run_worker(flaky_app)
    with flaky_app.app_context():
        message = db.session.get(Message, message_id)
        assert message.status is Status.SENT
        assert [e.status for e in message.events][-3:] == ["failed", "queued", "sent"]
    assert agent.post(f"{url}/retry", data={"csrf_token": csrf_token(agent, url)},
                      follow_redirects=True).status_code == 200  # nothing to retry: said so
    tenant_client = flaky_app.test_client()
    login(tenant_client, make_user("tenant"))
    assert tenant_client.get(url).status_code == 403
