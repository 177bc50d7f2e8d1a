"""Who may read which notice, asked as query filters.

A tenant's pages never load a notice and then check it: they select among the notices of the
tenant's residence, so a notice of another residence is simply not found (404).
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta

from sqlalchemy import and_, false, func, or_, select

from core.estate import Person, current_lease
from core.extensions import db
from palier_noticeboard.models import Notice

NEWEST_FIRST = (Notice.starts_on.desc(), Notice.id.desc())


def shown_on(day: date):
    """Filter: the notices shown on ``day`` (start and end days included)."""
    return and_(Notice.starts_on <= day, or_(Notice.ends_on.is_(None), Notice.ends_on >= day))


def count_shown(day: date) -> int:
    """How many notices are shown on ``day``, all residences together (staff figure)."""
    return db.session.scalar(select(func.count(Notice.id)).where(shown_on(day)))


def residence_id_of(person: Person | None, day: date) -> int | None:
    """The residence where ``person`` lives on ``day``: that of their current lease's dwelling."""
    lease = current_lease(person, day) if person is not None else None
    if lease is None:
        return None
    return lease.dwelling.entrance.building.residence_id


def readable_by(person: Person | None, day: date):
    """Filter: the notices a tenant may read on ``day``, the current ones of their residence.
    Someone who lives nowhere (no current lease) may read none."""
    residence_id = residence_id_of(person, day)
    if residence_id is None:
        return false()
    return and_(Notice.residence_id == residence_id, shown_on(day))


def count_and_titles(person: Person | None, day: date, limit: int) -> tuple[int, list[str]]:
    """How many notices ``person`` may read on ``day``, and the titles of the ``limit`` newest."""
    readable = readable_by(person, day)
    count = db.session.scalar(select(func.count(Notice.id)).where(readable))
    titles = []
    if count and limit > 0:
        titles = list(db.session.scalars(
            select(Notice.title).where(readable).order_by(*NEWEST_FIRST).limit(limit)))
    return count, titles


def published_since(person: Person | None, since: datetime, day: date) -> list[Notice]:
    """The notices of ``person``'s residence first shown between ``since`` and ``day``.

    A notice counts as published at midnight of its start day, so the first day that counts is
    ``since``'s own day only when ``since`` is midnight.
    """
    residence_id = residence_id_of(person, day)
    if residence_id is None:
        return []
    first_day = since.date() if since.time() == time.min else since.date() + timedelta(days=1)
    return list(db.session.scalars(
        select(Notice)
        .where(Notice.residence_id == residence_id, Notice.starts_on >= first_day,
               Notice.starts_on <= day)
        .order_by(*NEWEST_FIRST)))


def purge_ended_before(day: date) -> int:
    """Delete the notices whose display ended before ``day``; return how many."""
    result = db.session.execute(
        Notice.__table__.delete().where(Notice.ends_on.is_not(None), Notice.ends_on < day))
    db.session.commit()
    return result.rowcount
