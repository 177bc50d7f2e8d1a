"""Calendar invitations by mail (iMIP, RFC 6047): received by a real SMTP server on loopback,
parsed back with icalendar as a calendar client would."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar
from sqlalchemy import select

from core.estate import Person
from core.extensions import db
from core.plugins import hookimpl
from plugins.notifications import notify
from plugins.notifications.channels.mail import invitation
from plugins.notifications.kinds import MessageKind
from plugins.notifications.models import Message, Status

from .conftest import run_worker

PARIS = ZoneInfo("Europe/Paris")
UTC = ZoneInfo("UTC")
UID = "appointment-5@palier.example"


class AppointmentKinds:
    name = "appointment_kinds"

    def __init__(self, folder):
        self.kind = MessageKind(
            name="test.appointment", label="Appointment", templates=str(folder),
            variables={"what": "what", "where": "where", "when": "when"}, channels=("mail",))

    @hookimpl
    def register_notification_kinds(self):
        return [self.kind]


@pytest.fixture
def invite_app(make_app, smtp_server, tmp_path):
    folder = tmp_path / "appointment"
    folder.mkdir()
    for locale in ("fr", "en"):
        (folder / f"long.{locale}.txt").write_text(
            "Subject: {{ what }}\n\n{{ what }}, {{ when }}, {{ where }}.\n", encoding="utf-8")
        (folder / f"short.{locale}.txt").write_text("Rendez-vous {{ link }}\n", encoding="utf-8")
    return make_app(plugins=["notifications", "appointment_kinds"],
                    extra_plugins={"appointment_kinds": AppointmentKinds(folder)},
                    MAIL_SERVER=smtp_server.host, MAIL_PORT=smtp_server.port,
                    NOTIFICATIONS_CHANNELS=["mail"])


def _send(app, person_id, revision, start, *, method="REQUEST", where="12 rue des Lilas",
          summary="what"):
    with app.app_context():
        context = {"what": "Visite du technicien (chaudière)", "where": where,
                   "when": f"{start:%d/%m %H:%M}",
                   "invitation": invitation(uid=UID, sequence=revision, method=method,
                                            start=start, end=start.replace(hour=start.hour + 1),
                                            summary=summary, location="where")}
        [message] = notify(db.session.get(Person, person_id), "test.appointment", context,
                           event=f"appointment:5:{revision}")
        db.session.commit()
        return message.id


def _calendar_parts(received):
    inline = [part for part in received.walk() if part.get_content_type() == "text/calendar"]
    attached = [part for part in received.iter_attachments()
                if part.get_filename() == "invitation.ics"]
    return inline, attached


def _event(calendar_bytes):
    calendar = Calendar.from_ical(calendar_bytes)
    [event] = calendar.walk("VEVENT")
    return calendar, event


def _person(app, make_tenant):
    from core.accounts import User

    tenant = make_tenant(first_name="Nadia", last_name="Benali", email="nadia@example.org")
    with app.app_context():
        return db.session.get(User, tenant.id).person_id


def test_an_invitation_then_its_change_then_its_cancellation(invite_app, make_tenant,
                                                             smtp_server):
    person_id = _person(invite_app, make_tenant)
    # 9:30 in Paris in winter is 8:30 UTC: given in UTC, written in the landlord's zone.
    _send(invite_app, person_id, 0, datetime(2026, 2, 12, 8, 30, tzinfo=UTC))
    assert run_worker(invite_app) == 1
    [first] = smtp_server.messages
    inline, attached = _calendar_parts(first)
    assert len(inline) == 1 and len(attached) == 1
    assert inline[0].get_param("method") == "REQUEST"
    assert first.get_body(preferencelist=("plain",)).get_content().startswith(
        "Visite du technicien (chaudière), 12/02 08:30, 12 rue des Lilas.")
    calendar, event = _event(inline[0].get_content().encode())
    assert attached[0].get_content() == inline[0].get_content().encode()
    assert str(calendar["METHOD"]) == "REQUEST"
    assert str(event["UID"]) == UID and event["SEQUENCE"] == 0
    assert str(event["SUMMARY"]) == "Visite du technicien (chaudière)"
    assert str(event["LOCATION"]) == "12 rue des Lilas"
    assert event["DTSTART"].params["TZID"] == "Europe/Paris"
    assert event.decoded("DTSTART") == datetime(2026, 2, 12, 9, 30, tzinfo=PARIS)
    assert event.decoded("DTEND") == datetime(2026, 2, 12, 10, 30, tzinfo=PARIS)
    assert [tz["TZID"] for tz in calendar.walk("VTIMEZONE")] == ["Europe/Paris"]
    assert str(event["ATTENDEE"]) == "mailto:nadia@example.org"
    assert str(event["STATUS"]) == "CONFIRMED"

    # Moved to the next day and to another place: same UID, next SEQUENCE, new time.
    _send(invite_app, person_id, 1, datetime(2026, 7, 13, 12, 0, tzinfo=PARIS),
          where="Loge du gardien")
    run_worker(invite_app)
    changed = smtp_server.messages[1]
    inline, _ = _calendar_parts(changed)
    assert inline[0].get_param("method") == "REQUEST"
    _, event = _event(inline[0].get_content().encode())
    assert str(event["UID"]) == UID and event["SEQUENCE"] == 1
    assert event.decoded("DTSTART") == datetime(2026, 7, 13, 12, 0, tzinfo=PARIS)
    assert event["DTSTART"].to_ical() == b"20260713T120000"  # summer time, still Paris
    assert str(event["LOCATION"]) == "Loge du gardien"
    assert changed["Message-ID"] != smtp_server.messages[0]["Message-ID"]

    _send(invite_app, person_id, 2, datetime(2026, 7, 13, 12, 0, tzinfo=PARIS),
          method="CANCEL")
    run_worker(invite_app)
    inline, _ = _calendar_parts(smtp_server.messages[2])
    assert inline[0].get_param("method") == "CANCEL"
    calendar, event = _event(inline[0].get_content().encode())
    assert str(calendar["METHOD"]) == "CANCEL"
    assert str(event["UID"]) == UID and event["SEQUENCE"] == 2
    assert str(event["STATUS"]) == "CANCELLED"


def test_an_invitation_naming_no_variable_of_its_kind_is_a_dead_letter(invite_app, make_tenant,
                                                                       smtp_server):
    person_id = _person(invite_app, make_tenant)
    message_id = _send(invite_app, person_id, 0, datetime(2026, 2, 12, 8, 30, tzinfo=UTC),
                       summary="secret_note")
    run_worker(invite_app)
    assert smtp_server.messages == []
    with invite_app.app_context():
        message = db.session.get(Message, message_id)
        assert message.status is Status.FAILED and message.attempts == 1
        assert "'secret_note' is not a variable of test.appointment" in message.last_error
        assert db.session.scalar(select(Message.id).where(Message.id != message_id)) is None


@pytest.mark.parametrize("change", [
    {"start": datetime(2026, 2, 12, 9, 30)},  # no time zone: ambiguous
    {"method": "PUBLISH"},
    {"sequence": -1},
    {"uid": ""},
    {"end": datetime(2026, 2, 12, 7, 0, tzinfo=UTC)},  # ends before it starts
])
def test_invitation_refuses_what_no_calendar_could_read(change):
    arguments = {"uid": UID, "start": datetime(2026, 2, 12, 8, 30, tzinfo=UTC),
                 "end": datetime(2026, 2, 12, 9, 30, tzinfo=UTC), "summary": "what",
                 **change}
    with pytest.raises(ValueError):
        invitation(**arguments)
