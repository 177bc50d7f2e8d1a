"""The agents' queue reads indexes, not the claims table, once the planner knows the data.

A few thousand claims over 20 agencies and 200 buildings (mostly closed, as in real life),
``ANALYZE``, then the plans of the queue's hot queries as the page runs them (a page of 50
rows): an agent's open claims by deadline, the breached ones, one building's. None may read the
whole ``claims_claim`` table: no ``SCAN claims_claim`` without an index on SQLite, no ``Seq
Scan on claims_claim`` on PostgreSQL. ``bench/claims.py`` prints the same plans with a million
claims.
"""
from __future__ import annotations

from datetime import timedelta

import pytest

from core.accounts import User, utcnow
from core.extensions import db
from plugins.claims.models import Status
from plugins.claims.queue import QueueFilters
from plugins.claims.tests.queue_data import (
    analyze,
    claims_scans,
    explain,
    indexes_used,
    page_statement,
    seed_claims,
    seed_estate,
)

CLAIMS = 6000


@pytest.fixture
def seeded(claims_app, make_user):
    with claims_app.app_context():
        estate = seed_estate(agencies=20, buildings=200, dwellings_per_building=3)
        seed_claims(estate, CLAIMS, years=3)
        analyze()
        db.session.remove()
    agency = estate.agencies[3]
    agent = make_user("agent", agency_id=agency)
    manager = make_user("manager")
    return claims_app, estate, agency, agent, manager


def plans(app, user_id, cases):
    with app.app_context():
        user = db.session.get(User, user_id)
        now = utcnow()
        found = {name: explain(page_statement(user, filters, sort, now=now))
                 for name, (filters, sort) in cases.items()}
        db.session.remove()
    return found


def test_the_hot_queries_of_the_queue_use_indexes(seeded):
    app, estate, agency, agent, manager = seeded
    building = estate.buildings_by_agency[agency][0]
    agent_cases = {
        "open claims by deadline": (QueueFilters(), "due"),
        "breached": (QueueFilters(breached=True), "due"),
        "one building": (QueueFilters(building_id=building), "due"),
    }
    manager_cases = {
        "open claims by deadline (manager)": (QueueFilters(), "due"),
        "breached (manager)": (QueueFilters(breached=True), "due"),
        "one building (manager)": (QueueFilters(building_id=building), "due"),
    }
    found = {**plans(app, agent.id, agent_cases), **plans(app, manager.id, manager_cases)}
    report = "\n".join(f"{name}:\n  " + "\n  ".join(plan) for name, plan in found.items())
    for name, plan in found.items():
        assert not claims_scans(plan), f"{name} reads the whole claims table:\n{report}"
        assert any(index.startswith("ix_claims_claim") for index in indexes_used(plan)), \
            f"{name} uses no index of claims_claim:\n{report}"


def test_the_seeded_history_looks_like_a_landlords(seeded):
    """Most claims closed, the open ones recent, some past their deadline: the plans above are
    made for data of that shape."""
    from sqlalchemy import func, select

    from plugins.claims.models import Claim
    from plugins.claims.queue import OPEN_STATUSES

    app = seeded[0]
    with app.app_context():
        total = db.session.scalar(select(func.count(Claim.id)))
        open_ = db.session.scalar(select(func.count(Claim.id)).where(
            Claim.status.in_(OPEN_STATUSES)))
        closed = db.session.scalar(select(func.count(Claim.id)).where(
            Claim.status == Status.CLOSED))
        oldest = db.session.scalar(select(func.min(Claim.created_at)))
        db.session.remove()
    assert total == CLAIMS
    assert closed > 0.75 * total and 0.01 * total < open_ < 0.1 * total
    assert utcnow() - oldest > timedelta(days=3 * 365 - 2)
