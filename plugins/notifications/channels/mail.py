"""The mail channel: plain text and HTML, attachments, calendar invitations, through the
core's mail set-up (Flask-Mailman: the landlord's SMTP relay, or the local mailbox when there
is none).

The Message-ID is made from the message's idempotency key, so a message sent again after a
crash carries the same Message-ID and the receiving side can drop the copy. One connection to
the relay is kept open between deliveries and closed when the worker is idle.

Invitations (iMIP, RFC 6047): a message whose context holds ``invitation`` (made by
:func:`invitation`: plain JSON, as everything in the outbox) gets an iCalendar part —
``text/calendar; method=REQUEST`` (or ``CANCEL``) as the last alternative of the body, which
calendar clients act on, and the same file attached as ``invitation.ics`` for the others.
"""
from __future__ import annotations

import smtplib
from datetime import datetime, timedelta
from email.utils import parseaddr
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from flask_mailman import EmailMultiAlternatives
from icalendar import Calendar, Event, vCalAddress

from core.accounts import utcnow
from core.mail import mail
from plugins.notifications.channels.base import (
    Accepted,
    Channel,
    Outgoing,
    PermanentFailure,
    TemporaryFailure,
)
from plugins.notifications.kinds import kind_of

INVITATION_METHODS = ("REQUEST", "CANCEL")


def invitation(*, uid: str, start: datetime, end: datetime, summary: str,
               location: str | None = None, sequence: int = 0, method: str = "REQUEST") -> dict:
    """The description of a calendar invitation, to put in a message's context as
    ``context["invitation"]``; the mail channel turns it into the iCalendar part.

    ``uid`` names the appointment for good (``appointment-42@palier.example``): every update
    and the cancellation carry the same one. ``sequence`` is the appointment's revision, 0
    first, one more at each change of time or place, so that calendars replace the old entry.
    ``start`` and ``end`` are aware datetimes (the channel writes them in the landlord's time
    zone, ``NOTIFICATIONS_TIMEZONE``). ``summary`` and ``location`` are *names of variables*
    of the message's kind: their values come from the same context as the mail's text, so the
    calendar entry always says what the mail says. ``method``: ``REQUEST`` (new or changed)
    or ``CANCEL``.
    """
    if not uid or len(uid) > 255:
        raise ValueError("invitation(): uid must be 1 to 255 characters.")
    if method not in INVITATION_METHODS:
        raise ValueError(f"invitation(): method must be one of {INVITATION_METHODS}.")
    if isinstance(sequence, bool) or not isinstance(sequence, int) or sequence < 0:
        raise ValueError("invitation(): sequence is a whole number, 0 or more.")
    for moment in (start, end):
        if not isinstance(moment, datetime) or moment.utcoffset() is None:
            raise ValueError("invitation(): start and end are datetimes with a time zone.")
    if end <= start:
        raise ValueError("invitation(): the appointment ends after it starts.")
    return {"uid": uid, "sequence": sequence, "method": method, "start": start.isoformat(),
            "end": end.isoformat(), "summary": summary, "location": location}


class InvitationProblem(PermanentFailure):
    """An invitation that cannot be written (a programming error of the caller): sending the
    message again would not help."""


def calendar_file(outgoing: Outgoing, description: dict) -> tuple[bytes, str]:
    """The iCalendar file of an invitation and its method (``REQUEST`` or ``CANCEL``)."""
    try:
        method = description["method"]
        if method not in INVITATION_METHODS:
            raise ValueError(f"unknown method {method!r}")
        zone = ZoneInfo(current_app.config["NOTIFICATIONS_TIMEZONE"])
        start = datetime.fromisoformat(description["start"]).astimezone(zone)
        end = datetime.fromisoformat(description["end"]).astimezone(zone)
        variables = kind_of(outgoing.kind).variables

        def value_of(name):
            if name is None:
                return None
            if name not in variables:
                raise ValueError(f"{name!r} is not a variable of {outgoing.kind}")
            return str(outgoing.context[name])

        summary, location = value_of(description["summary"]), value_of(description["location"])
        uid, sequence = str(description["uid"]), int(description["sequence"])
    except (KeyError, TypeError, ValueError) as problem:
        raise InvitationProblem(f"invitation cannot be written: {problem}") from None
    sender_name, sender = parseaddr(current_app.config["MAIL_DEFAULT_SENDER"])
    calendar = Calendar()
    calendar.add("prodid", "-//Palier//notifications//FR")
    calendar.add("version", "2.0")
    calendar.add("method", method)
    entry = Event()
    entry.add("uid", uid)
    entry.add("sequence", sequence)
    entry.add("dtstamp", utcnow().replace(tzinfo=ZoneInfo("UTC")))
    entry.add("dtstart", start)
    entry.add("dtend", end)
    entry.add("summary", summary)
    if location:
        entry.add("location", location)
    entry.add("status", "CANCELLED" if method == "CANCEL" else "CONFIRMED")
    organizer = vCalAddress(f"mailto:{sender}")
    organizer.params["cn"] = sender_name or current_app.config["LANDLORD_NAME"]
    entry.add("organizer", organizer)
    attendee = vCalAddress(f"mailto:{outgoing.address}")
    attendee.params.update({"cn": outgoing.recipient_name or outgoing.address,
                            "role": "REQ-PARTICIPANT", "partstat": "NEEDS-ACTION",
                            "rsvp": "FALSE"})
    entry.add("attendee", attendee)
    calendar.add_component(entry)
    # The zone's rules around the appointment only, not its whole history since 1970.
    first = start.date() - timedelta(days=366)
    calendar.add_missing_timezones(first_date=first, last_date=max(end.date(), first)
                                   + timedelta(days=366))
    return calendar.to_ical(), method


class _MailWithCalendar(EmailMultiAlternatives):
    """An e-mail whose ``text/calendar`` alternative carries the iMIP ``method`` parameter
    (RFC 6047 §2.4: without it, calendar clients treat the part as a plain file)."""

    calendar_method: str | None = None

    def _create_mime_attachment(self, content, mimetype):
        part = super()._create_mime_attachment(content, mimetype)
        if mimetype == "text/calendar" and self.calendar_method:
            part.set_param("method", self.calendar_method)
        return part


def message_id(outgoing: Outgoing) -> str:
    host = urlsplit(current_app.config["PUBLIC_URL"]).hostname or "localhost"
    return f"<{outgoing.idempotency_key}@{host}>"


class MailChannel(Channel):
    """E-mail, through the relay configured with ``MAIL_SERVER`` (core settings)."""

    name = "mail"
    label = _l("e-mail")
    address_kind = "email"

    def __init__(self, config):
        super().__init__(config)
        self._connection = None

    def build(self, outgoing: Outgoing) -> EmailMultiAlternatives:
        """The e-mail of a message: text, HTML from the theme, the invitation, attachments."""
        with force_locale(outgoing.locale):
            html = render_template("notifications/mail/message.html", outgoing=outgoing,
                                   paragraphs=[p for p in outgoing.text.split("\n\n") if p.strip()])
        message = _MailWithCalendar(
            subject=outgoing.subject, body=outgoing.text, to=[outgoing.address],
            headers={"Message-ID": message_id(outgoing), "Auto-Submitted": "auto-generated"})
        message.attach_alternative(html, "text/html")
        if outgoing.context.get("invitation"):
            ics, method = calendar_file(outgoing, outgoing.context["invitation"])
            message.calendar_method = method
            message.attach_alternative(ics.decode("utf-8"), "text/calendar")
            message.attach("invitation.ics", ics, "application/ics")
        for attachment in outgoing.attachments:
            message.attach(attachment.filename, attachment.content, attachment.media_type)
        return message

    def deliver(self, outgoing: Outgoing) -> Accepted:
        email = self.build(outgoing)  # may raise InvitationProblem: a permanent failure
        try:
            if self._connection is None:
                self._connection = mail.get_connection()
                self._connection.open()
            email.connection = self._connection
            email.send()
        except smtplib.SMTPRecipientsRefused as refused:
            codes = [code for code, _ in refused.recipients.values()]
            self.close()
            if all(500 <= code < 600 for code in codes):
                raise PermanentFailure(f"address refused by the relay: {codes}") from None
            raise TemporaryFailure(f"address deferred by the relay: {codes}") from None
        except smtplib.SMTPResponseException as error:
            self.close()
            if 500 <= error.smtp_code < 600:
                raise PermanentFailure(f"relay refused the message: {error.smtp_code} "
                                       f"{error.smtp_error!r}") from None
            raise TemporaryFailure(f"relay deferred: {error.smtp_code}") from None
        except (smtplib.SMTPException, OSError) as error:
            self.close()
            raise TemporaryFailure(f"relay unreachable: {error}") from None
        return Accepted(provider_ref=message_id(outgoing), detail="accepted by the mail relay")

    def close(self) -> None:
        if self._connection is not None:
            try:
                self._connection.close()
            except (smtplib.SMTPException, OSError):
                pass
            self._connection = None
