"""Collective incidents' pages: the agents' list and incident page (back office), and the
tenant's "join it in one tap" (portal).

Agents need ``claims.handle``; an agent sees their agency's incidents only
(:func:`plugins.claims.incidents.incidents_visible_to`), and the claims listed under an
incident go through :func:`plugins.claims.queries.claims_visible_to` as everywhere. An incident
or a claim the user may not see is not found (404).

The tenant's notice on the "What is wrong?" step comes from a template function
(``claims_known_incidents``) registered by the portal blueprint, so the guided entry's own
views need not know about incidents.
"""
from __future__ import annotations

import secrets
from datetime import timedelta
from zoneinfo import ZoneInfo

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    url_for,
)
from flask_babel import get_locale, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from wtforms import DateTimeLocalField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import Optional

from core.accounts import Role, utcnow
from core.extensions import db
from core.permissions import has_permission
from core.web.access import permission_required, tenant_required
from plugins.claims import incidents
from plugins.claims.filing import ClaimError, ClaimForbidden, ClaimInvalid
from plugins.claims.models import Claim, Incident, IncidentStatus
from plugins.claims.queries import claims_visible_to
from plugins.claims.wording import status_label
from plugins.claims.workflow import ClaimConflict, ClaimNotFound

bp = Blueprint("claims_incidents", __name__, url_prefix="/backoffice/claims/incidents",
               template_folder="../templates")
portal_bp = Blueprint("claims_incidents_portal", __name__,
                      url_prefix="/portal/claims/incidents", template_folder="../templates")

PERMISSION = incidents.HANDLE_PERMISSION
# Finished incidents stay on the list this long, for the agents to check the last ones.
RECENT_DAYS = 14

STATE_LABELS = {
    IncidentStatus.PROPOSED: _l("Proposed, to confirm"),
    IncidentStatus.CONFIRMED: _l("Confirmed, being handled"),
    IncidentStatus.DISMISSED: _l("Dismissed"),
    IncidentStatus.RESOLVED: _l("Resolved"),
    IncidentStatus.CLOSED: _l("Closed"),
}


def state_label(status) -> str:
    return str(STATE_LABELS[IncidentStatus(status)])


class ConfirmForm(FlaskForm):
    public_message = TextAreaField(_l("Message to the tenants concerned (optional)"))


class DismissForm(FlaskForm):
    reason = TextAreaField(_l("Why is it not one shared problem? (for staff)"))


class StepForm(FlaskForm):
    to = SelectField(_l("Step"), choices=[], validate_choice=False)
    public_message = TextAreaField(_l("Message to the tenants concerned (optional)"))
    planned_for = DateTimeLocalField(_l("Date and time (appointment, postponement)"),
                                     validators=[Optional()], format="%Y-%m-%dT%H:%M")
    reason = StringField(_l("Reason (postponement), read by the tenants"))
    internal_note = TextAreaField(_l("Internal note (staff only)"))


class LinkForm(FlaskForm):
    reference = StringField(_l("Reference of the claim to link (RC-…)"))


class UnlinkForm(FlaskForm):
    pass


class JoinForm(FlaskForm):
    place = HiddenField()
    token = HiddenField()


def _join_prefix(incident_id: int) -> str:
    """Each incident's join form has its own field names (and ids) on the page."""
    return f"join{incident_id}"


def _locale() -> str:
    return str(get_locale() or "fr")


def backoffice_navigation(user) -> list:
    """The back office's menu entry, for staff who handle claims."""
    from core.contributions import NavItem

    if not has_permission(user, PERMISSION):
        return []
    return [NavItem(_("Collective incidents"), url_for("claims_incidents.incidents_list"),
                    "claims_incidents.incidents_list", order=41)]


# -- back office -----------------------------------------------------------------------------

def _visible_incident(incident_id: int) -> Incident:
    incident = db.session.scalar(select(Incident).where(
        Incident.id == incident_id, incidents.incidents_visible_to(current_user)))
    if incident is None:
        abort(404)
    return incident


@bp.route("/")
@permission_required(PERMISSION)
def incidents_list():
    """Proposed incidents first (to confirm or dismiss), then those being handled, then those
    finished lately."""
    since = utcnow() - timedelta(days=RECENT_DAYS)
    rows = db.session.scalars(
        select(Incident).where(
            incidents.incidents_visible_to(current_user),
            Incident.status.in_((IncidentStatus.PROPOSED, IncidentStatus.CONFIRMED))
            | (Incident.closed_at >= since) | (Incident.status == IncidentStatus.RESOLVED))
        .order_by(Incident.status != IncidentStatus.PROPOSED,
                  Incident.status != IncidentStatus.CONFIRMED, Incident.created_at.desc())
        .limit(500)).all()
    counts = dict(db.session.execute(
        select(Claim.incident_id, func.count(Claim.id))
        .where(Claim.incident_id.in_([i.id for i in rows]), claims_visible_to(current_user))
        .group_by(Claim.incident_id)).all()) if rows else {}
    return render_template("claims/incidents/list.html", incidents=rows, counts=counts,
                           locale=_locale(), state_label=state_label,
                           status_label=status_label)


def _step_form() -> StepForm:
    form = StepForm(prefix="step")
    form.to.choices = [(s.value, status_label(s)) for s in incidents.STEPS]
    return form


def _detail(incident: Incident, *, confirm_form=None, dismiss_form=None, step_form=None,
            link_form=None, errors=(), status=200):
    claims = db.session.scalars(select(Claim).where(
        Claim.incident_id == incident.id, claims_visible_to(current_user))
        .order_by(Claim.id)).all()
    return render_template(
        "claims/incidents/detail.html", incident=incident, claims=claims, locale=_locale(),
        confirm_form=confirm_form or ConfirmForm(prefix="confirm"),
        dismiss_form=dismiss_form or DismissForm(prefix="dismiss"),
        step_form=step_form or _step_form(), link_form=link_form or LinkForm(prefix="link"),
        unlink_form=UnlinkForm(prefix="unlink"), errors=list(errors),
        state_label=state_label, status_label=status_label), status


@bp.route("/<int:incident_id>")
@permission_required(PERMISSION)
def incident_page(incident_id):
    """One incident: where, what, its claims; confirm or dismiss it, apply a step."""
    return _detail(_visible_incident(incident_id))


def _failed(incident_id: int, error: ClaimError, form, name: str):
    """The incident page again with what was wrong: 400 (404 when it or the claim is not
    found, 409 when a claim changed meanwhile)."""
    db.session.rollback()
    if isinstance(error, incidents.IncidentNotFound):
        abort(404)
    incident = _visible_incident(incident_id)
    messages = []
    if isinstance(error, ClaimInvalid) and form is not None:
        for field_name, message in error.errors.items():
            if field_name in form and field_name != "csrf_token":
                form[field_name].errors = [*form[field_name].errors, message]
            else:
                messages.append(message)
    elif isinstance(error, ClaimInvalid):
        messages.extend(error.errors.values())
    else:
        messages.append(str(error))
    status = 409 if isinstance(error, ClaimConflict) else 400
    if isinstance(error, ClaimNotFound):
        status = 404
    elif isinstance(error, ClaimForbidden):
        status = 403
    forms = {name: form} if form is not None else {}
    return _detail(incident, **forms, errors=messages, status=status)


def _actor():
    return current_user._get_current_object()


def _invalid_form(incident_id, form, name):
    return _detail(_visible_incident(incident_id), **{name: form}, status=400)


@bp.route("/<int:incident_id>/confirm", methods=["POST"])
@permission_required(PERMISSION)
def confirm(incident_id):
    form = ConfirmForm(prefix="confirm")
    if not form.validate():
        return _invalid_form(incident_id, form, "confirm_form")
    try:
        report = incidents.confirm(incident_id, _actor(), form.public_message.data)
    except ClaimError as error:
        return _failed(incident_id, error, form, "confirm_form")
    flash(ngettext("Incident confirmed: %(num)d claim told it is being handled.",
                   "Incident confirmed: %(num)d claims told it is being handled.",
                   len(report.moved)), "success")
    return redirect(url_for(".incident_page", incident_id=incident_id), code=303)


@bp.route("/<int:incident_id>/dismiss", methods=["POST"])
@permission_required(PERMISSION)
def dismiss(incident_id):
    form = DismissForm(prefix="dismiss")
    if not form.validate():
        return _invalid_form(incident_id, form, "dismiss_form")
    try:
        count = incidents.dismiss(incident_id, _actor(), form.reason.data)
    except ClaimError as error:
        return _failed(incident_id, error, form, "dismiss_form")
    flash(ngettext("Incident dismissed: %(num)d claim goes on separately.",
                   "Incident dismissed: %(num)d claims go on separately.", count), "success")
    return redirect(url_for(".incident_page", incident_id=incident_id), code=303)


@bp.route("/<int:incident_id>/step", methods=["POST"])
@permission_required(PERMISSION)
def apply_step(incident_id):
    form = _step_form()
    if not form.validate():
        return _invalid_form(incident_id, form, "step_form")
    planned = form.planned_for.data
    if planned is not None:
        planned = planned.replace(tzinfo=ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"]))
    fields = {"reason": form.reason.data or "", "internal_note": form.internal_note.data or ""}
    if planned is not None:
        fields["planned_for"] = planned
    try:
        report = incidents.apply_step(incident_id, _actor(), form.to.data,
                                      form.public_message.data or "", **fields)
    except ClaimError as error:
        return _failed(incident_id, error, form, "step_form")
    flash(ngettext("Step applied to %(num)d claim.", "Step applied to %(num)d claims.",
                   len(report.moved)), "success")
    for reference, why in report.skipped:
        flash(_("%(reference)s left as it was: %(why)s.", reference=reference, why=why),
              "info")
    return redirect(url_for(".incident_page", incident_id=incident_id), code=303)


@bp.route("/<int:incident_id>/link", methods=["POST"])
@permission_required(PERMISSION)
def link(incident_id):
    form = LinkForm(prefix="link")
    if not form.validate():
        return _invalid_form(incident_id, form, "link_form")
    reference = (form.reference.data or "").strip().upper()
    claim_id = db.session.scalar(select(Claim.id).where(
        Claim.reference == reference, claims_visible_to(current_user)))
    if claim_id is None:
        return _failed(incident_id, ClaimInvalid(
            {"reference": _("No claim of yours has this reference.")}), form, "link_form")
    try:
        incidents.link(incident_id, claim_id, _actor())
    except ClaimError as error:
        if isinstance(error, ClaimInvalid):
            error = ClaimInvalid({"reference": " ".join(error.errors.values())})
        return _failed(incident_id, error, form, "link_form")
    flash(_("Claim %(reference)s linked.", reference=reference), "success")
    return redirect(url_for(".incident_page", incident_id=incident_id), code=303)


@bp.route("/<int:incident_id>/unlink/<int:claim_id>", methods=["POST"])
@permission_required(PERMISSION)
def unlink(incident_id, claim_id):
    form = UnlinkForm(prefix="unlink")
    incident = _visible_incident(incident_id)
    claim = db.session.scalar(select(Claim).where(
        Claim.id == claim_id, Claim.incident_id == incident.id,
        claims_visible_to(current_user)))
    if claim is None:
        abort(404)
    if not form.validate():
        return _detail(incident, errors=[_("Your form has expired. Please try again.")],
                       status=400)
    reference = claim.reference
    try:
        incidents.unlink(claim_id, _actor())
    except ClaimError as error:
        return _failed(incident_id, error, None, None)
    flash(_("Claim %(reference)s taken out of the incident.", reference=reference), "success")
    return redirect(url_for(".incident_page", incident_id=incident_id), code=303)


# -- portal ----------------------------------------------------------------------------------

@portal_bp.route("/<int:incident_id>/join", methods=["POST"])
@tenant_required
def join(incident_id):
    """The tenant joins a known incident in one tap: their claim, filed and acknowledged, then
    its receipt. An incident that does not concern their home is not found."""
    from plugins.claims.views.portal import start

    user = current_user._get_current_object()
    if incidents.known_incident(user, incident_id) is None:
        abort(404)
    form = JoinForm(prefix=_join_prefix(incident_id))
    if not form.validate():
        return start(message=_("Your form has expired. Please try again."), status=400)
    try:
        claim = incidents.join(incident_id, user, idempotency_token=form.token.data,
                               place_id=form.place.data or None)
    except incidents.IncidentNotFound:
        db.session.rollback()
        abort(404)
    except ClaimError as error:
        db.session.rollback()
        return start(message=str(error), status=400)
    return redirect(url_for("claims_portal.receipt", claim_id=claim.id), code=303)


@portal_bp.app_context_processor
def incident_helpers():
    """Template functions for the tenant's pages (lazy: they query only when called)."""

    def known(equipment_id=None, place_id=None, problem_id=None) -> list[dict]:
        if not current_user.is_authenticated or current_user.role is not Role.TENANT:
            return []
        found = incidents.known_incidents_for(current_user._get_current_object(),
                                              equipment_id)
        if problem_id is not None:
            found = [incident for incident in found if incident.problem_id == problem_id]
        locale = _locale()
        return [{"incident": incident, "problem": incident.text("problem", locale),
                 "stage": status_label(incident.stage) if incident.stage else "",
                 "form": JoinForm(formdata=None, prefix=_join_prefix(incident.id),
                                  place=place_id or "", token=secrets.token_urlsafe(18))}
                for incident in found]

    def incident_of(claim):
        incident = incidents.incident_of(claim)
        if incident is None:
            return None
        return {"incident": incident, "state": state_label(incident.status),
                "stage": status_label(incident.stage) if incident.stage else ""}

    return {"claims_known_incidents": known, "claims_incident_of": incident_of}
