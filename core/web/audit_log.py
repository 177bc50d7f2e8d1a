"""The audit log's search page, for administrators (journal d'audit)."""
from __future__ import annotations

from datetime import datetime, time, timedelta, timezone

from flask import Blueprint, render_template, request
from flask_babel import get_timezone
from sqlalchemy import select

from core.accounts import normalise_email
from core.audit import AuditEvent, action_labels
from core.extensions import db
from core.web.access import permission_required
from core.web.forms import AuditSearchForm

bp = Blueprint("audit_log", __name__, url_prefix="/backoffice/admin/audit")

PAGE_SIZE = 50


def _utc(day, end_of_day: bool = False) -> datetime:
    """The UTC instant a day starts (or the next day starts) where the landlord is."""
    if end_of_day:
        day = day + timedelta(days=1)
    local = datetime.combine(day, time.min, tzinfo=get_timezone())
    return local.astimezone(timezone.utc).replace(tzinfo=None)


def search_events(form: AuditSearchForm, page: int, page_size: int = PAGE_SIZE):
    """One page of the events matching the form, newest first, and whether more follow."""
    query = select(AuditEvent).order_by(AuditEvent.seq.desc())
    if form.actor.data:
        query = query.where(AuditEvent.actor_label.icontains(normalise_email(form.actor.data),
                                                             autoescape=True))
    if form.action.data:
        query = query.where(AuditEvent.action == form.action.data.strip())
    if form.object_type.data:
        query = query.where(AuditEvent.object_type == form.object_type.data.strip())
    if form.object_id.data:
        query = query.where(AuditEvent.object_id == form.object_id.data.strip())
    if form.person.data:
        query = query.where(AuditEvent.person_id == int(form.person.data))
    if form.start.data:
        query = query.where(AuditEvent.occurred_at >= _utc(form.start.data))
    if form.end.data:
        query = query.where(AuditEvent.occurred_at < _utc(form.end.data, end_of_day=True))
    rows = list(db.session.scalars(query.limit(page_size + 1).offset((page - 1) * page_size)))
    return rows[:page_size], len(rows) > page_size


@bp.route("")
@permission_required("core.read_audit_log")
def search():
    """Search the audit log: by actor, action, object, person and dates; newest first."""
    form = AuditSearchForm(request.args)
    if not form.validate():
        return render_template("backoffice/admin/audit.html", form=form, events=[],
                               page=1, more=False, actions=action_labels()), 400
    page = form.page.data or 1
    events, more = search_events(form, page)
    filters = {key: value for key, value in request.args.items() if key != "page" and value}
    return render_template("backoffice/admin/audit.html", form=form, events=events, page=page,
                           more=more, filters=filters, actions=action_labels())
