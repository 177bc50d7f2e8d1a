"""The tenant portal (espace locataire): home and timeline, composed from plugin hooks."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from flask import Blueprint, Response, abort, render_template, request
from flask_login import current_user

from core.db import writes
from core.estate import current_lease
from core.extensions import db
from core.personal_data import export_person
from core.plugins import flatten, hook
from core.web.access import tenant_required

bp = Blueprint("portal", __name__, url_prefix="/portal")

TIMELINE_PERIODS = {"90": 90, "365": 365, "all": None}


@bp.route("/")
@tenant_required
def home():
    cards = flatten(hook().portal_cards(user=current_user))
    cards.sort(key=lambda card: (card.order, card.title))
    return render_template("portal/home.html", cards=cards)


@bp.route("/home")
@tenant_required
def dwelling():
    """The tenant's dwelling and lease (mon logement)."""
    lease = current_lease(current_user.person_id, date.today()) if current_user.person_id else None
    return render_template("portal/dwelling.html", lease=lease)


@bp.route("/timeline")
@tenant_required
def timeline():
    period = request.args.get("period", "365")
    if period not in TIMELINE_PERIODS:
        period = "365"
    days = TIMELINE_PERIODS[period]
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    since = now - timedelta(days=days) if days else datetime(1900, 1, 1)
    person = current_user.person
    entries = []
    if person is not None:
        entries = flatten(hook().timeline_entries(person=person, since=since))
        entries = [entry for entry in entries if entry.when >= since]
        entries.sort(key=lambda entry: entry.when, reverse=True)
    return render_template("portal/timeline.html", entries=entries, period=period,
                           periods=TIMELINE_PERIODS)


@bp.route("/my-data")
@tenant_required
def my_data():
    """What the landlord keeps about the tenant, and the button to download it."""
    return render_template("portal/my_data.html")


@bp.route("/my-data/download")
@tenant_required
@writes
def download_my_data():
    """A zip of everything about the tenant: a JSON file and their files (RGPD, art. 15 and 20).
    The download is recorded in the audit log."""
    person = current_user.person
    if person is None:
        abort(404)
    archive = export_person(person)
    db.session.commit()
    return Response(archive, mimetype="application/zip", headers={
        "Content-Disposition": 'attachment; filename="mes-donnees.zip"',
        "Cache-Control": "no-store"})
