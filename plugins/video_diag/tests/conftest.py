"""Fixtures of the video diagnosis tests: an app with claims and video_diag, appointments."""
from __future__ import annotations

import secrets
from datetime import timedelta

import pytest

TAP = {"place_id": "kitchen", "equipment_id": "tap", "problem_id": "tap.drips"}
ANSWERS = {"since": "this_week", "urgency": "within_days", "access": "present",
           "availability": "Mornings before 10"}


@pytest.fixture
def video_app(make_app):
    return make_app(plugins=["claims", "video_diag"], VIDEO_DIAG_GRACE_MINUTES=30)


@pytest.fixture
def make_appointment(video_app, make_tenant, make_user):
    """A claim of a new tenant and an appointment on it with ``technician`` (a new one by
    default), starting ``starts_in`` from now; returns (appointment id, tenant, technician)."""
    from core.accounts import User, utcnow
    from core.extensions import db
    from plugins.claims.workflow import file_claim
    from plugins.video_diag.models import Appointment

    def factory(starts_in=timedelta(minutes=5), length=timedelta(minutes=30), technician=None):
        tenant = make_tenant()
        technician = technician or make_user("technician")
        with video_app.app_context():
            claim = file_claim(db.session.get(User, tenant.id), **TAP,
                               description="The kitchen tap drips day and night.",
                               answers=dict(ANSWERS),
                               idempotency_token=secrets.token_urlsafe(16))
            starts = utcnow().replace(microsecond=0) + starts_in
            appointment = Appointment(claim_id=claim.id, technician_id=technician.id,
                                      starts_at=starts, ends_at=starts + length)
            db.session.add(appointment)
            db.session.commit()
            return appointment.id, tenant, technician

    return factory


@pytest.fixture
def issue(video_app):
    """Issue a link to an appointment; returns its secret."""
    from core.extensions import db
    from plugins.video_diag.links import issue_link
    from plugins.video_diag.models import Appointment

    def do_issue(appointment_id, helper_name=None):
        with video_app.app_context():
            secret = issue_link(db.session.get(Appointment, appointment_id), helper_name)
            db.session.commit()
            return secret

    return do_issue
