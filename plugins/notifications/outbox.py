"""Queuing messages: the one call other plugins use.

``notify(person, "claims.acknowledged", {...}, event="claim:42:acknowledged")`` adds the
message rows to the current transaction, beside the event that causes them, and never
commits: the caller's commit makes both true at once, its rollback removes both. The worker
(:mod:`plugins.notifications.worker`) delivers them afterwards.
"""
from __future__ import annotations

import hashlib
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import insert, select

from core.accounts import User, utcnow
from core.estate import Person, current_lease
from core.extensions import db
from plugins.notifications.channels import registry
from plugins.notifications.kinds import MessageKind, kind_of
from plugins.notifications.models import Message, MessageEvent, Preference, Profile, Status


def idempotency_key(event: str, recipient: str, channel: str) -> str:
    """128 bits naming one (event, recipient, channel): the same inputs, the same key."""
    raw = "\x1f".join((event, recipient, channel)).encode()
    return hashlib.sha256(raw).hexdigest()[:32]


def recipient_name(person: Person) -> str:
    return " ".join(part for part in (person.civility, person.first_name, person.last_name)
                    if part)


def contacts_of(person: Person, on: date | None = None) -> dict[str, str | None]:
    """Where a person can be reached: e-mail (the account's, else the file's), phone, and the
    postal address of the current lease (lines joined by newlines)."""
    account_email = db.session.scalar(
        select(User.email).where(User.person_id == person.id, User.active.is_(True)).limit(1))
    lease = current_lease(person, on or date.today())
    return {
        "email": account_email or person.email,
        "phone": person.phone,
        "postal": "\n".join(lease.dwelling.address_lines) if lease else None,
        "fax": None,
    }


def locale_of(person: Person | None) -> str:
    languages = current_app.config["LANGUAGES"]
    if person is not None:
        chosen = db.session.scalar(select(User.locale).where(User.person_id == person.id)
                                   .limit(1))
        if chosen in languages:
            return chosen
    return languages[0]


def choose_channels(kind: MessageKind, person: Person, contacts: dict,
                    preference: str | None = None, profile: Profile | None = None) -> list[str]:
    """The channels a message of this kind goes by to this person.

    The person's own choice first (when its channel is on and they have the address); else
    their accessibility needs (visual impairment: voice, else letter; no smartphone: letter);
    else the kind's channels in order. A kind that needs proof always adds a letter.
    """
    channels = registry()
    candidates: list[str] = []
    if preference:
        candidates.append(preference)
    if profile is not None and profile.visual_impairment:
        candidates += ["voice", "letter"]
    if profile is not None and profile.no_smartphone:
        candidates += ["letter", "voice"]
    candidates += list(kind.channels)
    chosen: list[str] = []
    for name in candidates:
        if name in channels and name in kind.channels and channels[name].address_of(
                person, contacts):
            chosen.append(name)
            break
    if kind.needs_proof and "letter" in channels and contacts.get("postal") \
            and "letter" not in chosen:
        chosen.append("letter")
    return chosen


def quiet_until(now_utc: datetime) -> datetime | None:
    """The end of the quiet hours (UTC, naive) when ``now_utc`` falls in them, else None."""
    config = current_app.config
    zone = ZoneInfo(config["NOTIFICATIONS_TIMEZONE"])
    start, end = (datetime.strptime(t, "%H:%M").time() for t in config["NOTIFICATIONS_QUIET_HOURS"])
    local = now_utc.replace(tzinfo=ZoneInfo("UTC")).astimezone(zone)
    current = local.time()
    quiet = (start <= current or current < end) if start > end else (start <= current < end)
    if not quiet:
        return None
    day = local.date() if current < end else local.date() + timedelta(days=1)
    resume = datetime.combine(day, end, tzinfo=zone)
    return resume.astimezone(ZoneInfo("UTC")).replace(tzinfo=None)


def typed_address(channel: str, text: str) -> str:
    """An address typed on one line by staff (a test send): postal lines are separated by
    "|" (or newlines) and kept one per line; any other address is trimmed."""
    if registry().classes[channel].address_kind != "postal":
        return text.strip()
    return "\n".join(line.strip() for line in text.replace("|", "\n").splitlines()
                     if line.strip())


def first_due(channel: str, urgent: bool, not_before: datetime | None = None) -> datetime:
    """When a message may leave: ``not_before`` (now by default), pushed past the quiet
    hours for a channel that keeps them, unless urgent."""
    due = not_before or utcnow()
    if not urgent and registry()[channel].quiet_hours:
        due = quiet_until(due) or due
    return due


def notify(person: Person | None, kind: str, context: dict | None = None, *, event: str,
           channel: str | None = None, address: str | None = None, urgent: bool | None = None,
           not_before: datetime | None = None, obj=None, locale: str | None = None
           ) -> list[Message]:
    """Queue a message of ``kind`` for ``person``, in the current transaction.

    ``event`` names what happened, uniquely (``claim:42:acknowledged``): with the recipient and
    the channel it makes the idempotency key, so calling twice for one event queues once.
    ``channel`` and ``address`` force a channel and an address (a test message, a fax to a
    contractor); otherwise the person's preferences choose. ``not_before`` schedules a
    reminder. ``obj`` is the model instance the message is about (shown on its page).
    Returns the queued messages (none when the person cannot be reached at all).
    """
    message_kind = kind_of(kind)
    context = dict(context or {})
    urgent = message_kind.urgent if urgent is None else urgent
    if person is None:
        if not (channel and address):
            raise ValueError("notify() without a person needs a channel and an address.")
        plan = [(channel, address)]
        name, recipient = context.get("recipient_name", ""), address
    else:
        contacts = contacts_of(person)
        if channel:
            plan = [(channel, address or registry()[channel].address_of(person, contacts))]
        else:
            preference = db.session.scalar(select(Preference.channel).where(
                Preference.person_id == person.id, Preference.kind == kind))
            profile = db.session.get(Profile, person.id)
            plan = [(name, registry()[name].address_of(person, contacts))
                    for name in choose_channels(message_kind, person, contacts, preference,
                                                profile)]
        name, recipient = recipient_name(person), f"person:{person.id}"
    language = locale or locale_of(person)
    if obj is not None and obj in db.session.new:
        db.session.flush()
    messages = []
    for channel_name, channel_address in plan:
        if not channel_address or channel_name not in registry():
            continue
        key = idempotency_key(event, recipient, channel_name)
        if db.session.scalar(select(Message.id).where(Message.idempotency_key == key)):
            continue
        message = Message(
            idempotency_key=key, event=event, kind=kind, channel=channel_name,
            person_id=person.id if person is not None else None, address=channel_address,
            recipient_name=name, locale=language, context=context, urgent=urgent,
            status=Status.QUEUED, not_before=first_due(channel_name, urgent, not_before),
            object_type=obj.__tablename__ if obj is not None else None,
            object_id=obj.id if obj is not None else None)
        message.events.append(MessageEvent(status=Status.QUEUED.value))
        db.session.add(message)
        messages.append(message)
    return messages


def notify_many(people_ids: list[int], kind: str, context: dict, *, event: str,
                urgent: bool | None = None, not_before: datetime | None = None) -> int:
    """Queue one message of ``kind`` for each of many people (a notice to a whole estate),
    in the current transaction, with set-based queries. Returns how many were queued."""
    from plugins.notifications.bulk import queue_for_people

    return queue_for_people(people_ids, kind_of(kind), context, event=event, urgent=urgent,
                            not_before=not_before)


def queue_rows(rows: list[dict]) -> None:
    """Insert prepared message rows and their "queued" events (used by bulk queuing)."""
    if not rows:
        return
    db.session.execute(insert(Message), rows)
    keys = [row["idempotency_key"] for row in rows]
    now = utcnow()
    for start in range(0, len(keys), 5000):
        ids = db.session.scalars(select(Message.id).where(
            Message.idempotency_key.in_(keys[start:start + 5000])))
        db.session.execute(insert(MessageEvent), [
            {"message_id": message_id, "status": Status.QUEUED.value, "at": now, "detail": ""}
            for message_id in ids])
