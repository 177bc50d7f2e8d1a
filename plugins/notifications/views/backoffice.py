"""Staff pages: the delivery log (every message and its history) and the dead letters, with a
retry button."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select

from core import audit
from core.contributions import CHANNEL_LABELS
from core.extensions import db
from core.web.access import permission_required
from core.web.forms import EmptyForm
from plugins.notifications.channels import registry
from plugins.notifications.history import kind_label, status_label
from plugins.notifications.models import Message, Status
from plugins.notifications.worker import retry_from_dead_letter

bp = Blueprint("notifications", __name__, template_folder="../templates",
               url_prefix="/backoffice/notifications")

PAGE_SIZE = 50


@bp.app_template_filter("message_status")
def _message_status(status) -> str:
    return status_label(status)


@bp.app_template_filter("channel_label")
def _channel_label(name) -> str:
    return str(CHANNEL_LABELS.get(name, name))


@bp.app_template_filter("message_kind")
def _message_kind(name) -> str:
    return kind_label(name)


@bp.route("")
@permission_required("notifications.read_log")
def log():
    status = request.args.get("status", "")
    channel = request.args.get("channel", "")
    page = max(request.args.get("page", 1, type=int), 1)
    query = select(Message)
    if status in {s.value for s in Status}:
        query = query.where(Message.status == Status(status))
    if channel:
        query = query.where(Message.channel == channel)
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    messages = db.session.scalars(
        query.order_by(Message.id.desc()).limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)).all()
    dead = db.session.scalar(select(func.count(Message.id)).where(
        Message.status == Status.FAILED))
    return render_template(
        "notifications/backoffice/log.html", messages=messages, total=total, page=page,
        pages=max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1), status=status, channel=channel,
        statuses=list(Status), channels=sorted(registry().classes), dead=dead)


@bp.route("/<int:message_id>")
@permission_required("notifications.read_log")
def message(message_id: int):
    found = db.session.get(Message, message_id)
    if found is None:
        abort(404)
    return render_template("notifications/backoffice/message.html", message=found,
                           form=EmptyForm(), can_retry=found.status in (
                               Status.FAILED, Status.BOUNCED))


@bp.route("/<int:message_id>/retry", methods=["POST"])
@permission_required("notifications.retry")
def retry(message_id: int):
    form = EmptyForm()
    found = db.session.get(Message, message_id, with_for_update=True)
    if found is None:
        abort(404)
    if not form.validate_on_submit():
        flash(_("Your form has expired. Please try again."), "error")
    elif found.status not in (Status.FAILED, Status.BOUNCED):
        flash(_("This message is no longer a dead letter: nothing to retry."), "error")
    else:
        retry_from_dead_letter(found, current_user.display_name)
        audit.record("notifications.retry", obj=found, person_id=found.person_id,
                     detail={"channel": found.channel, "kind": found.kind})
        db.session.commit()
        flash(_("The message is queued again; the worker sends it within moments."),
              "success")
    return redirect(url_for(".message", message_id=message_id))
