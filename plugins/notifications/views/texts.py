"""Administrators' pages: the message texts (edit, preview, test, restore the default) and a
test message on any channel."""
from __future__ import annotations

import uuid

from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import delete, select
from wtforms import SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from core import audit
from core.contributions import CHANNEL_LABELS
from core.extensions import db
from core.web.access import permission_required
from plugins.notifications.channels import registry
from plugins.notifications.kinds import COMMON_VARIABLES, LONG_CHANNELS, LONG_VARIABLES, kinds
from plugins.notifications.models import TemplateText
from plugins.notifications.outbox import notify, typed_address
from plugins.notifications.texts import (
    TemplateProblem,
    allowed_context,
    render_source,
    source_of,
)

bp = Blueprint("notifications_texts", __name__, template_folder="../templates",
               url_prefix="/backoffice/notifications")


class TextForm(FlaskForm):
    subject = StringField(_l("Subject"), validators=[Optional(), Length(max=300)])
    body = TextAreaField(_l("Text"), validators=[
        DataRequired(_l("Write the text of the message.")), Length(max=20000)])
    test_address = StringField(_l("Send a test to"), validators=[Optional(), Length(max=400)])
    preview = SubmitField(_l("Preview"))
    save = SubmitField(_l("Save"))
    send_test = SubmitField(_l("Send a test"))
    restore = SubmitField(_l("Restore the default text"))


def _kind_or_404(name: str):
    kind = kinds().get(name)
    if kind is None:
        abort(404)
    return kind


def _editable_channels(kind) -> list[str]:
    return [name for name in kind.channels if name in registry()]


def variables_of(kind, channel: str) -> dict:
    """The variables a text may use, with what they hold (shown beside the editor)."""
    documented = dict(COMMON_VARIABLES)
    if channel in LONG_CHANNELS:
        documented.update(LONG_VARIABLES)
        documented.update(kind.variables)
    return documented


def sample_context(kind) -> dict:
    return {"recipient_name": "Mme Camille Martin", **kind.sample}


@bp.route("/texts")
@permission_required("notifications.edit_texts")
def texts():
    edited = {(t.kind, t.channel, t.locale): t for t in db.session.scalars(select(TemplateText))}
    rows = [(kind, _editable_channels(kind))
            for kind in sorted(kinds().values(), key=lambda k: k.name)]
    return render_template("notifications/backoffice/texts.html", rows=rows, edited=edited,
                           languages=current_app.config["LANGUAGES"])


@bp.route("/texts/<kind_name>/<channel>/<locale>", methods=["GET", "POST"])
@permission_required("notifications.edit_texts")
def edit_text(kind_name: str, channel: str, locale: str):
    kind = _kind_or_404(kind_name)
    if channel not in _editable_channels(kind) or locale not in current_app.config["LANGUAGES"]:
        abort(404)
    form = TextForm()
    long_text = channel in LONG_CHANNELS
    edited = db.session.scalar(select(TemplateText).where(
        TemplateText.kind == kind.name, TemplateText.channel == channel,
        TemplateText.locale == locale))
    if not form.is_submitted():
        try:
            form.subject.data, form.body.data = source_of(kind, channel, locale)
        except TemplateProblem:
            form.subject.data, form.body.data = "", ""
    preview = problem = None
    if form.validate_on_submit():
        if form.restore.data:
            db.session.execute(delete(TemplateText).where(
                TemplateText.kind == kind.name, TemplateText.channel == channel,
                TemplateText.locale == locale))
            audit.record("notifications.text_restored",
                         detail={"kind": kind.name, "channel": channel, "locale": locale})
            db.session.commit()
            flash(_("The default text is back in use."), "success")
            return redirect(url_for(".edit_text", kind_name=kind.name, channel=channel,
                                    locale=locale))
        subject = (form.subject.data or "") if long_text else ""
        try:
            preview = render_source(subject, form.body.data,
                                    allowed_context(kind, channel, sample_context(kind)))
        except TemplateProblem as error:
            problem = _("This text cannot be used: %(error)s. Use only the variables listed "
                        "beside the editor, written like {{ landlord }}.", error=str(error))
        if problem is None and form.save.data:
            if edited is None:
                edited = TemplateText(kind=kind.name, channel=channel, locale=locale)
                db.session.add(edited)
            edited.subject, edited.body = subject, form.body.data
            edited.updated_by_id = current_user.id
            audit.record("notifications.text_edited",
                         detail={"kind": kind.name, "channel": channel, "locale": locale})
            db.session.commit()
            flash(_("Text saved: it is used for the next messages."), "success")
            return redirect(url_for(".edit_text", kind_name=kind.name, channel=channel,
                                    locale=locale))
        if problem is None and form.send_test.data:
            address = (form.test_address.data or "").strip()
            if not address:
                form.test_address.errors = [_("Give an address to send the test to.")]
            elif edited is None or (edited.subject, edited.body) != (subject, form.body.data):
                form.test_address.errors = [_("Save the text first: the test sends the saved "
                                              "text, as tenants would receive it.")]
            else:
                [message] = notify(None, kind.name, sample_context(kind),
                                   event=f"text-test:{uuid.uuid4().hex}", channel=channel,
                                   address=typed_address(channel, address), locale=locale,
                                   urgent=True)
                audit.record("notifications.test_sent", obj=message,
                             detail={"kind": kind.name, "channel": channel})
                db.session.commit()
                flash(_("Test queued: follow it below."), "success")
                return redirect(url_for("notifications.message", message_id=message.id))
    return render_template(
        "notifications/backoffice/text_edit.html", kind=kind, channel=channel, locale=locale,
        form=form, long_text=long_text, preview=preview, problem=problem, edited=edited,
        variables=variables_of(kind, channel))


class TestSendForm(FlaskForm):
    channel = SelectField(_l("Channel"), validators=[DataRequired()])
    address = StringField(_l("Address"), validators=[
        DataRequired(_l("Give the e-mail address, the number or the postal address.")),
        Length(max=400)])


@bp.route("/test", methods=["GET", "POST"])
@permission_required("notifications.send_test")
def send_test():
    form = TestSendForm()
    form.channel.choices = [(name, str(CHANNEL_LABELS.get(name, name)))
                            for name in registry().enabled]
    if form.validate_on_submit():
        address = typed_address(form.channel.data, form.address.data)
        [message] = notify(None, "notifications.test", {"sent_by": current_user.display_name},
                           event=f"test:{uuid.uuid4().hex}", channel=form.channel.data,
                           address=address, urgent=True)
        audit.record("notifications.test_sent", obj=message,
                     detail={"kind": "notifications.test", "channel": form.channel.data})
        db.session.commit()
        flash(_("Test queued: follow it below."), "success")
        return redirect(url_for("notifications.message", message_id=message.id))
    return render_template("notifications/backoffice/test_send.html", form=form)
