"""The audit log (journal d'audit): who did what, to which object, about whom, and when.

Append-only and hash-chained. Each event carries a sequence number (1, 2, 3... without gaps),
the hash of the event before it and its own hash, so that ``palier audit verify`` finds any
edited, deleted, inserted or reordered event. Events are written in the transaction of the
change they describe: they commit or roll back with it.

Two hashes per event (see docs/audit.md):

- the *content hash* covers who (actor id and label, client address), what (object type and
  id), about whom (person id) and the detail;
- the *event hash* covers the sequence number, the time, the action, the content hash and the
  previous event's hash: the chain.

Expired records of staff viewing a tenant's file are *blanked* by ``palier audit purge``: their
content goes, their sequence number, time, action and both hashes stay, so the chain still
verifies from its first event and nothing else can be removed unseen.

Changes to the models are recorded automatically at each flush (create, update, delete), with
the values of ordinary fields; secret fields are masked (:func:`masked`). A model opts out with
``__audit__ = False`` and names extra secret fields with ``__audit_secret__ = ("field", ...)``.
Bulk statements (``session.execute(update(...))``) bypass the flush: their callers record an
event themselves with :func:`record`.
"""
from __future__ import annotations

import enum
import hashlib
import json
import math
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from flask import g, has_request_context, request
from flask_babel import lazy_gettext as _l
from flask_sqlalchemy.session import Session as AppSession
from sqlalchemy import (
    JSON,
    BigInteger,
    Index,
    String,
    cast,
    event,
    insert,
    or_,
    select,
    text,
    update,
)
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import Mapped, mapped_column

from core.accounts import utcnow
from core.config import AUDIT_VIEW_RETENTION_RANGE
from core.extensions import db

GENESIS_HASH = "0" * 64
# Written into every hash: a later change of the serialisation gets a new version.
HASH_VERSION = "palier-audit-1"
# Key of the PostgreSQL advisory lock that serialises writers of the chain ("PALIER" + 1).
CHAIN_LOCK_KEY = 0x50414C49455201
SYSTEM_ACTOR = "system"
MASK = "[masked]"

# Records of staff viewing a tenant's file: kept AUDIT_VIEW_RETENTION_DAYS, then blanked.
VIEW_ACTIONS = frozenset({"view_tenant_file"})
ERASURE_ACTION = "person_erased"
# View records are kept at least six months: no configuration may go below, and the verifier
# treats a record blanked younger than that as tampering.
MIN_VIEW_RETENTION_DAYS = AUDIT_VIEW_RETENTION_RANGE[0]

ACTION_LABELS = {
    "login": _l("Login"),
    "login_failed": _l("Failed login"),
    "logout": _l("Logout"),
    "view_tenant_file": _l("Tenant file viewed"),
    "create": _l("Created"),
    "update": _l("Changed"),
    "delete": _l("Deleted"),
    "export": _l("Export"),
    "audit_purge": _l("Expired view records blanked"),
    "export_personal_data": _l("Personal data downloaded"),
    "person_erased": _l("Person erased"),
    "estate_import": _l("Estate imported"),
}

def build_action_labels(registry) -> dict:
    """The core's action labels and those each enabled plugin names; checked at start-up."""
    from core.config import ConfigError

    labels = dict(ACTION_LABELS)
    for plugin_name, declared in registry.call_each("register_audit_actions"):
        for action, label in (declared or {}).items():
            if not action.startswith(plugin_name + "."):
                raise ConfigError(f"Plugin {plugin_name!r} names audit action {action!r}, "
                                  f"which must start with '{plugin_name}.'.")
            labels[action] = label
    return labels


def action_labels(app=None) -> dict:
    """Every action's label: the core's and the enabled plugins'."""
    from flask import current_app

    app = app or current_app
    return app.extensions.get("palier.audit_actions", ACTION_LABELS)


# Words of a column name whose value never enters the log (password_hash, reset_token,
# api_key, otp_secret, access_code...), and words whose value is shortened (phone numbers).
SECRET_WORDS = frozenset({"password", "token", "secret", "otp", "pin", "code", "key", "hash",
                          "salt", "credential", "credentials"})
SECRET_NAMES = frozenset({"session_version"})
PHONE_WORDS = frozenset({"phone", "mobile", "fax"})


class AuditEvent(db.Model):
    """One event of the audit log. Never updated, except its content blanked on expiry."""

    __tablename__ = "audit_event"
    __audit__ = False
    __table_args__ = (Index("ix_audit_event_object", "object_type", "object_id"),)

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    occurred_at: Mapped[datetime] = mapped_column(index=True)  # UTC
    action: Mapped[str] = mapped_column(String(40), index=True)
    # No foreign keys: deleting an account or a person must neither rewrite nor block the log.
    actor_id: Mapped[int | None] = mapped_column(index=True)
    actor_label: Mapped[str | None] = mapped_column(String(254))
    object_type: Mapped[str | None] = mapped_column(String(60))
    object_id: Mapped[str | None] = mapped_column(String(64))
    person_id: Mapped[int | None] = mapped_column(index=True)
    client_address: Mapped[str | None] = mapped_column(String(45))
    detail: Mapped[dict | None] = mapped_column(JSON)
    redacted: Mapped[bool] = mapped_column(default=False)
    body_hash: Mapped[str] = mapped_column(String(64))
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))

    @property
    def action_label(self) -> str:
        return str(action_labels().get(self.action, self.action))

    @property
    def detail_items(self) -> list[tuple[str, str]]:
        """The detail as (name, value) pairs for display; a change's fields come flat."""
        detail = self.detail or {}
        if set(detail) in ({"changed"}, {"fields"}) and isinstance(
                next(iter(detail.values())), dict):
            detail = next(iter(detail.values()))
        return [(name, value if isinstance(value, str) else json.dumps(value, ensure_ascii=False))
                for name, value in detail.items()]


BODY_FIELDS = ("actor_id", "actor_label", "object_type", "object_id", "person_id",
               "client_address", "detail")


def _digest(values: list) -> str:
    payload = json.dumps([HASH_VERSION, *values], sort_keys=True, separators=(",", ":"),
                         ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def content_hash(row) -> str:
    """The hash of an event's content (who, what, about whom, detail)."""
    return _digest([_field(row, name) for name in BODY_FIELDS])


def event_hash(row) -> str:
    """The hash of an event in the chain: sequence, time, action, content hash, previous hash."""
    occurred_at = _field(row, "occurred_at").isoformat(timespec="microseconds")
    return _digest([_field(row, "seq"), occurred_at, _field(row, "action"),
                    _field(row, "body_hash"), _field(row, "prev_hash")])


def _field(row, name):
    return row[name] if isinstance(row, dict) else getattr(row, name)



# Writing -----------------------------------------------------------------------------------

_HEAD = select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)


def _append(connection, events: list[dict]) -> None:
    """Chain ``events`` after the last one and insert them, in the caller's transaction.

    Writers take turns from the reading of the last hash to their commit: on PostgreSQL through
    a transaction-level advisory lock, on SQLite through the write lock that every write
    transaction takes at its BEGIN (core.db). Were two writers ever to read the same head, the
    primary key on the sequence number would refuse the second: the chain never forks.
    """
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": CHAIN_LOCK_KEY})
    head = connection.execute(_HEAD).first()
    seq, prev_hash = (head.seq, head.hash) if head else (0, GENESIS_HASH)
    now = utcnow()
    for row in events:
        seq += 1
        row.update(seq=seq, occurred_at=now, prev_hash=prev_hash, redacted=False)
        row["body_hash"] = content_hash(row)
        row["hash"] = prev_hash = event_hash(row)
    connection.execute(insert(AuditEvent.__table__), events)


def record(action: str, *, obj=None, person_id: int | None = None,
           detail: dict | None = None) -> None:
    """Add an event to the audit log, in the current transaction.

    ``obj`` is the model instance concerned (its table and primary key are kept);
    ``person_id`` the person concerned, by default the object's person (a ``Person`` itself, or
    its ``person_id``); ``detail`` a JSON-able mapping, whose secret keys are masked. The actor
    is the logged-in user of the current request, or "system" outside requests.
    """
    object_type = object_id = None
    if obj is not None:
        if obj in db.session.new:
            db.session.flush()  # the object needs its id
        state = sa_inspect(obj)
        object_type = state.mapper.persist_selectable.name
        object_id = _identity(state)
        if person_id is None:
            person_id = _person_of(state)
    clean = masked(detail, _secret_names(type(obj))) if detail else None
    _append(db.session.connection(), [_event(action, object_type, object_id, person_id, clean)])


def record_summary(connection, action: str, detail: dict,
                   actor: tuple[int, str] | None = None) -> None:
    """Add one event summing up a bulk change written with Core statements on ``connection``
    (which the ORM's flush events do not see), in that connection's transaction. ``actor``
    (user id, e-mail) names who asked when the work runs outside their request."""
    event = _event(action, None, None, None, masked(detail))
    if actor is not None:
        event["actor_id"], event["actor_label"] = actor
    _append(connection, [event])


def _event(action, object_type, object_id, person_id, detail) -> dict:
    actor_id, actor_label = current_actor()
    return {"action": action, "actor_id": actor_id, "actor_label": actor_label,
            "object_type": object_type, "object_id": object_id, "person_id": person_id,
            "client_address": request.remote_addr if has_request_context() else None,
            "detail": detail}


def current_actor() -> tuple[int | None, str | None]:
    """Who acts: (user id, e-mail) in a logged-in request, (None, None) for an anonymous
    visitor, (None, "system") for commands and background work."""
    if not has_request_context():
        return None, SYSTEM_ACTOR
    from flask_login import current_user

    user = current_user._get_current_object()
    if not user.is_authenticated:
        return None, None
    # Read once per request: after a commit the account's columns are expired, and reading
    # them again would cost a query at every flush.
    state = sa_inspect(user)
    user_id = state.identity[0] if state.identity else user.id
    cached = g.get("palier_audit_actor")
    if cached is None or cached[0] != user_id:
        cached = g.palier_audit_actor = (user_id, user.email)
    return cached


# What goes into the detail -------------------------------------------------------------------

def _secret_names(model) -> frozenset[str]:
    return SECRET_NAMES | frozenset(getattr(model, "__audit_secret__", ()))


def _words(name: str) -> set[str]:
    return set(name.lower().split("_"))


def masked(values: dict, secret_names: frozenset[str] = SECRET_NAMES) -> dict:
    """A JSON-able copy of ``values`` where secrets are masked and phone numbers shortened.

    Secret: a name in ``secret_names`` or made of a secret word (``password_hash``,
    ``reset_token``, ``api_key``...). Phone numbers keep their last two digits.
    """
    clean = {}
    for name, value in values.items():
        name = str(name)
        words = _words(name)
        if value is None:
            clean[name] = None
        elif name in secret_names or words & SECRET_WORDS:
            clean[name] = MASK
        elif words & PHONE_WORDS:
            digits = "".join(c for c in str(value) if c.isdigit())
            clean[name] = "…" + digits[-2:] if len(digits) > 4 else MASK
        elif isinstance(value, dict):
            clean[name] = masked(value, secret_names)
        else:
            clean[name] = jsonable(value)
    return clean


def jsonable(value):
    """A value as JSON keeps it, and as the hash reads it back: dates as ISO text, decimals
    as text, enumerations by their value."""
    if isinstance(value, enum.Enum):
        return jsonable(value.value)
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (list, tuple, set, frozenset)):
        return [jsonable(item) for item in value]
    if isinstance(value, dict):
        return {str(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    return str(value)


# Automatic change records ------------------------------------------------------------------

def _audited(obj) -> bool:
    return getattr(type(obj), "__audit__", True) is not False


def _identity(state) -> str | None:
    if state.identity is not None:
        values = state.identity
    else:
        values = [state.dict.get(c.key) for c in state.mapper.primary_key]
    return ",".join(str(v) for v in values) if values else None


def _person_of(state) -> int | None:
    if state.mapper.persist_selectable.name == "person":
        return state.identity[0] if state.identity else state.dict.get("id")
    value = state.dict.get("person_id")
    return value if isinstance(value, int) else None


def _column_values(state) -> dict:
    """The loaded column values of an object, its primary key aside (kept as object id)."""
    keys = {c.key for c in state.mapper.primary_key}
    return {attr.key: state.dict[attr.key] for attr in state.mapper.column_attrs
            if attr.key not in keys and attr.key in state.dict}


def _changed_values(state) -> dict:
    changed = {}
    for attr in state.mapper.column_attrs:
        history = state.attrs[attr.key].history
        if history.has_changes():
            changed[attr.key] = history.added[0] if history.added else None
    return changed


def _change_event(action: str, state, values: dict) -> dict:
    detail = masked(values, _secret_names(state.class_))
    return _event(action, state.mapper.persist_selectable.name, _identity(state),
                  _person_of(state), {"changed" if action == "update" else "fields": detail})


@event.listens_for(AppSession, "after_flush")
def _record_changes(session, _flush_context):
    """Record what this flush created, changed and deleted: one INSERT for all of it.

    ``after_flush`` still sees the flushed objects' pending state and attribute history, and
    the new rows' primary keys are known by then.
    """
    events = []
    for obj in session.new:
        if _audited(obj):
            state = sa_inspect(obj)
            events.append(_change_event("create", state, _column_values(state)))
    for obj in session.dirty:
        if _audited(obj) and session.is_modified(obj, include_collections=False):
            state = sa_inspect(obj)
            changed = _changed_values(state)
            if changed:
                events.append(_change_event("update", state, changed))
    for obj in session.deleted:
        if _audited(obj):
            state = sa_inspect(obj)
            events.append(_change_event("delete", state, _column_values(state)))
    if events:
        _append(session.connection(), events)


# Verifying ----------------------------------------------------------------------------------

@dataclass
class Verification:
    """What ``verify_chain`` found: ``problem`` is None when the chain is intact."""

    count: int = 0
    head_seq: int | None = None
    head_hash: str | None = None
    broken_seq: int | None = None
    problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None


def verify_chain(now: datetime | None = None, anchor: tuple[int, str] | None = None,
                 batch: int = 2000) -> Verification:
    """Walk the whole chain in sequence order; stop at the first broken event.

    ``anchor`` is a (sequence, hash) pair noted earlier outside the database: checking that
    it is still in the chain detects a rewritten or truncated end, which no chain can see by
    itself. ``now`` is the time blanked view records are judged against.
    """
    now = now or utcnow()
    youngest_blankable = now - timedelta(days=MIN_VIEW_RETENTION_DAYS)
    # Events blanked by an erasure are listed by a later ``person_erased`` event: the chain
    # itself authorizes them (a forged list breaks the chain where it stands).
    erased = frozenset(
        seq for detail in db.session.scalars(
            select(AuditEvent.detail).where(AuditEvent.action == ERASURE_ACTION))
        for seq in (detail or {}).get("blanked", []))
    result = Verification()
    prev_seq, prev_hash = 0, GENESIS_HASH
    anchored = None
    rows = db.session.execute(
        select(AuditEvent.__table__).order_by(AuditEvent.seq).execution_options(
            yield_per=batch))
    for row in rows.mappings():
        seq = row["seq"]
        problem = None
        if seq != prev_seq + 1:
            result.broken_seq = prev_seq + 1
            result.problem = (f"event {prev_seq + 1} is missing: the sequence jumps from "
                              f"{prev_seq} to {seq} (deleted event)")
            break
        if row["prev_hash"] != prev_hash:
            problem = (f"it does not follow event {prev_seq}: its previous hash differs "
                       "(event inserted, deleted or moved)")
        elif row["redacted"]:
            problem = _blanking_problem(row, youngest_blankable, erased)
        elif content_hash(row) != row["body_hash"]:
            problem = "its content does not match its content hash (edited)"
        if problem is None and event_hash(row) != row["hash"]:
            problem = ("its hash does not match its sequence number, time, action and content "
                       "(edited or moved)")
        if problem is not None:
            result.broken_seq, result.problem = seq, problem
            break
        if anchor is not None and seq == anchor[0]:
            anchored = row["hash"]
        prev_seq, prev_hash = seq, row["hash"]
        result.count += 1
    rows.close()
    if result.ok:
        result.head_seq, result.head_hash = (prev_seq, prev_hash) if prev_seq else (None, None)
        if anchor is not None and anchored != anchor[1]:
            result.broken_seq = anchor[0]
            result.problem = (f"event {anchor[0]} is not the one noted (hash "
                              f"{anchor[1][:12]}…): the end of the chain was rewritten or cut")
    return result


def _blanking_problem(row, youngest_blankable: datetime,
                      erased: frozenset[int] = frozenset()) -> str | None:
    if row["seq"] in erased:  # blanked because the person was erased (RGPD)
        if any(row[name] is not None for name in BODY_FIELDS):
            return "it is marked as blanked but still holds content"
        return None
    if row["action"] not in VIEW_ACTIONS:
        return f"it was blanked, but a “{row['action']}” event is never blanked"
    if any(row[name] is not None for name in BODY_FIELDS):
        return "it is marked as blanked but still holds content"
    if row["occurred_at"] > youngest_blankable:
        return (f"it was blanked before the {MIN_VIEW_RETENTION_DAYS} days every view record "
                "is kept")
    return None


# Retention ----------------------------------------------------------------------------------

def retention_cutoff(config, today: date) -> date:
    """The first day whose view records must still be kept, under AUDIT_VIEW_RETENTION_DAYS."""
    return today - timedelta(days=int(config["AUDIT_VIEW_RETENTION_DAYS"]))


def erase_person_events(person_id: int, user_ids: list[int], emails: set[str]) -> int:
    """Blank the content of every event about a person, by their accounts, or naming their
    e-mail address (failed logins, reset requests); record which, in a ``person_erased``
    event that names no one. Returns how many were blanked."""
    about = [AuditEvent.person_id == person_id]
    if user_ids:
        about += [AuditEvent.actor_id.in_(user_ids),
                  (AuditEvent.object_type == "user_account")
                  & AuditEvent.object_id.in_([str(i) for i in user_ids])]
    about += [(AuditEvent.object_type == "person") & (AuditEvent.object_id == str(person_id))]
    # The address as a JSON string value, escaped: "an@x.fr" must not match "jean@x.fr".
    about += [cast(AuditEvent.detail, String).contains(json.dumps(email), autoescape=True)
              for email in emails]
    seqs = list(db.session.scalars(
        select(AuditEvent.seq).where(or_(*about), AuditEvent.redacted.is_(False))))
    if seqs:
        db.session.execute(
            update(AuditEvent).where(AuditEvent.seq.in_(seqs))
            .values(redacted=True, **{name: None for name in BODY_FIELDS})
            .execution_options(synchronize_session=False))
    record(ERASURE_ACTION, detail={"blanked": sorted(seqs)})
    return len(seqs)


def purge_views(before: date) -> int:
    """Blank the view records older than ``before`` (their content goes, their place in the
    chain stays); record the purge itself; commit. Returns how many were blanked."""
    blanked = db.session.execute(
        update(AuditEvent)
        .where(AuditEvent.action.in_(VIEW_ACTIONS), AuditEvent.redacted.is_(False),
               AuditEvent.occurred_at < datetime.combine(before, time.min))
        .values(redacted=True, **{name: None for name in BODY_FIELDS})
        .execution_options(synchronize_session=False)
    ).rowcount
    record("audit_purge", detail={"before": before, "blanked": blanked})
    db.session.commit()
    return blanked
