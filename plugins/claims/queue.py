"""The agents' queue (file des réclamations): filters, sorting and one page of claims.

Every query starts from :func:`plugins.claims.queries.visible_claims`, so a filter can only
narrow what the user may see. Each filter maps to a column of ``claims_claim`` and the sorts
follow its indexes (agency, status, deadline; agency, filing time): with a million claims the
first page of an agency's open claims by deadline reads a few index entries, not the table.
Pages are cut with ``LIMIT n + 1`` (is there a next page?) rather than a ``COUNT(*)`` over
the whole queue.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from sqlalchemy import Select, and_, case, func, select, tuple_
from sqlalchemy.orm import aliased

from core.accounts import Role, User, utcnow
from core.estate import Building, Dwelling
from core.extensions import db
from plugins.claims.models import Claim, ClaimEvent, EventKind, Status
from plugins.claims.queries import visible_claims

OPEN_STATUSES = tuple(status for status in Status if status.is_open)

# name → the ORDER BY of that sort; the id breaks ties so pages never overlap.
SORTS = {
    "due": (Claim.due_at.asc(), Claim.id.asc()),
    "-due": (Claim.due_at.desc(), Claim.id.desc()),
    "created": (Claim.created_at.asc(), Claim.id.asc()),
    "-created": (Claim.created_at.desc(), Claim.id.desc()),
}
DEFAULT_SORT = "due"
PAGE_SIZE = 50


@dataclass(frozen=True)
class QueueFilters:
    """What an agent asked to see. Empty values do not filter.

    ``statuses`` empty means the open ones (neither closed, rejected nor cancelled);
    ``min_age_days`` keeps claims filed at least that many days ago; ``breached`` keeps open
    claims past their deadline; ``reference`` finds one claim by its reference.
    """

    statuses: tuple[Status, ...] = ()
    agency_id: int | None = None
    building_id: int | None = None
    trade: str | None = None
    responsibility: str | None = None
    min_age_days: int | None = None
    breached: bool = False
    in_incident: bool | None = None
    reference: str = ""
    extra: dict = field(default_factory=dict, compare=False)


def _few_claims(condition, statuses):
    """``condition`` on the claims' status, told to SQLite's planner as rare when it keeps
    only open statuses.

    SQLite's statistics (``ANALYZE`` without STAT4) give the average number of claims per
    status, not that a handful of them are open among a million closed ones: left alone, it
    reads the whole table for a queue across agencies (a manager's) rather than the (status,
    deadline) index. ``likelihood()`` says how rare they are; other databases keep the plain
    condition (PostgreSQL's statistics know the statuses' frequencies).
    """
    if db.engine.dialect.name != "sqlite" or not all(status.is_open for status in statuses):
        return condition
    from sqlalchemy import func, literal_column

    return func.likelihood(condition, literal_column("0.05"))


def queue_select(user, filters: QueueFilters = QueueFilters(), sort: str = DEFAULT_SORT,
                 now: datetime | None = None) -> Select:
    """``SELECT`` of the claims ``user`` may see that match ``filters``, sorted by ``sort``."""
    now = now or utcnow()
    query = visible_claims(user)
    if filters.reference:
        return query.where(Claim.reference == filters.reference.strip().upper())
    statuses = filters.statuses or OPEN_STATUSES
    if filters.breached:
        statuses = tuple(status for status in statuses if status.deadline_runs)
        query = query.where(Claim.due_at < now)
    query = query.where(_few_claims(Claim.status.in_(statuses), statuses))
    if filters.agency_id is not None:
        query = query.where(Claim.agency_id == filters.agency_id)
    if filters.building_id is not None:
        query = query.where(Claim.building_id == filters.building_id)
    if filters.trade:
        query = query.where(Claim.trade == filters.trade)
    if filters.responsibility:
        query = query.where(Claim.responsibility == filters.responsibility)
    if filters.min_age_days:
        query = query.where(Claim.created_at <= now - timedelta(days=filters.min_age_days))
    if filters.in_incident is True:
        query = query.where(Claim.incident_id.is_not(None))
    elif filters.in_incident is False:
        query = query.where(Claim.incident_id.is_(None))
    return query.order_by(*SORTS.get(sort, SORTS[DEFAULT_SORT]))


def queue_page(user, filters: QueueFilters = QueueFilters(), sort: str = DEFAULT_SORT,
               page: int = 1, per_page: int = PAGE_SIZE,
               now: datetime | None = None) -> tuple[list[Claim], bool]:
    """One page of the queue (1-based) and whether another follows."""
    page = max(1, page)
    rows = db.session.scalars(queue_select(user, filters, sort, now)
                              .limit(per_page + 1).offset((page - 1) * per_page)).all()
    return rows[:per_page], len(rows) > per_page


# -- what the queue's page and its export show ------------------------------------------------

@dataclass(frozen=True)
class QueueRow:
    """A claim of the queue with the names its row shows, read in the same query."""

    claim: Claim
    building: str
    dwelling: str | None
    assignee: str | None
    # The household added information (text, photos) since staff last acted on the claim.
    news: bool = False

    def breached(self, now: datetime) -> bool:
        return is_breached(self.claim, now)


def is_breached(claim: Claim, now: datetime) -> bool:
    """Past its deadline while it still runs (not once resolved or closed)."""
    return claim.status.deadline_runs and claim.due_at < now


def _detailed(query: Select) -> Select:
    """``query`` with the building's name, the dwelling's reference and the technician's name
    joined (by primary key: one index look-up per row of the page, never a scan)."""
    technician = aliased(User)
    return (query.outerjoin(Building, Building.id == Claim.building_id)
            .outerjoin(Dwelling, Dwelling.id == Claim.dwelling_id)
            .outerjoin(technician, technician.id == Claim.assigned_technician_id)
            .add_columns(Building.name, Dwelling.reference, technician.display_name))


def _row(row) -> QueueRow:
    claim, building, dwelling, assignee = row
    return QueueRow(claim, building or "", dwelling,
                    assignee or claim.assigned_contractor or None)


def queue_rows(user, filters: QueueFilters = QueueFilters(), sort: str = DEFAULT_SORT,
               page: int = 1, per_page: int = PAGE_SIZE,
               now: datetime | None = None) -> tuple[list[QueueRow], bool]:
    """:func:`queue_page` with what each row shows (building, dwelling, assignee).

    The page's ids are chosen first, from ``claims_claim`` and its indexes alone; only those
    rows are then read whole and joined to their names. Joining before cutting the page
    would read and join every matching claim (thousands for an agency) to show fifty.
    """
    page = max(1, page)
    sort = sort if sort in SORTS else DEFAULT_SORT
    chosen = (queue_select(user, filters, sort, now).with_only_columns(Claim.id)
              .limit(per_page + 1).offset((page - 1) * per_page).subquery())
    rows = db.session.execute(_detailed(select(Claim).join(chosen, chosen.c.id == Claim.id))
                              .order_by(*SORTS[sort])).all()
    shown = [_row(row) for row in rows[:per_page]]
    fresh = with_news([row.claim.id for row in shown])
    return [replace(row, news=row.claim.id in fresh) for row in shown], len(rows) > per_page


def with_news(claim_ids: list[int]) -> set[int]:
    """Those of ``claim_ids`` whose household added information since staff last acted (a
    status change, a message, a note or a who-pays review by a member of staff): one grouped
    query over the events of the page's claims."""
    if not claim_ids:
        return set()
    added = func.max(case((ClaimEvent.kind == EventKind.INFORMATION, ClaimEvent.id)))
    handled = func.max(case((and_(ClaimEvent.kind.not_in((EventKind.INFORMATION,
                                                          EventKind.RATING)),
                                  User.role != Role.TENANT), ClaimEvent.id)))
    rows = db.session.execute(select(ClaimEvent.claim_id, added, handled)
                              .outerjoin(User, User.id == ClaimEvent.actor_id)
                              .where(ClaimEvent.claim_id.in_(claim_ids))
                              .group_by(ClaimEvent.claim_id)).all()
    return {claim_id for claim_id, last_added, last_handled in rows
            if last_added is not None and (last_handled is None or last_added > last_handled)}


# sort → the column its pages follow, and whether it runs downwards.
_SORT_KEYS = {"due": (Claim.due_at, False), "-due": (Claim.due_at, True),
              "created": (Claim.created_at, False), "-created": (Claim.created_at, True)}


def export_select(user, filters: QueueFilters = QueueFilters(), sort: str = DEFAULT_SORT,
                  now: datetime | None = None) -> Select:
    """Every claim of the queue with what its row shows, for :func:`export_batch`. Built at
    the call with what ``user`` may see then; executable later, in another session."""
    sort = sort if sort in SORTS else DEFAULT_SORT
    return _detailed(queue_select(user, filters, sort, now).order_by(None)
                     .order_by(*SORTS[sort]))


def export_batch(query: Select, sort: str, after: tuple | None,
                 size: int = 500) -> list[QueueRow]:
    """The next ``size`` rows of an export after the row whose (sort column, id) is ``after``
    (None: the first rows). Keyset pages: each batch reads a few index entries from where the
    last one stopped, in a short transaction of its own, however long the export."""
    column, descending = _SORT_KEYS.get(sort, _SORT_KEYS[DEFAULT_SORT])
    if after is not None:
        key = tuple_(column, Claim.id)
        query = query.where(key < tuple_(*after) if descending else key > tuple_(*after))
    return [_row(row) for row in db.session.execute(query.limit(size))]


def sort_key(row: QueueRow, sort: str) -> tuple:
    """``after`` for :func:`export_batch`: where the row stands in the sort."""
    claim = row.claim
    column = "due_at" if sort.lstrip("-") == "due" else "created_at"
    return getattr(claim, column), claim.id
