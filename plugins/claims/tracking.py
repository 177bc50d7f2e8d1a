"""The tenant following a filed claim: adding information or photos, cancelling, rating.

Each function is one transaction. It selects the claim through the same row lock and
visibility filter as every change of status (:func:`plugins.claims.workflow._lock`): a claim of
another household is simply not found (:class:`ClaimNotFound`, a 404 for the pages), and two
requests on the same claim take turns, so that a rating or a cancellation sent twice is
applied once and the second one is told why not. Bad input raises :class:`ClaimInvalid` with a
message per field before anything is written; moves the claim's state does not allow raise
:class:`IllegalTransition`; what the user's role does not allow, :class:`ClaimForbidden`.

The page's reading side is here too: :func:`progress` (the stepper) and :func:`public_timeline`
(the history in plain words), so that what a tenant may read is decided in one place: status
changes with their public message and reason, the landlord's messages, the information the
household added and its rating; never internal notes, nor the reason staff gave for changing
who pays.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from core import audit
from core.accounts import Role, User, utcnow
from core.extensions import db
from plugins.claims.filing import ClaimForbidden, ClaimInvalid, clean_text
from plugins.claims.models import Claim, ClaimEvent, EventKind, Status
from plugins.claims.wording import status_label
from plugins.claims.workflow import (
    MAX_MESSAGE,
    MAX_REASON,
    ClaimNotFound,
    IllegalTransition,
    _actor_label,
    _lock,
    add_photos,
    allowed_next,
    change_status,
    prepare_photos,
)

__all__ = [
    "MAX_COMMENT", "MAX_INFORMATION", "RATEABLE", "STEPS", "ClaimForbidden", "ClaimInvalid",
    "ClaimNotFound", "IllegalTransition", "Step", "TimelineEntry", "add_information",
    "can_add_information", "can_cancel", "can_rate", "cancel", "progress", "public_timeline",
    "rate",
]

MAX_INFORMATION = MAX_MESSAGE
MAX_COMMENT = 2000
SCORES = range(1, 6)
# A repair is rated once it is done.
RATEABLE = frozenset({Status.RESOLVED, Status.CLOSED})


# -- what the tenant may do ------------------------------------------------------------------

def can_add_information(claim: Claim) -> bool:
    return claim.status.is_open and claim.erased_at is None


def can_cancel(claim: Claim) -> bool:
    return Status.CANCELLED in allowed_next(claim.status)


def can_rate(claim: Claim) -> bool:
    return claim.status in RATEABLE and claim.rating is None


def _check_tenant(user: User) -> None:
    if user.role is not Role.TENANT:
        raise ClaimForbidden(_("Only the tenant who reported the problem, or their household, "
                               "can do this."))


# -- adding information ----------------------------------------------------------------------

def add_information(claim_id: int, tenant: User, text: str = "",
                    photos: Sequence = ()) -> ClaimEvent:
    """Add a text and/or photos to an open claim of the tenant's household; commit.

    The photos count against the 5 of the claim in all (those sent with the report included)
    and must be real images (:func:`plugins.claims.workflow.add_photos`, in this transaction).
    The text is recorded as an ``information`` event the staff and the household read in the
    claim's history. Refused on a closed, rejected or cancelled claim: the work on it is over,
    and nobody would read what is added. Returns the event.
    """
    # Re-encoded before the claim is locked (see workflow.prepare_photos).
    photos = prepare_photos([photo for photo in photos if photo])
    try:
        claim = _lock(claim_id, tenant)
        _check_tenant(tenant)
        if not can_add_information(claim):
            raise IllegalTransition(_(
                "This claim is “%(status)s”: information can no longer be added to it. "
                "Report a new problem if it is still there.",
                status=status_label(claim.status)))
        errors: dict[str, str] = {}
        text = clean_text(text, limit=MAX_INFORMATION, field="text", errors=errors,
                          required=False)
        if not text and not photos and "text" not in errors:
            errors["text"] = _("Please write something or add a photo.")
        if errors:
            raise ClaimInvalid(errors)
        stored = add_photos(claim.id, photos, actor=tenant, commit=False) if photos else []
        now = utcnow()
        event = ClaimEvent(claim=claim, kind=EventKind.INFORMATION, from_status=claim.status,
                           to_status=claim.status, at=now, actor_id=tenant.id,
                           actor_label=_actor_label(tenant), public_message=text)
        claim.updated_at = now
        db.session.add(event)
        db.session.flush()
        # The text stays out of the log (it may name people); the event holds it.
        audit.record("claims.information_added", obj=claim,
                     detail={"event": event.id, "photos": len(stored), "text": bool(text)})
        db.session.commit()
        return event
    except BaseException:
        db.session.rollback()
        raise


# -- cancelling ------------------------------------------------------------------------------

def cancel(claim_id: int, tenant: User, reason: str = "", *,
           expected_status: Status | str | None = None) -> ClaimEvent:
    """Cancel a claim of the tenant's household before the work starts; commit.

    A wrapper of :func:`plugins.claims.workflow.change_status` (which decides when a claim may
    be cancelled, and tells the staff and the listening plugins), with the tenant's optional
    reason. A cancellation sent twice (a double tap, the back button) is told that the claim
    is already cancelled, and nothing is written the second time. ``expected_status``: the
    status the tenant saw when confirming; if the claim moved since, they are asked to look
    again (:class:`plugins.claims.workflow.ClaimConflict`).
    """
    try:
        claim = _lock(claim_id, tenant)
        _check_tenant(tenant)
        if claim.status is Status.CANCELLED:
            raise IllegalTransition(_("This claim is already cancelled."))
        errors: dict[str, str] = {}
        reason = clean_text(reason, limit=MAX_REASON, field="reason", errors=errors,
                            required=False)
        if errors:
            raise ClaimInvalid(errors)
    except BaseException:
        db.session.rollback()
        raise
    # Same transaction: the row stays locked until change_status commits or rolls back.
    return change_status(claim_id, Status.CANCELLED, actor=tenant, reason=reason,
                         expected_status=expected_status)


# -- rating ----------------------------------------------------------------------------------

def _score(value, errors: dict) -> int | None:
    if isinstance(value, str) and value.strip().isdecimal() and len(value.strip()) == 1:
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or value not in SCORES:
        errors["score"] = _("Choose a score from 1 to 5.")
        return None
    return value


def rate(claim_id: int, tenant: User, score, comment: str = "") -> ClaimEvent:
    """Rate the resolution of a claim of the tenant's household, 1 to 5, with an optional
    comment (2,000 characters at most); commit.

    Only once the repair is resolved (or the claim closed), and once per claim: a second
    rating is refused rather than replacing the first, whose figure the satisfaction charts
    have already counted. Returns the ``rating`` event.
    """
    try:
        claim = _lock(claim_id, tenant)
        _check_tenant(tenant)
        if claim.status not in RATEABLE:
            raise IllegalTransition(_("You can rate the repair once it is done."))
        if claim.rating is not None:
            raise IllegalTransition(_("You have already rated this repair: thank you."))
        errors: dict[str, str] = {}
        score = _score(score, errors)
        comment = clean_text(comment, limit=MAX_COMMENT, field="comment", errors=errors,
                             required=False)
        if errors:
            raise ClaimInvalid(errors)
        now = utcnow()
        claim.rating = score
        claim.rating_comment = comment
        claim.rated_at = now
        claim.updated_at = now
        # The score and the comment live on the claim (rated once); the event dates it in the
        # history.
        event = ClaimEvent(claim=claim, kind=EventKind.RATING, from_status=claim.status,
                           to_status=claim.status, at=now, actor_id=tenant.id,
                           actor_label=_actor_label(tenant))
        db.session.add(event)
        db.session.flush()
        audit.record("claims.rated", obj=claim, detail={"event": event.id, "score": score})
        db.session.commit()
        return event
    except BaseException:
        db.session.rollback()
        raise


# -- the stepper -----------------------------------------------------------------------------

STEPS = (Status.SUBMITTED, Status.ACKNOWLEDGED, Status.QUALIFIED, Status.ASSIGNED,
         Status.APPOINTMENT_PLANNED, Status.IN_PROGRESS, Status.RESOLVED, Status.CLOSED)
# Statuses off the main path, shown as a step of their own where they happened.
DETOURS = {
    Status.POSTPONED: _l("Postponed"),
    Status.REJECTED: _l("Rejected"),
    Status.CANCELLED: _l("Cancelled"),
    Status.REOPENED: _l("Reopened"),
}
STEP_LABELS = {
    Status.SUBMITTED: _l("Submitted"),
    Status.ACKNOWLEDGED: _l("Acknowledged"),
    Status.QUALIFIED: _l("Checked"),
    Status.ASSIGNED: _l("Handed to a trade"),
    Status.APPOINTMENT_PLANNED: _l("Appointment planned"),
    Status.IN_PROGRESS: _l("Work in progress"),
    Status.RESOLVED: _l("Resolved"),
    Status.CLOSED: _l("Closed"),
}


@dataclass
class Step:
    status: Status
    label: str
    state: str            # "done", "skipped", "current" or "todo"
    detour: bool = False  # postponed, rejected, cancelled or reopened


def progress(claim: Claim) -> list[Step]:
    """The steps of the stepper, in order, one of them ``current``.

    On the main path the current step is the claim's status. A detour is shown as a step of
    its own right after the last main step the claim reached (postponed after the appointment,
    say); a rejected or cancelled claim ends there, its remaining steps gone; a reopened claim
    starts again from the check (it stands where "checked" stood). A main step the claim went
    past without stopping (no appointment was needed) is ``skipped``, not ``done``.
    """
    status = claim.status
    passed = {event.to_status for event in claim.events if event.kind is EventKind.STATUS}

    def before(step: Status) -> str:
        # An appointment is not always needed (assigned → in progress): that step is skipped.
        return "done" if step in passed or not passed else "skipped"

    if status in STEPS:
        reached = STEPS.index(status)
        return [Step(s, str(STEP_LABELS[s]), before(s) if i < reached else
                     "current" if i == reached else "todo") for i, s in enumerate(STEPS)]
    reached = 0
    for event in claim.events:
        if event.kind is not EventKind.STATUS:
            continue
        if event.to_status in STEPS:
            reached = STEPS.index(event.to_status)
        elif event.to_status is Status.REOPENED:
            reached = STEPS.index(Status.ACKNOWLEDGED)
    detour = Step(status, str(DETOURS[status]), "current", detour=True)
    done = [Step(s, str(STEP_LABELS[s]), before(s)) for s in STEPS[:reached + 1]]
    later = [Step(s, str(STEP_LABELS[s]), "todo") for s in STEPS[reached + 1:]]
    if status is Status.REOPENED:
        later = later[1:]  # reopened stands for "checked": it goes on to the trade
    if status in (Status.REJECTED, Status.CANCELLED):
        later = []
    return [*done, detour, *later]


# -- the history, in plain words -------------------------------------------------------------

STATUS_SENTENCES = {
    Status.SUBMITTED: _l("The problem was reported."),
    Status.ACKNOWLEDGED: _l("Your claim was received and registered."),
    Status.QUALIFIED: _l("Your claim was checked by a customer agent."),
    Status.ASSIGNED: _l("The repair was handed to the trade that will do it."),
    Status.APPOINTMENT_PLANNED: _l("An appointment was planned."),
    Status.POSTPONED: _l("The appointment was postponed."),
    Status.IN_PROGRESS: _l("The work has started."),
    Status.RESOLVED: _l("The repair is done."),
    Status.CLOSED: _l("The claim was closed."),
    Status.REJECTED: _l("The claim was rejected."),
    Status.CANCELLED: _l("The claim was cancelled."),
    Status.REOPENED: _l("The claim was reopened: it will be handled again."),
}


@dataclass
class TimelineEntry:
    at: datetime
    title: str
    kind: str                          # "status", "information", "message" or "rating"
    text: str = ""                     # a public message, the household's words
    reason: str = ""                   # why (a rejection, a postponement, a cancellation)
    planned_for: datetime | None = None
    score: int | None = None


def public_timeline(claim: Claim) -> list[TimelineEntry]:
    """What the household may read of the claim's history, newest first.

    Status changes with their date, reason and public message; the landlord's messages (also
    those about a collective incident, without the staff's note); a review of who pays, with
    its reason; the information the household added; its rating. Internal notes never
    appear, nor do staff steps without a public message.
    """
    entries = []
    for event in claim.events:
        kind = event.kind
        if kind is EventKind.STATUS:
            entries.append(TimelineEntry(
                event.at, str(STATUS_SENTENCES[event.to_status]), "status",
                text=event.public_message, reason=event.reason,
                planned_for=event.planned_for))
        elif kind is EventKind.INFORMATION:
            title = _("Information added") if event.public_message else _("Photos added")
            entries.append(TimelineEntry(event.at, title, "information",
                                         text=event.public_message))
        elif kind is EventKind.RATING:
            entries.append(TimelineEntry(
                event.at, _("The repair was rated %(score)d out of 5.", score=claim.rating or 0),
                "rating", text=claim.rating_comment, score=claim.rating))
        elif kind is EventKind.RESPONSIBILITY:
            # Who pays was reviewed by the landlord: the household reads why.
            entries.append(TimelineEntry(event.at, _("Who pays for the repair was reviewed"),
                                         "message", text=event.public_message,
                                         reason=event.reason))
        elif kind in (EventKind.MESSAGE, EventKind.INCIDENT) and event.public_message:
            entries.append(TimelineEntry(event.at, _("A message from your landlord"),
                                         "message", text=event.public_message))
        # EventKind.NOTE, and staff steps with nothing public: not for the household.
    entries.reverse()
    return entries
