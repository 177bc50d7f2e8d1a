"""The demo landlord comes with claims at every step, loaded once however often it is run."""
from __future__ import annotations

from datetime import date

from sqlalchemy import func, select

from core.accounts import User
from core.demo import DEMO_DOMAIN, load_demo
from core.extensions import db
from plugins.claims.models import Claim, Status
from plugins.claims.queries import visible_claims
from plugins.claims.queue import queue_page


def test_the_demo_has_claims_for_every_page(make_app):
    app = make_app(plugins=["notifications", "claims"])
    with app.app_context():
        load_demo(today=date.today())
        total = db.session.scalar(select(func.count(Claim.id)))
        load_demo(today=date.today())
        assert db.session.scalar(select(func.count(Claim.id))) == total >= 25

        tenant = User.by_email(f"locataire@{DEMO_DOMAIN}")
        own = db.session.scalars(visible_claims(tenant)).all()
        assert sorted(claim.status.value for claim in own) == ["assigned", "resolved"]

        agent = User.by_email(f"agent@{DEMO_DOMAIN}")
        assert agent.agency_id is not None
        first_page, _more = queue_page(agent)
        assert first_page and all(claim.status.is_open for claim in first_page)
        statuses = set(db.session.scalars(select(Claim.status)))
        assert {Status.ACKNOWLEDGED, Status.IN_PROGRESS, Status.RESOLVED,
                Status.CLOSED, Status.POSTPONED} <= statuses
        # "No heating" from three homes of one entrance.
        assert db.session.scalar(
            select(func.count(func.distinct(Claim.dwelling_id)))
            .where(Claim.problem_id == "radiator.no_heating")
            .group_by(Claim.entrance_id)) == 3
