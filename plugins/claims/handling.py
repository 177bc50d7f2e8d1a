"""What staff do to a claim besides moving its status: internal notes, messages to the tenant,
who pays overridden with a reason, and the same status change applied to many claims at once.

Each action is one transaction under the claim's row lock, taken through
:func:`plugins.claims.queries.claims_visible_to` (a claim the actor may not see is not found),
and needs the ``claims.handle`` permission. Each leaves a :class:`ClaimEvent` in the claim's
history and an event in the audit log; the free texts stay in the claim's history only (the
audit log keeps which event was written, not what it said: texts may name people and are
erased with them). What the tenant may read (a message, who pays and why) is also queued
through notifications when that plugin is enabled, in the same transaction.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import select

from core import audit
from core.accounts import User, utcnow
from core.extensions import db
from core.permissions import has_permission
from plugins.claims import notices
from plugins.claims.catalogue import Responsibility
from plugins.claims.filing import ClaimError, ClaimForbidden, ClaimInvalid, clean_text
from plugins.claims.models import Claim, ClaimEvent, EventKind
from plugins.claims.queries import claims_visible_to
from plugins.claims.workflow import (
    HANDLE_PERMISSION,
    MAX_MESSAGE,
    MAX_NOTE,
    MAX_REASON,
    _actor_label,
    _lock,
    change_status,
)

__all__ = ["BulkOutcome", "add_note", "bulk_change", "override_responsibility",
           "post_message"]

MAX_LEGAL_REFERENCE = 500


def _check_staff(actor: User | None) -> None:
    if actor is None or not has_permission(actor, HANDLE_PERMISSION):
        raise ClaimForbidden(_("You are not allowed to change claims."))


def _event(claim: Claim, actor: User, kind: EventKind, **texts) -> ClaimEvent:
    """A non-status step of the claim's history (from and to: the status it has now)."""
    now = utcnow()
    event = ClaimEvent(claim=claim, kind=kind, from_status=claim.status,
                       to_status=claim.status, at=now, actor_id=actor.id,
                       actor_label=_actor_label(actor), **texts)
    claim.updated_at = now
    db.session.add(event)
    db.session.flush()  # the event's id, for the audit record and the message
    return event


def _in_transaction(work):
    """Run ``work()`` and commit; roll everything back on any error."""
    try:
        result = work()
        db.session.commit()
        return result
    except BaseException:
        db.session.rollback()
        raise


def add_note(claim_id: int, actor: User, text: str) -> ClaimEvent:
    """Add an internal note (note interne) to a claim: staff read it, the tenant never does."""
    def work():
        _check_staff(actor)
        claim = _lock(claim_id, actor)
        errors: dict[str, str] = {}
        note = clean_text(text, limit=MAX_NOTE, field="internal_note", errors=errors,
                          required=True, label_empty=_("Please write the note."))
        if errors:
            raise ClaimInvalid(errors)
        event = _event(claim, actor, EventKind.NOTE, internal_note=note)
        audit.record("claims.note", obj=claim, detail={"event": event.id})
        return event

    return _in_transaction(work)


def post_message(claim_id: int, actor: User, text: str) -> ClaimEvent:
    """Write to the tenant about a claim without changing its status; the message reaches
    them on their chosen channel when notifications are enabled."""
    def work():
        _check_staff(actor)
        claim = _lock(claim_id, actor)
        errors: dict[str, str] = {}
        message = clean_text(text, limit=MAX_MESSAGE, field="public_message", errors=errors,
                             required=True, label_empty=_("Please write the message."))
        if errors:
            raise ClaimInvalid(errors)
        event = _event(claim, actor, EventKind.MESSAGE, public_message=message)
        notices.message_posted(claim, event)
        audit.record("claims.message", obj=claim, detail={"event": event.id})
        return event

    return _in_transaction(work)


def override_responsibility(claim_id: int, actor: User, responsibility, reason: str,
                            legal_reference: str | None = None,
                            public_message: str = "") -> ClaimEvent:
    """Say who pays for the repair instead of the catalogue, with a reason the tenant reads.

    The catalogue's answer is kept in ``original_responsibility`` the first time (a second
    override keeps the first original). ``legal_reference`` replaces the claim's reference
    when given (e.g. loi 89-462 art. 7 d, for wear); empty keeps it. The tenant is told.
    """
    def work():
        _check_staff(actor)
        claim = _lock(claim_id, actor)
        errors: dict[str, str] = {}
        try:
            chosen = Responsibility(responsibility)
        except ValueError:
            errors["responsibility"] = _("Choose who pays among the answers offered.")
            chosen = None
        why = clean_text(reason, limit=MAX_REASON, field="reason", errors=errors,
                         required=True, label_empty=_("Please give the reason."))
        reference = clean_text(legal_reference, limit=MAX_LEGAL_REFERENCE,
                               field="legal_reference", errors=errors, required=False)
        message = clean_text(public_message, limit=MAX_MESSAGE, field="public_message",
                             errors=errors, required=False)
        if chosen is not None and not errors and chosen.value == claim.responsibility \
                and not reference:
            errors["responsibility"] = _("This is already who pays for this claim.")
        if errors:
            raise ClaimInvalid(errors)
        previous = claim.responsibility
        if claim.original_responsibility is None:
            claim.original_responsibility = previous
        claim.responsibility = chosen.value
        if reference:
            claim.legal_reference = reference
        event = _event(claim, actor, EventKind.RESPONSIBILITY, reason=why,
                       public_message=message)
        notices.responsibility_changed(claim, event)
        audit.record("claims.responsibility", obj=claim,
                     detail={"event": event.id, "from": previous, "to": chosen.value})
        return event

    return _in_transaction(work)


@dataclass(frozen=True)
class BulkOutcome:
    """What became of one claim of a bulk change: ``done``, or refused with ``message``."""

    claim_id: int
    reference: str | None
    done: bool
    message: str = ""


def bulk_change(claim_ids: Iterable[int], to, actor: User, **fields) -> list[BulkOutcome]:
    """Apply :func:`plugins.claims.workflow.change_status` to each claim, each in its own
    transaction, and say what became of each one.

    A refused claim (a move its status does not allow, a claim changed meanwhile, one the
    actor may not see) does not undo the others. ``fields`` are those of ``change_status``
    (public message, internal note, reason, date, assignment), the same for every claim.
    Claims are handled in the order given, each id once.
    """
    _check_staff(actor)
    ids = list(dict.fromkeys(claim_ids))
    references = dict(db.session.execute(
        select(Claim.id, Claim.reference).where(Claim.id.in_(ids),
                                                claims_visible_to(actor))).all()) if ids else {}
    db.session.commit()  # end the read: each change takes its own lock
    outcomes = []
    for claim_id in ids:
        try:
            change_status(claim_id, to, actor=actor, **fields)
        except ClaimError as refused:
            outcomes.append(BulkOutcome(claim_id, references.get(claim_id), False,
                                        str(refused)))
        else:
            outcomes.append(BulkOutcome(claim_id, references.get(claim_id), True))
    return outcomes
