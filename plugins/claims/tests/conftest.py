"""Fixtures of the claims tests: apps with and without notifications, a claim factory."""
from __future__ import annotations

import secrets

import pytest

# A leaking tap: the tenant's to repair (décret 87-712), in the kitchen.
TAP = {"place_id": "kitchen", "equipment_id": "tap", "problem_id": "tap.drips"}
# The lift out of order: common parts, a maintenance contract.
LIFT = {"place_id": "lift", "equipment_id": "lift", "problem_id": "lift.out_of_order"}
ANSWERS = {"since": "this_week", "urgency": "within_days", "access": "present",
           "availability": "Mornings before 10"}


def token() -> str:
    return secrets.token_urlsafe(16)


@pytest.fixture
def claims_app(make_app):
    """Claims without notifications."""
    return make_app(plugins=["claims"])


@pytest.fixture
def notified_app(make_app, smtp_server):
    """Claims with notifications; mail goes to a real loopback SMTP server."""
    return make_app(plugins=["notifications", "claims"], MAIL_SERVER=smtp_server.host,
                    MAIL_PORT=smtp_server.port, NOTIFICATIONS_CHANNELS=["mail"])


@pytest.fixture
def file(app_under_test):
    """File a claim as ``user`` (a detached User) in the last app built; returns the claim's
    id. Keyword arguments override the defaults (a dripping tap in the tenant's kitchen)."""
    from core.accounts import User
    from core.extensions import db
    from plugins.claims.workflow import file_claim

    def do_file(user, **fields):
        values = {**TAP, "description": "The kitchen tap drips day and night.",
                  "answers": dict(ANSWERS), "idempotency_token": token(), **fields}
        with app_under_test().app_context():
            claim = file_claim(db.session.get(User, user.id), **values)
            return claim.id

    return do_file


@pytest.fixture
def move(app_under_test):
    """Change a claim's status as ``user`` (None: Palier itself); returns the event's id."""
    from core.accounts import User
    from core.extensions import db
    from plugins.claims.workflow import change_status

    def do_move(claim_id, to, user=None, **fields):
        with app_under_test().app_context():
            actor = db.session.get(User, user.id) if user is not None else None
            return change_status(claim_id, to, actor=actor, **fields).id

    return do_move


def run_worker(app):
    from plugins.notifications.worker import Worker

    return Worker(app, name="test-worker", poll_seconds=0).run(until_idle=True)
