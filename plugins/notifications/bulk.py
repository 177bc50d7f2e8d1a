"""Queuing one message for each of many people (a notice to a whole estate), set-based.

:func:`plugins.notifications.outbox.notify` reads a person's account, lease, preference and
profile with a few queries each: fine for one claim, too slow for a water cut announced to
125,000 tenants. Here the same facts are read for thousands of people at once (one query per
kind of fact and per chunk), the channels are chosen by the very same
:func:`~plugins.notifications.outbox.choose_channels`, and the rows are inserted with
multi-row INSERT statements. The result is the one ``notify()`` would give person by person:
the same idempotency keys (so a second call, or a ``notify()`` for one of them, queues
nothing more), the same channels, addresses, languages and due times, in the caller's
transaction (never committed here).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from flask import current_app
from sqlalchemy import Integer, String, any_, bindparam, insert, literal, select
from sqlalchemy.dialects.postgresql import ARRAY

from core import audit
from core.accounts import User, utcnow
from core.estate import (
    Building,
    Dwelling,
    Entrance,
    Lease,
    Person,
    Residence,
    lease_runs_on,
    postal_address,
)
from core.extensions import db
from plugins.notifications.channels import registry
from plugins.notifications.kinds import MessageKind
from plugins.notifications.models import Message, MessageEvent, Preference, Profile, Status
from plugins.notifications.outbox import (
    choose_channels,
    first_due,
    idempotency_key,
    recipient_name,
)

# People read per round of queries: small enough for SQLite's limit on bound parameters
# (32,766), large enough that 125,000 people take a few dozen rounds.
CHUNK = 5000


def _among(column, values: list):
    """``column IN values``; on PostgreSQL ``column = ANY(array)``: one parameter instead of
    thousands, which the driver would otherwise parse on every statement (half the time of a
    125,000-people notice)."""
    if db.session.get_bind().dialect.name == "postgresql":
        item = Integer() if isinstance(values[0], int) else String()
        return column == any_(bindparam(None, list(values), type_=ARRAY(item)))
    return column.in_(values)


@dataclass(frozen=True)
class _Recipient:
    """What channels and templates read of a person (``Person``'s columns, without the ORM)."""

    id: int
    civility: str
    first_name: str
    last_name: str
    email: str | None
    phone: str | None


def queue_for_people(people_ids, kind: MessageKind, context: dict | None, *, event: str,
                     urgent: bool | None = None, not_before: datetime | None = None) -> int:
    """Queue a message of ``kind`` for each person of ``people_ids`` (ids), in the current
    transaction. Returns how many messages were queued (a person may get none: no address on
    any allowed channel; or two: a kind that needs proof adds a letter).

    People whose data was erased are skipped: nothing is left to reach them with.
    """
    context = dict(context or {})
    urgent = kind.urgent if urgent is None else urgent
    ids = sorted({int(person_id) for person_id in people_ids})
    today = date.today()
    due_by_channel: dict[str, datetime] = {}
    queued = 0
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start:start + CHUNK]
        rows = [_row(kind, context, event, urgent, recipient, channel, address, locale,
                     due_by_channel.setdefault(channel, first_due(channel, urgent, not_before)))
                for recipient, channel, address, locale in _plan(kind, chunk, today)]
        queued += _insert_new(rows)
    if queued:
        # The INSERT statements bypass the flush that audits ORM changes: one event says it.
        audit.record_summary(db.session.connection(), "notifications.queued",
                             {"event": event, "kind": kind.name, "messages": queued})
    return queued


def _plan(kind: MessageKind, chunk: list[int], today: date):
    """(recipient, channel, address, locale) for each message to queue in this chunk."""
    people = {row.id: _Recipient(*row) for row in db.session.execute(
        select(Person.id, Person.civility, Person.first_name, Person.last_name, Person.email,
               Person.phone)
        .where(_among(Person.id, chunk), Person.erased_at.is_(None)))}
    if not people:
        return
    accounts = {row.person_id: row for row in db.session.execute(
        select(User.person_id, User.email, User.active, User.locale)
        .where(_among(User.person_id, chunk)))}
    addresses = _postal_addresses(chunk, today)
    preferences = dict(db.session.execute(
        select(Preference.person_id, Preference.channel)
        .where(_among(Preference.person_id, chunk), Preference.kind == kind.name)).all())
    profiles = {profile.person_id: profile for profile in db.session.scalars(
        select(Profile).where(_among(Profile.person_id, chunk)))}
    channels = registry()
    languages = current_app.config["LANGUAGES"]
    for person_id, person in people.items():
        account = accounts.get(person_id)
        contacts = {
            "email": (account.email if account is not None and account.active else None)
            or person.email,
            "phone": person.phone,
            "postal": addresses.get(person_id),
            "fax": None,
        }
        locale = account.locale if account is not None and account.locale in languages \
            else languages[0]
        for channel in choose_channels(kind, person, contacts, preferences.get(person_id),
                                       profiles.get(person_id)):
            address = channels[channel].address_of(person, contacts)
            if address:
                yield person, channel, address, locale


def _postal_addresses(chunk: list[int], today: date) -> dict[int, str]:
    """The address of each person's current lease (the latest started, as ``current_lease``
    picks it), lines joined by newlines."""
    rows = db.session.execute(
        select(Person.id, Lease.start_date, Residence.name, Building.name, Entrance.name,
               Dwelling.door, Building.street, Residence.postcode, Residence.city)
        .select_from(Lease)
        .join(Person, Person.household_id == Lease.household_id)
        .join(Dwelling, Dwelling.id == Lease.dwelling_id)
        .join(Entrance, Entrance.id == Dwelling.entrance_id)
        .join(Building, Building.id == Entrance.building_id)
        .join(Residence, Residence.id == Building.residence_id)
        .where(_among(Person.id, chunk), *lease_runs_on(today))
        .order_by(Person.id, Lease.start_date))
    found: dict[int, str] = {}
    for row in rows:
        found[row[0]] = "\n".join(postal_address(*row[2:]))  # the latest start wins
    return found


def _row(kind, context, event, urgent, recipient, channel, address, locale, due) -> dict:
    now = utcnow()
    return {
        "idempotency_key": idempotency_key(event, f"person:{recipient.id}", channel),
        "event": event, "kind": kind.name, "channel": channel, "person_id": recipient.id,
        "address": address, "recipient_name": recipient_name(recipient), "locale": locale,
        "context": context, "urgent": urgent, "status": Status.QUEUED, "attempts": 0,
        "not_before": due, "created_at": now, "updated_at": now,
    }


def _insert_new(rows: list[dict]) -> int:
    """Insert the rows whose key is not in the outbox yet, with their "queued" step."""
    if not rows:
        return 0
    keys = [row["idempotency_key"] for row in rows]
    existing = set(db.session.scalars(
        select(Message.idempotency_key).where(_among(Message.idempotency_key, keys))))
    rows = [row for row in rows if row["idempotency_key"] not in existing]
    if not rows:
        return 0
    # One executemany (the driver's fast path: a short statement prepared once), then the
    # "queued" steps from the new rows themselves.
    db.session.execute(insert(Message), rows)
    keys = [row["idempotency_key"] for row in rows]
    db.session.execute(insert(MessageEvent).from_select(
        ["message_id", "at", "status", "detail"],
        select(Message.id, literal(utcnow()), literal(Status.QUEUED.value), literal(""))
        .where(_among(Message.idempotency_key, keys))))
    return len(rows)
