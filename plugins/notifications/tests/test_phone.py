"""The phone channel: messages land on the agents' call list; an agent records what each call
gave; no answer comes back later, the last one and a wrong number fall back to another channel;
two agents never record the same call twice."""
from __future__ import annotations

import re
import threading
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from core.accounts import utcnow
from core.audit import AuditEvent
from core.config import ConfigError
from core.estate import Person
from core.extensions import db
from plugins.notifications import notify
from plugins.notifications.channels.phone import (
    CallAlreadyRecorded,
    calls_to_make,
    record_outcome,
)
from plugins.notifications.models import Message, MessageEvent, Status

from .conftest import run_worker

NOTICE = {"title": "Coupure d'eau jeudi", "body": "L'eau sera coupée de 9 h à 12 h.",
          "residence": "Les Tilleuls", "link": "https://palier.example/portal/notices/7"}


@pytest.fixture
def phone_app(make_app, smtp_server):
    return make_app(plugins=["notifications"], MAIL_SERVER=smtp_server.host,
                    MAIL_PORT=smtp_server.port, NOTIFICATIONS_CHANNELS=["mail", "phone"],
                    NOTIFICATIONS_FALLBACKS={"phone": ["mail"]}, NOTIFICATIONS_MAX_ATTEMPTS=2,
                    NOTIFICATIONS_CALL_RETRY_SECONDS=3600,
                    # Never quiet, whatever the hour the suite runs at (quiet hours: own test).
                    NOTIFICATIONS_QUIET_HOURS=["00:00", "00:00"])


def tenant_with_phone(app, make_tenant, phone="06 12 34 56 78", **kwargs):
    tenant = make_tenant(**kwargs)
    with app.app_context():
        from core.accounts import User

        person = db.session.get(Person, db.session.get(User, tenant.id).person_id)
        person.phone = phone
        db.session.commit()
        return tenant, person.id


def queue_call(app, person_id, event="notice:7", urgent=None):
    with app.app_context():
        [message] = notify(db.session.get(Person, person_id), "notifications.notice", NOTICE,
                           event=event, channel="phone", urgent=urgent)
        db.session.commit()
        return message.id


def agent_client(app, make_user, login, name="Sophie Lambert"):
    agent = make_user("agent", display_name=name, locale="en")
    client = app.test_client()
    login(client, agent)
    return client


def post_outcome(client, message_id, outcome, attempt=None):
    page = client.get("/backoffice/notifications/calls").get_data(as_text=True)
    token = re.search(rf'id="call{message_id}-csrf_token"[^>]*value="([^"]+)"', page)
    if token is None:
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    if attempt is None:
        attempt = int(re.search(rf'name="call{message_id}-attempt"[^>]*value="(\d+)"',
                                page).group(1))
    return client.post(f"/backoffice/notifications/calls/{message_id}/outcome", data={
        f"call{message_id}-csrf_token": token.group(1),
        f"call{message_id}-outcome": outcome, f"call{message_id}-attempt": attempt},
        follow_redirects=True)


def test_a_call_waits_on_the_list_with_who_why_and_what_to_say(phone_app, make_tenant,
                                                                make_user, login):
    _, person_id = tenant_with_phone(phone_app, make_tenant, first_name="Nadia",
                                     last_name="Benali", locale="en")
    message_id = queue_call(phone_app, person_id)
    assert run_worker(phone_app) == 1
    with phone_app.app_context():
        message = db.session.get(Message, message_id)
        assert message.status is Status.SENT  # stays sent until an agent calls
        assert [(e.status, e.detail) for e in message.events] == [
            ("queued", ""), ("sent", "on the call list")]
    page = agent_client(phone_app, make_user, login).get(
        "/backoffice/notifications/calls").get_data(as_text=True)
    assert "Mme Nadia Benali" in page
    assert 'href="tel:0612345678"' in page and "06 12 34 56 78" in page
    assert "Notices about your building" in page  # why: the kind of message
    # The script is the short text, in the tenant's language: a notice and a link, no details.
    assert "a notice concerns your building. Details: https://palier.example/portal/notices/7" \
        in page
    assert "9 h à 12 h" not in page
    assert "none: this is the first call" in page


@pytest.mark.parametrize("outcome, detail", [
    ("reached", "reached by Sophie Lambert"),
    ("message_left", "message left on the answering machine by Sophie Lambert"),
])
def test_a_call_that_got_through_makes_the_message_delivered(phone_app, make_tenant, make_user,
                                                             login, outcome, detail):
    _, person_id = tenant_with_phone(phone_app, make_tenant, first_name="Nadia",
                                     last_name="Benali")
    message_id = queue_call(phone_app, person_id)
    run_worker(phone_app)
    client = agent_client(phone_app, make_user, login)
    response = post_outcome(client, message_id, outcome)
    page = response.get_data(as_text=True)
    assert "Recorded: Mme Nadia Benali got the message." in page
    assert "No call to make for now." in page  # off the list
    with phone_app.app_context():
        message = db.session.get(Message, message_id)
        assert message.status is Status.DELIVERED
        assert message.events[-1].status == "delivered" and message.events[-1].detail == detail
        audit = db.session.scalar(select(AuditEvent).where(
            AuditEvent.action == "notifications.call"))
        assert audit.person_id == person_id and audit.detail["outcome"] == outcome
        assert audit.actor_label.startswith("agent")


def test_no_answer_comes_back_later_then_falls_back_after_the_last_call(
        phone_app, make_tenant, make_user, login, smtp_server):
    _, person_id = tenant_with_phone(phone_app, make_tenant, first_name="Lucien",
                                     last_name="Ferrand")
    message_id = queue_call(phone_app, person_id)
    run_worker(phone_app)
    client = agent_client(phone_app, make_user, login)
    before = utcnow()
    page = post_outcome(client, message_id, "no_answer").get_data(as_text=True)
    assert "Recorded: no answer from Mme Lucien Ferrand. The call comes back on the list" in page
    assert "Back on the list later" in page
    with phone_app.app_context():
        message = db.session.get(Message, message_id)
        assert message.status is Status.QUEUED
        assert 3590 <= (message.not_before - before).total_seconds() <= 3610
        assert message.events[-1].detail == "no answer (call 1), recorded by Sophie Lambert"
        assert calls_to_make() == []
        message.not_before = utcnow() - timedelta(seconds=1)  # an hour later
        db.session.commit()
    run_worker(phone_app)
    page = client.get("/backoffice/notifications/calls").get_data(as_text=True)
    assert "Mme Lucien Ferrand" in page and "1 without answer" in page
    page = post_outcome(client, message_id, "no_answer").get_data(as_text=True)
    # NOTIFICATIONS_MAX_ATTEMPTS=2: that was the last call; the fallback (mail) is queued.
    assert "could not be reached by phone. The message goes by e-mail instead." in page
    with phone_app.app_context():
        message = db.session.get(Message, message_id)
        assert message.status is Status.FAILED and message.attempts == 2
        assert "no answer after 2 calls" in message.last_error
        fallback = db.session.scalar(select(Message).where(Message.fallback_of_id == message_id))
        assert fallback.channel == "mail"
    run_worker(phone_app)
    assert [m["Subject"] for m in smtp_server.messages] == ["Coupure d'eau jeudi"]


def test_a_wrong_number_fails_at_once_and_falls_back(phone_app, make_tenant, make_user, login):
    _, person_id = tenant_with_phone(phone_app, make_tenant)
    message_id = queue_call(phone_app, person_id)
    run_worker(phone_app)
    page = post_outcome(agent_client(phone_app, make_user, login), message_id,
                        "wrong_number").get_data(as_text=True)
    assert "The message goes by e-mail instead." in page
    with phone_app.app_context():
        message = db.session.get(Message, message_id)
        assert message.status is Status.FAILED and message.attempts == 1
        assert message.last_error == "wrong number, reported by Sophie Lambert"
        assert db.session.scalar(select(func.count(Message.id)).where(
            Message.fallback_of_id == message_id)) == 1


def test_a_call_recorded_twice_keeps_the_first_outcome(phone_app, make_tenant, make_user,
                                                       login):
    _, person_id = tenant_with_phone(phone_app, make_tenant, first_name="Nadia",
                                     last_name="Benali")
    message_id = queue_call(phone_app, person_id)
    run_worker(phone_app)
    first = agent_client(phone_app, make_user, login)
    second = agent_client(phone_app, make_user, login, name="Marc Ortiz")
    # Both agents have the list open at the same time (attempt 1 on both pages).
    post_outcome(first, message_id, "reached", attempt=1)
    page = post_outcome(second, message_id, "wrong_number", attempt=1).get_data(as_text=True)
    assert ("Someone recorded this call to Mme Nadia Benali before you: it is now "
            "“delivered”. Nothing was changed.") in page
    with phone_app.app_context():
        message = db.session.get(Message, message_id)
        assert message.status is Status.DELIVERED
        assert [e.status for e in message.events] == ["queued", "sent", "delivered"]


def test_two_agents_recording_at_the_same_moment_record_one_outcome(phone_app, make_tenant):
    """The first holds the row lock while it writes; the second waits for it, then finds the
    call already recorded. Without the lock, both would read "sent" and both would write."""
    _, person_id = tenant_with_phone(phone_app, make_tenant)
    message_id = queue_call(phone_app, person_id)
    run_worker(phone_app)
    locked, results = threading.Event(), {}

    def first():
        with phone_app.app_context():
            record_outcome(message_id, "reached", 1, "Sophie Lambert")
            locked.set()
            threading.Event().wait(0.5)  # the second agent's click arrives meanwhile
            db.session.commit()
            results["first"] = "recorded"

    def second():
        locked.wait(10)
        with phone_app.app_context():
            try:
                record_outcome(message_id, "no_answer", 1, "Marc Ortiz")
                db.session.commit()
                results["second"] = "recorded"
            except CallAlreadyRecorded as already:
                results["second"] = already.message.status.value
                db.session.rollback()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert results == {"first": "recorded", "second": "delivered"}
    with phone_app.app_context():
        outcomes = db.session.scalars(select(MessageEvent.detail).where(
            MessageEvent.message_id == message_id, MessageEvent.status.in_(
                ["delivered", "retry", "failed"]))).all()
        assert outcomes == ["reached by Sophie Lambert"]
        assert db.session.scalar(select(func.count(AuditEvent.seq)).where(
            AuditEvent.action == "notifications.call")) == 1


def test_an_outcome_must_be_chosen(phone_app, make_tenant, make_user, login):
    _, person_id = tenant_with_phone(phone_app, make_tenant, first_name="Nadia",
                                     last_name="Benali")
    message_id = queue_call(phone_app, person_id)
    run_worker(phone_app)
    page = post_outcome(agent_client(phone_app, make_user, login), message_id,
                        "").get_data(as_text=True)
    assert "Choose what happened before recording the call to Mme Nadia Benali." in page
    with phone_app.app_context():
        assert db.session.get(Message, message_id).status is Status.SENT


def test_the_call_list_is_for_office_staff_only(phone_app, make_tenant, make_user, login):
    for role, expected in (("tenant", 403), ("caretaker", 403), ("agent", 200),
                           ("manager", 200), ("admin", 200)):
        client = phone_app.test_client()
        login(client, make_user(role))
        assert client.get("/backoffice/notifications/calls").status_code == expected, role


def test_calls_wait_for_the_end_of_the_quiet_hours_unless_urgent(make_app, make_tenant):
    zone = ZoneInfo("Europe/Paris")
    now = datetime.now(zone)
    # Quiet hours around now, whatever the hour the suite runs at.
    start, end = (now - timedelta(hours=1)).strftime("%H:%M"), \
        (now + timedelta(hours=1)).strftime("%H:%M")
    app = make_app(plugins=["notifications"], NOTIFICATIONS_CHANNELS=["mail", "phone"],
                   NOTIFICATIONS_QUIET_HOURS=[start, end])
    _, person_id = tenant_with_phone(app, make_tenant)
    quiet = queue_call(app, person_id, event="notice:quiet")
    urgent = queue_call(app, person_id, event="notice:urgent", urgent=True)
    run_worker(app)
    with app.app_context():
        assert [m.id for m in calls_to_make()] == [urgent]
        waiting = db.session.get(Message, quiet)
        assert waiting.status is Status.QUEUED
        assert waiting.not_before > utcnow() + timedelta(minutes=55)


def test_a_bad_retry_delay_stops_the_start(make_app):
    with pytest.raises(ConfigError, match="NOTIFICATIONS_CALL_RETRY_SECONDS"):
        make_app(plugins=["notifications"], NOTIFICATIONS_CHANNELS=["mail", "phone"],
                 NOTIFICATIONS_CALL_RETRY_SECONDS="two hours")
