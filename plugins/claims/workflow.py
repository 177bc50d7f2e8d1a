"""Filing a claim and moving it through its statuses.

submitted → acknowledged → qualified → assigned → appointment planned → in progress → resolved
→ closed; also postponed (a new date and a reason), rejected (a reason), cancelled (by the
tenant, before the work starts) and reopened (a resolved or closed claim, to be handled again
from the qualified step). :data:`TRANSITIONS` is the whole table.

Each change locks the claim's row (``SELECT ... FOR UPDATE``; on SQLite every write
transaction holds the database's write lock from its start), checks that the move is allowed
from the status it finds *then*, and writes, in one transaction: the claim, its
:class:`ClaimEvent`, the audit record, the message to the tenant (when notifications are on)
and whatever the plugins listening to ``claim_status_changed`` write. Two agents applying the
same change: the second finds the claim already moved, and is told so.
"""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from core.accounts import Role, User, utcnow
from core.attachments import AttachmentRejected, PreparedImage, prepare_image, store_image
from core.audit import SYSTEM_ACTOR
from core.extensions import db
from core.permissions import has_permission
from core.plugins import hook
from plugins.claims import notices
from plugins.claims.business_hours import claim_due_at
from plugins.claims.filing import (
    MAX_PHOTOS,
    TOKEN_PATTERN,
    ClaimError,
    ClaimForbidden,
    ClaimInvalid,
    Submission,
    check_submission,
    clean_text,
    configured_catalogue,
)
from plugins.claims.models import (
    PHOTO_OWNER_TYPE,
    Claim,
    ClaimEvent,
    ReferenceCounter,
    Status,
)
from plugins.claims.queries import claims_visible_to
from plugins.claims.wording import status_label

__all__ = [
    "TRANSITIONS", "ClaimConflict", "ClaimError", "ClaimForbidden", "ClaimInvalid",
    "ClaimNotFound", "IllegalTransition", "allowed_next", "change_status", "file_claim",
]

S = Status
_AFTER_QUALIFIED = frozenset({S.ASSIGNED, S.REJECTED, S.CANCELLED})
# status → the statuses it may move to. Terminal: rejected, cancelled (closed may reopen).
TRANSITIONS: dict[Status, frozenset[Status]] = {
    S.SUBMITTED: frozenset({S.ACKNOWLEDGED, S.REJECTED, S.CANCELLED}),
    S.ACKNOWLEDGED: frozenset({S.QUALIFIED, S.REJECTED, S.CANCELLED}),
    S.QUALIFIED: _AFTER_QUALIFIED,
    S.REOPENED: _AFTER_QUALIFIED,
    S.ASSIGNED: frozenset({S.APPOINTMENT_PLANNED, S.IN_PROGRESS, S.POSTPONED, S.REJECTED,
                           S.CANCELLED}),
    S.APPOINTMENT_PLANNED: frozenset({S.IN_PROGRESS, S.POSTPONED, S.CANCELLED}),
    S.POSTPONED: frozenset({S.APPOINTMENT_PLANNED, S.IN_PROGRESS, S.POSTPONED, S.CANCELLED}),
    S.IN_PROGRESS: frozenset({S.RESOLVED, S.POSTPONED}),
    S.RESOLVED: frozenset({S.CLOSED, S.REOPENED}),
    S.CLOSED: frozenset({S.REOPENED}),
    S.REJECTED: frozenset(),
    S.CANCELLED: frozenset(),
}
# What each target needs besides the move itself.
NEEDS_DATE = frozenset({S.APPOINTMENT_PLANNED, S.POSTPONED})
NEEDS_REASON = frozenset({S.POSTPONED, S.REJECTED})
# Permission of the staff who move claims along (agents, managers, administrators).
HANDLE_PERMISSION = "claims.handle"

MAX_MESSAGE = 2000
MAX_NOTE = 5000
MAX_REASON = 500


class IllegalTransition(ClaimError):
    """A move the table does not allow from the claim's current status."""


class ClaimNotFound(ClaimError):
    """No such claim, or not one the user may see (the same answer: a 404)."""


class ClaimConflict(ClaimError):
    """The claim changed since the user looked at it."""


def allowed_next(status: Status) -> frozenset[Status]:
    return TRANSITIONS[Status(status)]


def _naive_utc(moment: datetime) -> datetime:
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc).replace(tzinfo=None)
    return moment


def _actor_label(actor: User | None) -> str:
    if actor is None:
        return SYSTEM_ACTOR
    return actor.display_name or actor.email


# -- references ------------------------------------------------------------------------------

def next_number(key: int) -> int:
    """The next number of the counter row ``key``, in the current transaction.

    The counter row is created when missing (``INSERT ... ON CONFLICT DO NOTHING``: two
    first numbers of a year create it once) then incremented by an ``UPDATE ... RETURNING``,
    which locks it until the commit: concurrent transactions are numbered one after the
    other, and a rolled-back one gives its number back.
    """
    table = ReferenceCounter.__table__
    if db.session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    db.session.execute(insert(table).values(year=key, last_number=0)
                       .on_conflict_do_nothing(index_elements=["year"]))
    return db.session.execute(
        update(table).where(table.c.year == key)
        .values(last_number=table.c.last_number + 1)
        .returning(table.c.last_number)).scalar_one()


def allocate_reference(year: int) -> str:
    """The next claim reference of ``year`` (``RC-2026-000123``), in the current transaction
    (:func:`next_number` on the year's counter row)."""
    return f"RC-{year}-{next_number(year):06d}"


def local_year(moment_utc: datetime) -> int:
    """The landlord's year at a (naive UTC) moment: a claim filed at 00:30 on 1 January in
    Paris is numbered in the new year."""
    zone = ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])
    return moment_utc.replace(tzinfo=timezone.utc).astimezone(zone).year


# -- filing ----------------------------------------------------------------------------------

def _existing_for_token(token, filer: User) -> Claim | None:
    # Only a well-formed token is looked up: a NUL or a lone surrogate would make the
    # database itself fail; check_submission then refuses the malformed one with a message.
    if not isinstance(token, str) or not TOKEN_PATTERN.fullmatch(token):
        return None
    claim = db.session.scalar(select(Claim).where(Claim.idempotency_token == token))
    if claim is not None and claim.filed_by_id != filer.id:
        raise ClaimInvalid({"token": _("This confirmation is not valid: please confirm the "
                                       "claim again.")})
    return claim


def _snapshot(submission: Submission, catalogue) -> dict:
    problem = submission.problem
    trade = catalogue.trade(problem.trade)

    def text(value):
        return None if value is None else {"fr": value.fr, "en": value.en}

    return {"place": text(submission.place.label), "equipment": text(submission.equipment.label),
            "problem": text(problem.label), "trade": text(trade.label),
            "safety": text(problem.safety_advice)}


def file_claim(filer: User, *, place_id, equipment_id, problem_id, description, answers,
               idempotency_token, photos: Sequence = (), channel=None, person_id=None,
               dwelling_id=None, building_id=None, entrance_id=None,
               catalogue=None) -> Claim:
    """File a claim for ``filer`` and acknowledge it; commit. Returns the claim.

    Checks everything first (:class:`ClaimInvalid` lists every problem, nothing written):
    the problem belongs to the equipment and the equipment to the place, per the catalogue in
    force; the description is not empty and at most 5,000 characters; the answers; the
    location the filer may report on (see :func:`plugins.claims.filing.resolve_location`);
    at most 5 photos, each one a real image (core.attachments).

    Then writes in one transaction: the claim with its reference and the catalogue's wording,
    who pays, the legal reference, the priority and the deadline as they are today; its
    photos; the ``submitted`` event; ``claim_submitted``; the automatic ``acknowledged``
    event with the acknowledgement message (when notifications are on) and
    ``claim_status_changed``. Any failure rolls all of it back, the photos' files included.

    ``idempotency_token`` comes with the confirmation the filer sends (16 to 64 letters,
    digits, ``-`` or ``_``): sent again, it returns the claim it filed the first time and
    writes nothing.
    """
    photos = prepare_photos(photos)
    existing = _existing_for_token(idempotency_token, filer)
    if existing is not None:
        return existing
    catalogue = catalogue or configured_catalogue()
    submission = check_submission(
        filer, catalogue, place_id=place_id, equipment_id=equipment_id, problem_id=problem_id,
        description=description, answers=answers, token=idempotency_token, photos=photos,
        channel=channel, person_id=person_id, dwelling_id=dwelling_id,
        building_id=building_id, entrance_id=entrance_id)
    try:
        claim = _write_claim(filer, submission, catalogue, photos)
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        # The same confirmation, filed meanwhile by a concurrent request: that claim it is.
        existing = _existing_for_token(idempotency_token, filer)
        if existing is not None:
            return existing
        raise
    except AttachmentRejected as rejected:
        db.session.rollback()
        raise ClaimInvalid({"photos": str(rejected)}) from None
    except BaseException:
        db.session.rollback()
        raise
    return claim


def prepare_photos(photos: Sequence) -> list:
    """Check and re-encode photos before any query (:func:`core.attachments.prepare_image`).

    On SQLite a request that may write holds the database's write lock from its first query
    to its commit; re-encoding a phone's photo takes a tenth of a second or more, which fifty
    tenants at once would spend in line. A list longer than :data:`MAX_PHOTOS` is returned
    as it is, for the count check to refuse it with its own message.
    """
    photos = list(photos)
    if len(photos) > MAX_PHOTOS:
        return photos
    try:
        return [photo if isinstance(photo, PreparedImage) else prepare_image(photo)
                for photo in photos]
    except AttachmentRejected as rejected:
        raise ClaimInvalid({"photos": str(rejected)}) from None


def _write_claim(filer: User, submission: Submission, catalogue, photos: list) -> Claim:
    now = utcnow()
    problem = submission.problem
    location = submission.location
    person = location.person
    claim = Claim(
        reference=allocate_reference(local_year(now)),
        person_id=person.id if person is not None else None,
        household_id=location.household_id,
        filed_by_id=filer.id,
        channel=submission.channel,
        dwelling_id=location.dwelling.id if location.dwelling is not None else None,
        entrance_id=location.entrance.id if location.entrance is not None else None,
        building_id=location.building.id,
        agency_id=location.building.residence.agency_id,
        catalogue_version=catalogue.version,
        place_id=submission.place.id,
        equipment_id=submission.equipment.id,
        problem_id=problem.id,
        wording=_snapshot(submission, catalogue),
        responsibility=problem.responsibility.value,
        legal_reference=problem.legal_reference,
        trade=problem.trade,
        priority=problem.priority.value,
        deadline_hours=problem.deadline_hours,
        video_diagnosis=problem.video_diagnosis,
        description=submission.description,
        answers=submission.answers,
        status=Status.SUBMITTED,
        due_at=claim_due_at(now, problem.deadline_hours, problem.priority.value),
        idempotency_token=submission.token,
        created_at=now,
        updated_at=now,
    )
    db.session.add(claim)
    db.session.flush()  # the id, for the photos; a replayed token fails here
    for photo in photos:
        store_image(photo, owner_type=PHOTO_OWNER_TYPE, owner_id=claim.id,
                    person_id=claim.person_id, uploaded_by=filer)
    submitted = ClaimEvent(claim=claim, from_status=None, to_status=Status.SUBMITTED, at=now,
                           actor_id=filer.id, actor_label=_actor_label(filer))
    db.session.add(submitted)
    db.session.flush()
    hook().claim_submitted(claim=claim)
    _move(claim, Status.ACKNOWLEDGED, actor=None)
    return claim


# -- changes of status -----------------------------------------------------------------------

def _lock(claim_id: int, actor: User | None) -> Claim:
    query = select(Claim).where(Claim.id == claim_id)
    if actor is not None:
        query = query.where(claims_visible_to(actor))
    claim = db.session.scalar(query.with_for_update(of=Claim)
                              .execution_options(populate_existing=True))
    if claim is None:
        raise ClaimNotFound(_("This claim does not exist."))
    return claim


def _check_actor(actor: User | None, claim: Claim, target: Status, internal_note: str) -> None:
    if actor is None:
        return  # Palier itself, a command, an import
    if actor.role is Role.TENANT:
        if target is not Status.CANCELLED:
            raise ClaimForbidden(_("Only the landlord's staff can change this claim."))
        if internal_note:
            raise ClaimForbidden(_("Only the landlord's staff can write internal notes."))
        return
    if not has_permission(actor, HANDLE_PERMISSION):
        raise ClaimForbidden(_("You are not allowed to change claims."))


def _illegal(current: Status, target: Status) -> IllegalTransition:
    if target is Status.CANCELLED and current in (Status.IN_PROGRESS, Status.RESOLVED,
                                                  Status.CLOSED):
        return IllegalTransition(_("This claim can no longer be cancelled: the work has "
                                   "started."))
    return IllegalTransition(_("This claim is “%(current)s”: it cannot become “%(target)s”.",
                               current=status_label(current), target=status_label(target)))


def check_transition(current: Status, target: Status) -> None:
    """Raise :class:`IllegalTransition` (a sentence for the user) unless the table allows
    ``current`` → ``target``."""
    if Status(target) not in TRANSITIONS[Status(current)]:
        raise _illegal(Status(current), Status(target))


def change_status(claim_id: int, to, *, actor: User | None, public_message: str = "",
                  internal_note: str = "", reason: str = "", planned_for: datetime | None = None,
                  trade: str | None = None, technician_id: int | None = None,
                  contractor: str | None = None, expected_status=None,
                  commit: bool = True) -> ClaimEvent:
    """Move a claim to status ``to`` and record who, when and why; returns the event.

    ``actor`` is the user making the change (None: Palier itself). A tenant may only cancel
    their household's claim; staff need the ``claims.handle`` permission; everyone acts only
    on the claims they may see (:func:`claims_visible_to`), others are not found.
    ``public_message`` and ``reason`` reach the tenant; ``internal_note`` stays with staff.
    Appointments and postponements need ``planned_for``; postponements and rejections a
    ``reason``. ``expected_status`` is the status the user saw: if the claim moved since,
    :class:`ClaimConflict` says so instead of applying the change on top.

    Commits unless ``commit=False`` (several changes in one transaction). On any error the
    transaction is rolled back and nothing is written; with ``commit=False`` rolling back is
    the caller's part (checks fail before anything is written, a listener's error after).
    """
    target = Status(to)
    try:
        claim = _lock(claim_id, actor)
        _check_actor(actor, claim, target, internal_note or "")
        if expected_status is not None and claim.status is not Status(expected_status):
            raise ClaimConflict(_("This claim was changed meanwhile: it is now “%(status)s”. "
                                  "Check it before changing it again.",
                                  status=status_label(claim.status)))
        check_transition(claim.status, target)
        errors: dict[str, str] = {}
        texts = {
            "public_message": clean_text(public_message, limit=MAX_MESSAGE,
                                         field="public_message", errors=errors, required=False),
            "internal_note": clean_text(internal_note, limit=MAX_NOTE, field="internal_note",
                                        errors=errors, required=False),
            "reason": clean_text(reason, limit=MAX_REASON, field="reason", errors=errors,
                                 required=target in NEEDS_REASON,
                                 label_empty=_("Please give the reason.")),
        }
        if target in NEEDS_DATE and not isinstance(planned_for, datetime):
            errors["planned_for"] = _("Please give the date.")
        assignment = _check_assignment(claim, target, trade, technician_id, contractor, errors)
        if errors:
            raise ClaimInvalid(errors)
        event = _move(claim, target, actor=actor, planned_for=planned_for,
                      assignment=assignment, **texts)
        if commit:
            db.session.commit()
        return event
    except BaseException:
        if commit:
            db.session.rollback()
        raise


def _check_assignment(claim: Claim, target: Status, trade, technician_id, contractor,
                      errors: dict) -> dict | None:
    if target is not Status.ASSIGNED:
        return None
    assignment = {"assigned_trade": trade or claim.trade, "assigned_technician_id": None,
                  "assigned_contractor": None}
    if trade is not None and trade not in {t.id for t in configured_catalogue().trades}:
        errors["trade"] = _("Choose one of the trades offered.")
    if technician_id is not None:
        technician = db.session.get(User, technician_id) \
            if isinstance(technician_id, int) else None
        if technician is None or technician.role is not Role.TECHNICIAN or not technician.active:
            errors["technician"] = _("Choose one of the technicians offered.")
        assignment["assigned_technician_id"] = technician_id
    if contractor is not None:
        assignment["assigned_contractor"] = clean_text(
            contractor, limit=200, field="contractor", errors=errors, required=False) or None
    return assignment


def _move(claim: Claim, target: Status, *, actor: User | None, public_message: str = "",
          internal_note: str = "", reason: str = "", planned_for: datetime | None = None,
          assignment: dict | None = None) -> ClaimEvent:
    """Apply a checked move: the claim, its event, the message, the hooks (no commit)."""
    now = utcnow()
    planned = _naive_utc(planned_for) if planned_for is not None else None
    event = ClaimEvent(claim=claim, from_status=claim.status, to_status=target, at=now,
                       actor_id=actor.id if actor is not None else None,
                       actor_label=_actor_label(actor), reason=reason,
                       public_message=public_message, internal_note=internal_note,
                       planned_for=planned)
    claim.status = target
    claim.updated_at = now
    if target is Status.REOPENED:  # handled again: a fresh deadline from the reopening
        claim.due_at = claim_due_at(now, claim.deadline_hours, claim.priority)
    if planned is not None:
        claim.planned_for = planned
    for name, value in (assignment or {}).items():
        setattr(claim, name, value)
    db.session.add(event)
    db.session.flush()  # the event's id names the message's event
    if target is Status.ACKNOWLEDGED:
        notices.acknowledge(claim, event)
    elif target is Status.POSTPONED:
        notices.postponed(claim, event)
    else:
        notices.status_changed(claim, event)
    caller = hook()
    caller.claim_status_changed(claim=claim, event=event)
    if target is Status.POSTPONED:
        caller.claim_postponed(claim=claim, event=event)
    return event


# -- photos added later ----------------------------------------------------------------------

def add_photos(claim_id: int, photos: Sequence, *, actor: User, commit: bool = True) -> list:
    """Add photos to a claim the actor may see, up to 5 per claim in all; commit.

    :class:`ClaimInvalid` (field ``photos``) when there would be too many or one is not an
    image; nothing is written then. With ``commit=False`` the photos join the caller's
    transaction (the tenant's added information: its text, its photos and its event together),
    and rolling back on error is the caller's part.
    """
    from core.attachments import Attachment

    photos = prepare_photos(photos)
    try:
        claim = _lock(claim_id, actor)
        if claim.erased_at is not None or not claim.status.is_open:
            raise ClaimForbidden(_("Photos can no longer be added to this claim."))
        count = db.session.scalar(select(db.func.count(Attachment.id)).where(
            Attachment.owner_type == PHOTO_OWNER_TYPE, Attachment.owner_id == claim.id))
        if count + len(photos) > MAX_PHOTOS:
            raise ClaimInvalid({"photos": _("%(num)d photos at most per claim: this one has "
                                            "%(count)d already.", num=MAX_PHOTOS,
                                            count=count)})
        stored = [store_image(photo, owner_type=PHOTO_OWNER_TYPE, owner_id=claim.id,
                              person_id=claim.person_id, uploaded_by=actor)
                  for photo in photos]
        claim.updated_at = utcnow()
        if commit:
            db.session.commit()
        return stored
    except AttachmentRejected as rejected:
        if commit:
            db.session.rollback()
        raise ClaimInvalid({"photos": str(rejected)}) from None
    except BaseException:
        if commit:
            db.session.rollback()
        raise
