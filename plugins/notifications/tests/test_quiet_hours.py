"""Quiet hours: no SMS between 21:00 and 08:00 (Europe/Paris) unless the message is urgent,
checked with the worker on a fixed clock and Brevo's API on loopback."""
from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from core.accounts import User
from core.estate import Person
from core.extensions import db
from plugins.notifications import notify
from plugins.notifications.models import Message, Status
from plugins.notifications.outbox import quiet_until
from plugins.notifications.testing import FakeBrevo, sms_settings

from .conftest import run_worker

PARIS = ZoneInfo("Europe/Paris")
UTC = ZoneInfo("UTC")


def utc(local: str) -> datetime:
    """A Paris wall-clock time ("2031-01-15 21:30") as the naive UTC the database keeps."""
    when = datetime.strptime(local, "%Y-%m-%d %H:%M").replace(tzinfo=PARIS)
    return when.astimezone(UTC).replace(tzinfo=None)


def paris(naive_utc: datetime) -> str:
    return naive_utc.replace(tzinfo=UTC).astimezone(PARIS).strftime("%Y-%m-%d %H:%M")


@pytest.fixture
def brevo():
    with FakeBrevo() as fake:
        yield fake


@pytest.fixture
def night_app(make_app, smtp_server, brevo):
    return make_app(plugins=["notifications"], MAIL_SERVER=smtp_server.host,
                    MAIL_PORT=smtp_server.port,
                    **sms_settings(brevo, NOTIFICATIONS_QUIET_HOURS=["21:00", "08:00"]))


@pytest.mark.parametrize("now, resume", [
    ("2031-01-15 20:59", None),
    ("2031-01-15 21:00", "2031-01-16 08:00"),
    ("2031-01-15 23:45", "2031-01-16 08:00"),
    ("2031-01-16 00:30", "2031-01-16 08:00"),
    ("2031-01-16 07:59", "2031-01-16 08:00"),
    ("2031-01-16 08:00", None),
    ("2031-07-15 21:10", "2031-07-16 08:00"),    # summer time: UTC+2
    ("2031-03-29 22:00", "2031-03-30 08:00"),    # the night the clocks go forward
    ("2031-10-25 22:00", "2031-10-26 08:00"),    # and back
])
def test_quiet_until_follows_paris_wall_clock(night_app, now, resume):
    with night_app.app_context():
        found = quiet_until(utc(now))
    assert (paris(found) if found else None) == resume


def _person(app, make_tenant) -> int:
    user = make_tenant()
    with app.app_context():
        person = db.session.get(Person, db.session.get(User, user.id).person_id)
        person.phone = "07 81 23 45 67"
        db.session.commit()
        return person.id


def _queue(app, person_id, event, not_before=None, urgent=None) -> int:
    with app.app_context():
        [message] = notify(db.session.get(Person, person_id), "notifications.notice",
                           {"title": "t", "body": "b", "residence": "r"}, event=event,
                           channel="sms", not_before=not_before, urgent=urgent)
        db.session.commit()
        return message.id


def test_a_message_due_at_night_waits_for_eight_unless_urgent(night_app, make_tenant, brevo):
    person_id = _person(night_app, make_tenant)
    waiting = _queue(night_app, person_id, "notice:night")
    urgent = _queue(night_app, person_id, "notice:urgent", urgent=True)
    run_worker(night_app, clock=lambda: utc("2031-01-15 22:30"))
    assert [sms["recipient"] for sms in brevo.sms] == ["33781234567"]  # the urgent one only
    with night_app.app_context():
        assert db.session.get(Message, urgent).status is Status.SENT
        message = db.session.get(Message, waiting)
        assert message.status is Status.QUEUED and message.attempts == 0
        assert paris(message.not_before) == "2031-01-16 08:00"
    run_worker(night_app, clock=lambda: utc("2031-01-16 07:59"))
    assert len(brevo.sms) == 1
    run_worker(night_app, clock=lambda: utc("2031-01-16 08:00"))
    assert len(brevo.sms) == 2
    with night_app.app_context():
        assert paris(db.session.get(Message, waiting).sent_at) == "2031-01-16 08:00"


def test_no_sms_leaves_at_night_through_a_whole_evening(night_app, make_tenant, brevo):
    """Scheduled SMS and a retry that fell due at night, the worker run every ten minutes
    from 18:00 to 10:00: each leaves at its time, or at 08:00 if that time is at night."""
    person_id = _person(night_app, make_tenant)
    planned = {
        _queue(night_app, person_id, "a", utc("2031-01-15 19:00")): "2031-01-15 19:00",
        _queue(night_app, person_id, "b", utc("2031-01-15 20:50")): "2031-01-15 20:50",
        _queue(night_app, person_id, "c", utc("2031-01-15 23:00")): "2031-01-16 08:00",
        _queue(night_app, person_id, "d", utc("2031-01-16 07:30")): "2031-01-16 08:00",
        _queue(night_app, person_id, "e", utc("2031-01-16 09:10")): "2031-01-16 09:10",
        _queue(night_app, person_id, "urgent", utc("2031-01-15 23:00"), urgent=True):
            "2031-01-15 23:00",
    }
    retry = _queue(night_app, person_id, "retry")
    with night_app.app_context():  # a retry whose backoff ended in the night
        db.session.get(Message, retry).not_before = utc("2031-01-15 22:00")
        db.session.commit()
    planned[retry] = "2031-01-16 08:00"
    clock = utc("2031-01-15 18:00")
    while clock <= utc("2031-01-16 10:00"):
        run_worker(night_app, clock=lambda now=clock: now)
        clock += timedelta(minutes=10)
    with night_app.app_context():
        sent = {m.id: paris(m.sent_at) for m in db.session.scalars(select(Message))}
    assert sent == planned
    assert len(brevo.sms) == len(planned)
    night = [when for message_id, when in sent.items()
             if "21:00" <= when[-5:] or when[-5:] < "08:00"]
    assert night == ["2031-01-15 23:00"]  # the urgent one
