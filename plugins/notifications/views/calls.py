"""Staff pages: the call list of the phone channel, where agents see who to call, why and
what to say, and record what each call gave."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import format_datetime
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from core.extensions import db
from core.web.access import permission_required
from plugins.notifications.channels.phone import (
    CallAlreadyRecorded,
    calls_later,
    calls_to_make,
    record_outcome,
)
from plugins.notifications.forms import CallOutcomeForm
from plugins.notifications.history import status_label
from plugins.notifications.models import Message, Status
from plugins.notifications.preferences import channel_label

bp = Blueprint("notifications_calls", __name__, template_folder="../templates",
               url_prefix="/backoffice/notifications/calls")


def confirmation(message, fallback) -> str:
    """What the agent is told once the outcome is recorded."""
    name = message.recipient_name or message.address
    if message.status is Status.DELIVERED:
        return _("Recorded: %(name)s got the message.", name=name)
    if message.status is Status.QUEUED:
        return _("Recorded: no answer from %(name)s. The call comes back on the list on "
                 "%(when)s.", name=name, when=format_datetime(message.not_before, "short"))
    if fallback is not None:
        return _("Recorded: %(name)s could not be reached by phone. The message goes by "
                 "%(channel)s instead.", name=name, channel=channel_label(fallback.channel))
    return _("Recorded: %(name)s could not be reached by phone, and there is no other way to "
             "reach them: the message is among those not sent.", name=name)


def outcome_form(message, **kwargs) -> CallOutcomeForm:
    """The outcome form of one call (its fields prefixed, several forms share the page)."""
    return CallOutcomeForm(prefix=f"call{message.id}", attempt=message.attempts, **kwargs)


@bp.route("")
@permission_required("notifications.call")
def calls():
    todo = calls_to_make()
    return render_template("notifications/backoffice/calls.html", calls=todo,
                           forms={message.id: outcome_form(message) for message in todo},
                           later=calls_later())


@bp.route("/<int:message_id>/outcome", methods=["POST"])
@permission_required("notifications.call")
def outcome(message_id: int):
    message = db.session.get(Message, message_id)
    if message is None or message.channel != "phone":
        abort(404)
    form = CallOutcomeForm(prefix=f"call{message_id}")
    # (A missing CSRF token never gets here: the app's CSRF check answers first.)
    if not form.validate_on_submit():
        flash(_("Choose what happened before recording the call to %(name)s.",
                name=message.recipient_name or message.address), "error")
        return redirect(url_for(".calls"))
    try:
        record_outcome(message_id, form.outcome.data, form.attempt.data,
                       current_user.display_name)
    except CallAlreadyRecorded as already:
        name, state = already.message.recipient_name, status_label(already.message.status)
        db.session.rollback()
        flash(_("Someone recorded this call to %(name)s before you: it is now “%(state)s”. "
                "Nothing was changed.", name=name, state=state), "error")
        return redirect(url_for(".calls"))
    fallback = db.session.scalar(select(Message).where(Message.fallback_of_id == message_id))
    text = confirmation(message, fallback)
    db.session.commit()
    flash(text, "success")
    return redirect(url_for(".calls"))
