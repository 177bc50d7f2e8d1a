"""Tenant pages: how I want to be contacted (mes préférences de contact)."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from core.extensions import db
from core.web.access import tenant_required
from plugins.notifications.channels import registry
from plugins.notifications.forms import preferences_form
from plugins.notifications.outbox import contacts_of
from plugins.notifications.preferences import (
    InvalidChoice,
    channel_label,
    kind_choices,
    missing_contacts,
    profile_of,
    save_preferences,
)

bp = Blueprint("notifications_portal", __name__, template_folder="../templates",
               url_prefix="/portal/contact")


@bp.route("/preferences", methods=["GET", "POST"])
@tenant_required
def preferences():
    person = current_user.person
    if person is None:
        abort(404)
    contacts = contacts_of(person)
    profile = profile_of(person)
    choices = kind_choices(person, contacts, profile)
    form = preferences_form(choices, data={
        "no_smartphone": bool(profile and profile.no_smartphone),
        "visual_impairment": bool(profile and profile.visual_impairment)})
    if form.validate_on_submit():
        try:
            save_preferences(
                person, {choice.kind.name: form[choice.field_name].data for choice in choices},
                no_smartphone=form.no_smartphone.data,
                visual_impairment=form.visual_impairment.data)
        except InvalidChoice:
            # The options changed between the page and the save (a channel switched off).
            db.session.rollback()
            flash(_("The ways of contacting you have changed since the page was shown: "
                    "nothing was saved. Check your choices and save again."), "error")
            return redirect(url_for(".preferences"))
        db.session.commit()
        flash(_("Your contact preferences are saved."), "success")
        return redirect(url_for(".preferences"))
    channels = registry()
    return render_template(
        "notifications/portal/preferences.html", form=form, choices=choices,
        missing=missing_contacts(person, contacts), channel_label=channel_label,
        voice_on="voice" in channels, letter_on="letter" in channels,
        proof_kinds=[c.kind for c in choices if c.kind.needs_proof]), 400 if form.errors else 200


@bp.app_template_global("notifications_messages_about")
def _messages_about(object_type: str, object_id: int, person_id: int | None = None):
    """For the ``object_messages`` macro, on any page of any plugin."""
    from plugins.notifications.history import messages_about

    return messages_about(object_type, object_id, person_id)
