"""Collective incidents (incidents collectifs): one problem shared by the claims of an entrance
or a building, handled once and told to every household concerned.

Detection, at filing (``claim_submitted``, inside the filing transaction): the new claim is
compared with the claims still to be handled (not resolved, closed, rejected or cancelled) of
the same equipment and problem, in the same entrance (in the same building when the new claim
names no entrance, e.g. common parts reported by a caretaker for the whole building), filed
within ``CLAIMS_INCIDENT_WINDOW_HOURS``. If an open incident (proposed or confirmed) already
covers that problem and place, the claim is linked to it; otherwise, when the new claim and
the look-alike claims not yet in an incident come from ``CLAIMS_INCIDENT_MIN_CLAIMS``
households or more (the new claim's included), a *proposed* incident is created with all of
them. A claim an agent took out of an incident
(unlinked, or its incident dismissed) is not grouped again automatically: the agent said it was
not the same problem; they can still link it by hand.

Concurrency: detection first locks the building's row (``SELECT ... FOR UPDATE``; on SQLite
the write transaction already holds the database's write lock), and so do every change made
to an incident here: two claims filed at once in one entrance are looked at one after the
other, and the second sees the first and its incident (PostgreSQL's *read committed*: each
statement sees what was committed before it started). Locks are always taken in the same
order (the claims' reference counter when filing, then the building, then the incident, then
the claims), so they cannot deadlock.

An agent then confirms the incident (its claims become *qualified*, and each tenant is told,
with the agent's public message) or dismisses it (its claims are unlinked and go on alone).
Each step applied to a confirmed incident (:func:`apply_step`) is applied to every open
claim linked to it by :func:`plugins.claims.workflow.change_status`, so each tenant hears
about it on their channel, exactly as for a claim of their own.
"""
from __future__ import annotations

from collections import deque
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import date, timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import and_, exists, false, or_, select, true

from core.accounts import Role, User, utcnow
from core.estate import Building, CaretakerAssignment, current_lease
from core.extensions import db
from core.permissions import has_permission
from plugins.claims.filing import (
    ClaimError,
    ClaimForbidden,
    ClaimInvalid,
    clean_text,
    configured_catalogue,
)
from plugins.claims.models import (
    Claim,
    ClaimEvent,
    EventKind,
    Incident,
    IncidentStatus,
    Status,
)
from plugins.claims.workflow import (
    ClaimConflict,
    ClaimNotFound,
    _actor_label,
    change_status,
    file_claim,
    local_year,
    next_number,
)
from plugins.claims.workflow import _lock as lock_claim

__all__ = [
    "STEPS", "IncidentNotFound", "StepReport", "apply_step", "confirm", "detect",
    "dismiss", "incidents_visible_to", "join", "known_incidents_for", "link", "unlink",
]

DEFAULT_WINDOW_HOURS = 72
DEFAULT_MIN_CLAIMS = 2
# Incident references share the claims' counter table: the row of year Y numbers the claims
# (RC-Y-…), the row INCIDENT_COUNTER_BASE + Y the incidents (IC-Y-…). No schema change, and
# each sequence has its own row lock.
INCIDENT_COUNTER_BASE = 100_000
MAX_REASON = 500
HANDLE_PERMISSION = "claims.handle"

S = Status
# Claims still to be handled: the ones a new claim is grouped with.
TO_HANDLE = (S.SUBMITTED, S.ACKNOWLEDGED, S.QUALIFIED, S.REOPENED, S.ASSIGNED,
             S.APPOINTMENT_PLANNED, S.POSTPONED, S.IN_PROGRESS)
# The steps an agent applies to a confirmed incident, in their usual order.
STEPS = (S.QUALIFIED, S.ASSIGNED, S.APPOINTMENT_PLANNED, S.IN_PROGRESS, S.POSTPONED,
         S.RESOLVED, S.CLOSED)
# Moves a linked claim may make to catch up with the incident (never a rejection or a
# cancellation, which are each tenant's own business; never a postponement on the way).
_CATCH_UP = {
    S.SUBMITTED: (S.ACKNOWLEDGED,),
    S.ACKNOWLEDGED: (S.QUALIFIED,),
    S.QUALIFIED: (S.ASSIGNED,),
    S.REOPENED: (S.ASSIGNED,),
    S.ASSIGNED: (S.IN_PROGRESS, S.APPOINTMENT_PLANNED, S.POSTPONED),
    S.APPOINTMENT_PLANNED: (S.IN_PROGRESS, S.POSTPONED),
    S.POSTPONED: (S.IN_PROGRESS, S.APPOINTMENT_PLANNED, S.POSTPONED),
    S.IN_PROGRESS: (S.RESOLVED, S.POSTPONED),
    S.RESOLVED: (S.CLOSED,),
}

# Set by join(): the incident the claim being filed is meant for.
_joining: ContextVar[int | None] = ContextVar("claims_incident_joining", default=None)


class IncidentNotFound(ClaimError):
    """No such incident, or not one the user may see (the same answer: a 404)."""


@dataclass
class StepReport:
    """What a step did: the claims moved (by reference) and those left as they were, with why."""

    moved: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)


def _setting(name: str, default: int) -> int:
    try:
        value = int(current_app.config.get(name, default))
    except (TypeError, ValueError):
        return default
    return max(value, 0)


# -- who sees which incidents ---------------------------------------------------------------

def incidents_visible_to(user):
    """An SQLAlchemy criterion on :class:`Incident`, as :func:`claims_visible_to` is on claims:
    agents their agency's (all of them without an agency), caretakers their buildings',
    managers and administrators all; nobody else (tenants learn of incidents through
    :func:`known_incidents_for`)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return false()
    role = user.role
    if role is Role.AGENT:
        return Incident.agency_id == user.agency_id if user.agency_id is not None else true()
    if role is Role.CARETAKER:
        return Incident.building_id.in_(select(CaretakerAssignment.building_id).where(
            CaretakerAssignment.user_id == user.id))
    if role in (Role.MANAGER, Role.ADMIN):
        return true()
    return false()


def _lock_building(building_id: int) -> None:
    db.session.execute(select(Building.id).where(Building.id == building_id).with_for_update())


def _lock_incident(incident_id, actor: User | None) -> Incident:
    """The incident, its building's row locked then its own (the lock order of this module)."""
    query = select(Incident).where(Incident.id == incident_id)
    if actor is not None:
        query = query.where(incidents_visible_to(actor))
    found = db.session.scalar(query) if isinstance(incident_id, int) else None
    if found is None:
        raise IncidentNotFound(_("This collective incident does not exist."))
    _lock_building(found.building_id)
    return db.session.scalar(select(Incident).where(Incident.id == found.id)
                             .with_for_update().execution_options(populate_existing=True))


def _check_staff(actor: User) -> None:
    if actor is None or actor.role is Role.TENANT or not has_permission(actor, HANDLE_PERMISSION):
        raise ClaimForbidden(_("You are not allowed to handle collective incidents."))


def _allocate_reference(year: int) -> str:
    """``IC-2026-000012``: the counter row ``INCIDENT_COUNTER_BASE + year``
    (:func:`plugins.claims.workflow.next_number`)."""
    return f"IC-{year}-{next_number(INCIDENT_COUNTER_BASE + year):06d}"


def _record(claim: Claim, actor: User | None, note: str) -> ClaimEvent:
    """The claim's INCIDENT event (its status unchanged); the note is for staff only."""
    event = ClaimEvent(claim=claim, kind=EventKind.INCIDENT, from_status=claim.status,
                       to_status=claim.status, at=utcnow(),
                       actor_id=actor.id if actor is not None else None,
                       actor_label=_actor_label(actor), internal_note=note)
    db.session.add(event)
    return event


def _attach(claim: Claim, incident: Incident, actor: User | None) -> None:
    claim.incident_id = incident.id
    claim.updated_at = utcnow()
    if actor is None:
        note = _("Grouped by Palier into the collective incident %(reference)s.",
                 reference=incident.reference)
    else:
        note = _("Linked to the collective incident %(reference)s.",
                 reference=incident.reference)
    _record(claim, actor, note)


def _place_filter(entrance_id: int | None, building_id: int):
    """Claims of the same place: the entrance, or the building when no entrance is named."""
    if entrance_id is not None:
        return Claim.entrance_id == entrance_id
    return Claim.building_id == building_id


# -- detection at filing --------------------------------------------------------------------

def detect(claim: Claim) -> Incident | None:
    """Link a claim being filed to its collective incident, proposing one when enough claims
    look alike; returns the incident (None: the claim stays alone). No commit: called from the
    ``claim_submitted`` hook, inside the filing transaction."""
    _lock_building(claim.building_id)
    joining = _joining.get()
    if joining is not None:
        incident = db.session.scalar(select(Incident).where(Incident.id == joining)
                                     .with_for_update())
        if incident is None or not incident.status.is_open:
            raise ClaimInvalid({"incident": _("This collective incident is already closed.")})
        _attach(claim, incident, None)
        return incident
    if not may_be_shared(claim):
        return None  # a dripping tap in two homes is two problems, not one
    incident = _open_incident_for(claim)
    if incident is not None:
        _attach(claim, incident, None)
        return incident
    since = claim.created_at - timedelta(hours=_setting("CLAIMS_INCIDENT_WINDOW_HOURS",
                                                        DEFAULT_WINDOW_HOURS))
    taken_out = exists().where(ClaimEvent.claim_id == Claim.id,
                               ClaimEvent.kind == EventKind.INCIDENT)
    alike = db.session.scalars(
        select(Claim).where(
            Claim.id != claim.id, Claim.building_id == claim.building_id,
            _place_filter(claim.entrance_id, claim.building_id),
            Claim.equipment_id == claim.equipment_id, Claim.problem_id == claim.problem_id,
            Claim.status.in_(TO_HANDLE), Claim.created_at >= since,
            Claim.incident_id.is_(None), ~taken_out)
        .order_by(Claim.id)).all()
    grouped = [*alike, claim]
    if _reporters(grouped) < max(_setting("CLAIMS_INCIDENT_MIN_CLAIMS", DEFAULT_MIN_CLAIMS), 2):
        return None
    entrances = {c.entrance_id for c in grouped}
    incident = Incident(
        reference=_allocate_reference(local_year(claim.created_at)),
        status=IncidentStatus.PROPOSED, building_id=claim.building_id,
        entrance_id=entrances.pop() if len(entrances) == 1 else None,
        agency_id=claim.agency_id, equipment_id=claim.equipment_id,
        problem_id=claim.problem_id, wording=dict(grouped[0].wording or {}),
        created_at=utcnow())
    db.session.add(incident)
    db.session.flush()
    for member in grouped:
        _attach(member, incident, None)
    return incident


def may_be_shared(claim: Claim) -> bool:
    """Whether the claim's problem may be shared by several households: any problem of the
    common parts (no dwelling), or a problem of a home the catalogue marks ``collective``
    (no heating from the building's boiler, no water, a dead entry phone)."""
    if claim.dwelling_id is None:
        return True
    try:
        problem = configured_catalogue().problem(claim.problem_id)
    except KeyError:
        return False
    return bool(problem is not None and problem.collective)


def _reporters(claims: list[Claim]) -> int:
    """How many households reported it: one household's second claim about the same problem
    is a duplicate, not a collective problem (a claim about the common parts filed for nobody
    in particular counts on its own)."""
    households = {c.household_id for c in claims if c.household_id is not None}
    return len(households) + sum(1 for c in claims if c.household_id is None)


def _open_incident_for(claim: Claim) -> Incident | None:
    """The open incident of the claim's problem and place: its entrance's, or the building's
    as a whole; for a claim naming no entrance, the building's (the oldest first)."""
    query = select(Incident).where(
        Incident.building_id == claim.building_id, Incident.equipment_id == claim.equipment_id,
        Incident.problem_id == claim.problem_id,
        Incident.status.in_((IncidentStatus.PROPOSED, IncidentStatus.CONFIRMED)))
    if claim.entrance_id is not None:
        query = query.where(or_(Incident.entrance_id == claim.entrance_id,
                                Incident.entrance_id.is_(None)))
    return db.session.scalar(query.order_by(Incident.entrance_id.is_(None), Incident.id)
                             .limit(1).with_for_update())


# -- what agents do -------------------------------------------------------------------------

def _claims_of(incident: Incident) -> list[Claim]:
    return list(db.session.scalars(select(Claim).where(Claim.incident_id == incident.id)
                                   .order_by(Claim.id)
                                   .execution_options(populate_existing=True)))


def confirm(incident_id: int, agent: User, public_message: str = "") -> StepReport:
    """Confirm a proposed incident: it is one problem, handled as one; commit.

    Its claims not yet qualified become *qualified* with ``public_message``, so each tenant is
    told the problem is known and being handled (through notifications, when enabled).
    """
    try:
        _check_staff(agent)
        incident = _lock_incident(incident_id, agent)
        if incident.status is not IncidentStatus.PROPOSED:
            raise ClaimInvalid({"incident": _("Only a proposed incident can be confirmed.")})
        errors: dict[str, str] = {}
        message = clean_text(public_message, limit=2000, field="public_message",
                             errors=errors, required=False)
        if errors:
            raise ClaimInvalid(errors)
        incident.status = IncidentStatus.CONFIRMED
        incident.confirmed_at = utcnow()
        incident.confirmed_by_id = agent.id
        incident.public_message = message
        report = _carry(incident, agent, S.QUALIFIED, message, {},
                        only_from=(S.SUBMITTED, S.ACKNOWLEDGED))
        incident.stage = S.QUALIFIED
        db.session.commit()
        return report
    except BaseException:
        db.session.rollback()
        raise


def dismiss(incident_id: int, agent: User, reason: str) -> int:
    """Dismiss an incident (not one shared problem after all): its claims are unlinked, each
    with an INCIDENT event carrying the reason (for staff), and go on alone; commit. Returns
    how many claims were unlinked."""
    try:
        _check_staff(agent)
        incident = _lock_incident(incident_id, agent)
        if not incident.status.is_open:
            raise ClaimInvalid({"incident": _("This collective incident is already closed.")})
        errors: dict[str, str] = {}
        why = clean_text(reason, limit=MAX_REASON, field="reason", errors=errors,
                         required=True, label_empty=_("Please give the reason."))
        if errors:
            raise ClaimInvalid(errors)
        claims = _claims_of(incident)
        for claim in claims:
            claim.incident_id = None
            claim.updated_at = utcnow()
            _record(claim, agent, _("Taken out of the collective incident %(reference)s, "
                                    "dismissed: %(reason)s", reference=incident.reference,
                                    reason=why))
        incident.status = IncidentStatus.DISMISSED
        incident.closed_at = utcnow()
        db.session.commit()
        return len(claims)
    except BaseException:
        db.session.rollback()
        raise


def link(incident_id: int, claim_id: int, agent: User) -> None:
    """Link a claim to an open incident by hand (an agent's judgement: the problem may be
    worded differently); the claim must be open, of the incident's building (and entrance,
    when the incident has one), and in no other incident; commit."""
    try:
        _check_staff(agent)
        incident = _lock_incident(incident_id, agent)
        if not incident.status.is_open:
            raise ClaimInvalid({"incident": _("This collective incident is already closed.")})
        claim = lock_claim(claim_id, agent)
        if claim.incident_id == incident.id:
            raise ClaimInvalid({"claim": _("This claim is already linked to this incident.")})
        if claim.incident_id is not None:
            raise ClaimInvalid({"claim": _("This claim belongs to another collective "
                                           "incident: take it out of it first.")})
        if claim.status not in TO_HANDLE:
            raise ClaimInvalid({"claim": _("This claim is no longer open.")})
        if claim.building_id != incident.building_id or (
                incident.entrance_id is not None and claim.entrance_id is not None
                and claim.entrance_id != incident.entrance_id):
            raise ClaimInvalid({"claim": _("This claim is not in the incident’s entrance or "
                                           "building.")})
        _attach(claim, incident, agent)
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise


def unlink(claim_id: int, agent: User, reason: str = "") -> None:
    """Take a claim out of its incident; it goes on alone (and is not grouped again
    automatically); commit."""
    try:
        _check_staff(agent)
        claim = db.session.scalar(select(Claim).where(Claim.id == claim_id)) \
            if isinstance(claim_id, int) else None
        if claim is None or claim.incident_id is None:
            raise ClaimNotFound(_("This claim does not exist."))
        incident = _lock_incident(claim.incident_id, agent)
        claim = lock_claim(claim_id, agent)
        if claim.incident_id != incident.id:
            raise ClaimConflict(_("This claim was changed meanwhile. Check it before "
                                  "changing it again."))
        errors: dict[str, str] = {}
        why = clean_text(reason, limit=MAX_REASON, field="reason", errors=errors,
                         required=False)
        if errors:
            raise ClaimInvalid(errors)
        claim.incident_id = None
        claim.updated_at = utcnow()
        note = _("Taken out of the collective incident %(reference)s.",
                 reference=incident.reference)
        _record(claim, agent, f"{note} {why}".strip())
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise


def _path(start: Status, target: Status) -> list[Status] | None:
    """The shortest catch-up path from ``start`` to ``target`` (``[]``: already there;
    None: out of reach by forward moves)."""
    if start is target:
        return []
    seen = {start}
    queue = deque([(start, [])])
    while queue:
        status, path = queue.popleft()
        for following in _CATCH_UP.get(status, ()):
            if following is target:
                return [*path, following]
            # A postponement or an appointment only as the last move.
            if following in seen or following in (S.POSTPONED, S.APPOINTMENT_PLANNED):
                continue
            seen.add(following)
            queue.append((following, [*path, following]))
    return None


def _carry(incident: Incident, agent: User, target: Status, public_message: str,
           fields: dict, only_from=None) -> StepReport:
    """Move each open linked claim to ``target`` (no commit).

    A claim behind the incident catches up through the intermediate statuses (each a real
    change its tenant hears about; the public message goes with the last one); a claim that
    cannot get there by forward moves (handled separately and already further on, or in
    another branch) is left as it is and reported. The first move that fails its own checks
    (a missing date, a text too long) fails the whole step: the same checks would fail for
    every claim.
    """
    report = StepReport()
    for claim in _claims_of(incident):
        if claim.status not in TO_HANDLE and claim.status is not S.RESOLVED:
            report.skipped.append((claim.reference, _("no longer open")))
            continue
        if only_from is not None and claim.status not in only_from:
            report.skipped.append((claim.reference, _("already further on")))
            continue
        path = _path(claim.status, target)
        if path is None:
            report.skipped.append((claim.reference, _("cannot make this move from its "
                                                      "current status")))
            continue
        if not path:
            report.skipped.append((claim.reference, _("already at this step")))
            continue
        for status in path:
            last = status is target
            change_status(claim.id, status, actor=agent, commit=False,
                          public_message=public_message if last else "",
                          **(fields if last else {}))
        report.moved.append(claim.reference)
    return report


def apply_step(incident_id: int, agent: User, to, public_message: str = "",
               **fields) -> StepReport:
    """Apply a step (assigned, appointment planned, in progress, postponed, resolved,
    closed...) to a confirmed incident and every open claim linked to it; commit.

    ``fields`` are :func:`plugins.claims.workflow.change_status`'s (``planned_for``,
    ``reason``, ``internal_note``, ``trade``, ``contractor``...). All of it is one transaction:
    a move that fails its checks leaves nothing written; claims that cannot make the move are
    left alone and listed in the :class:`StepReport`. Resolving or closing the incident
    resolves or closes its claims; a closed incident is finished.
    """
    try:
        target = Status(to)
    except ValueError:
        target = None
    try:
        _check_staff(agent)
        if target not in STEPS:
            raise ClaimInvalid({"to": _("Choose one of the steps offered.")})
        incident = _lock_incident(incident_id, agent)
        if incident.status is IncidentStatus.PROPOSED:
            raise ClaimInvalid({"incident": _("Confirm the incident before applying a step "
                                              "to it.")})
        if incident.status is IncidentStatus.RESOLVED and target is not S.CLOSED:
            raise ClaimInvalid({"incident": _("This incident is resolved: it can only be "
                                              "closed.")})
        if not incident.status.is_open and incident.status is not IncidentStatus.RESOLVED:
            raise ClaimInvalid({"incident": _("This collective incident is already closed.")})
        report = _carry(incident, agent, target, public_message or "", fields)
        if not report.moved:
            raise ClaimInvalid({"to": _("No claim of this incident can make this move.")})
        incident.stage = target
        if (public_message or "").strip():
            incident.public_message = public_message.strip()
        if target is S.RESOLVED:
            incident.status = IncidentStatus.RESOLVED
        elif target is S.CLOSED:
            incident.status = IncidentStatus.CLOSED
            incident.closed_at = utcnow()
        db.session.commit()
        return report
    except BaseException:
        db.session.rollback()
        raise


# -- what tenants see -----------------------------------------------------------------------

def _tenant_place(tenant: User, today: date | None = None):
    """(building id, entrance id) of the tenant's current home, or None."""
    if tenant is None or tenant.role is not Role.TENANT or tenant.person_id is None:
        return None
    lease = current_lease(tenant.person_id, today or date.today())
    if lease is None:
        return None
    entrance = lease.dwelling.entrance
    return entrance.building_id, entrance.id


def _concerning(place) -> object:
    building_id, entrance_id = place
    return and_(Incident.building_id == building_id,
                or_(Incident.entrance_id == entrance_id, Incident.entrance_id.is_(None)))


def known_incidents_for(tenant: User, equipment_id: str | None = None) -> list[Incident]:
    """The confirmed incidents of the tenant's entrance or building (of one equipment, when
    given): the problems the landlord already knows about, for the portal."""
    place = _tenant_place(tenant)
    if place is None:
        return []
    query = select(Incident).where(Incident.status == IncidentStatus.CONFIRMED,
                                   _concerning(place))
    if equipment_id is not None:
        query = query.where(Incident.equipment_id == equipment_id)
    return list(db.session.scalars(query.order_by(Incident.id)))


def known_incident(tenant: User, incident_id) -> Incident | None:
    """One confirmed incident concerning the tenant's home, or None (a 404)."""
    if not isinstance(incident_id, int):
        return None
    place = _tenant_place(tenant)
    if place is None:
        return None
    return db.session.scalar(select(Incident).where(
        Incident.id == incident_id, Incident.status == IncidentStatus.CONFIRMED,
        _concerning(place)))


def join(incident_id: int, tenant: User, *, idempotency_token: str, place_id: str | None = None,
         description: str | None = None, answers: dict | None = None) -> Claim:
    """File the tenant's claim for a known incident in one tap; commit; returns the claim.

    The claim has the incident's equipment and problem, the place the tenant chose (else the
    first claim's), a default description ("Also affected: ..."), and is linked to the
    incident in the filing transaction; it is acknowledged as usual. An incident that does
    not concern the tenant's home is not found (:class:`IncidentNotFound`).
    """
    incident = known_incident(tenant, incident_id)
    if incident is None:
        raise IncidentNotFound(_("This collective incident does not exist."))
    catalogue = configured_catalogue()
    try:
        equipment = catalogue.equipment_item(incident.equipment_id)
    except KeyError:
        equipment = None
    if equipment is None or place_id not in equipment.places:
        place_id = db.session.scalar(select(Claim.place_id).where(
            Claim.incident_id == incident.id).order_by(Claim.id).limit(1))
    if description is None:
        from flask_babel import force_locale

        # The tenant's words, in the tenant's language (the staff read it as the tenant's).
        locale = tenant.locale or current_app.config["BABEL_DEFAULT_LOCALE"]
        with force_locale(locale):
            description = _("Also affected: %(problem)s (collective incident %(reference)s).",
                            problem=incident.text("problem", locale),
                            reference=incident.reference)
    marker = _joining.set(incident.id)
    try:
        return file_claim(tenant, place_id=place_id, equipment_id=incident.equipment_id,
                          problem_id=incident.problem_id, description=description,
                          answers=answers or {"since": "today", "urgency": "cannot_wait"},
                          idempotency_token=idempotency_token)
    finally:
        _joining.reset(marker)


def incident_of(claim: Claim) -> Incident | None:
    """The incident a tenant may read about on their claim's page: confirmed, resolved or
    closed (a proposal or a dismissed one is staff business)."""
    if claim is None or claim.incident_id is None:
        return None
    return db.session.scalar(select(Incident).where(
        Incident.id == claim.incident_id,
        Incident.status.in_((IncidentStatus.CONFIRMED, IncidentStatus.RESOLVED,
                             IncidentStatus.CLOSED))))
