"""The back office (staff): home composed from plugin widgets, and the plugins admin page."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select

from core.accounts import Role, User
from core.extensions import db
from core.mail import mailbox_messages
from core.permissions import permissions_of
from core.plugins import flatten, hook, registry
from core.staff import AccountError, create_staff_account, set_active, set_agency
from core.web.access import admin_required, permission_required, staff_required
from core.web.forms import EmptyForm, StaffAccountForm, StaffAgencyForm

bp = Blueprint("backoffice", __name__, url_prefix="/backoffice")


@bp.route("/")
@staff_required
def home():
    widgets = flatten(hook().backoffice_widgets(user=current_user))
    widgets.sort(key=lambda widget: (widget.order, widget.title))
    return render_template("backoffice/home.html", widgets=widgets)


def plugin_routes(app, info) -> list[str]:
    """The URL rules served by a plugin's blueprints."""
    prefixes = tuple(name + "." for name in info.blueprints)
    return sorted(rule.rule for rule in app.url_map.iter_rules()
                  if rule.endpoint.startswith(prefixes))


@bp.route("/admin/plugins")
@admin_required
def plugins():
    reg = registry()
    rows = [(info, plugin_routes(current_app, info))
            for info in sorted(reg.plugins.values(), key=lambda i: (i.source != "core", i.name))]
    return render_template("backoffice/admin/plugins.html", rows=rows,
                           namespaces=sorted(n.namespace for n in
                                             current_app.extensions["palier.namespaces"]),
                           realtime_mode=current_app.config["SOCKETIO_ASYNC_MODE"],
                           permissions=sorted(permissions_of().values(), key=lambda p: p.name))


@bp.route("/admin/mailbox")
@permission_required("core.read_mailbox")
def mailbox():
    """Mail kept locally when no relay is configured (development, or a relay to set up)."""
    return render_template("backoffice/admin/mailbox.html", messages=mailbox_messages(),
                           relay=current_app.config.get("MAIL_SERVER"))


@bp.route("/admin/users", methods=["GET", "POST"])
@permission_required("core.manage_accounts")
def users():
    """Accounts: the staff list, and a form to create a staff account (invitation by mail)."""
    form = StaffAccountForm(may_create_admins=current_user.role is Role.ADMIN)
    status = 200
    if form.validate_on_submit():
        try:
            user, link, mailed = create_staff_account(form.email.data, form.display_name.data,
                                                      Role(form.role.data),
                                                      agency_id=form.agency.data)
        except AccountError as error:
            form.email.errors.append(str(error))
            status = 400
        else:
            if mailed:
                flash(_("Account created for %(name)s: an invitation to choose a password was "
                        "sent to %(email)s.", name=user.display_name, email=user.email),
                      "success")
            else:
                flash(_("Account created for %(name)s, but the invitation could not be sent. "
                        "Give them this link, valid seven days: %(link)s",
                        name=user.display_name, link=link), "error")
            return redirect(url_for("backoffice.users"))
    elif form.errors:
        status = 400
    accounts = db.session.scalars(
        select(User).where(User.role != Role.TENANT).order_by(User.display_name)).all()
    tenants = db.session.scalar(select(func.count(User.id)).where(User.role == Role.TENANT))
    return render_template("backoffice/admin/users.html", form=form, accounts=accounts,
                           tenants=tenants, toggle=EmptyForm(),
                           agency_form=StaffAgencyForm()), status


@bp.route("/admin/users/<int:user_id>/agency", methods=["POST"])
@permission_required("core.manage_accounts")
def set_user_agency(user_id: int):
    """Attach a staff account to an agency (what it may see follows at its next request)."""
    form = StaffAgencyForm()
    user = db.session.get(User, user_id)
    if user is None or user.role is Role.TENANT:
        abort(404)
    if user.role is Role.ADMIN and current_user.role is not Role.ADMIN:
        abort(403)
    if not form.validate_on_submit():
        flash(_("Choose an agency from the list."), "error")
        return redirect(url_for("backoffice.users")), 303
    try:
        set_agency(user, form.agency.data)
    except AccountError as error:
        flash(str(error), "error")
        return redirect(url_for("backoffice.users")), 303
    db.session.commit()
    flash(_("%(name)s now works for: %(agency)s.", name=user.display_name,
            agency=user.agency.name if user.agency else _("the whole landlord")), "success")
    return redirect(url_for("backoffice.users"))


@bp.route("/admin/users/<int:user_id>/active", methods=["POST"])
@permission_required("core.manage_accounts")
def toggle_user(user_id: int):
    """Disable an account (its sessions end) or enable it again."""
    form = EmptyForm()
    user = db.session.get(User, user_id)
    if user is None or user.role is Role.TENANT:
        abort(404)
    if user.role is Role.ADMIN and current_user.role is not Role.ADMIN:
        abort(403)  # only an administrator disables another one
    if form.validate_on_submit():
        if user.id == current_user.id:
            flash(_("You cannot disable your own account."), "error")
        else:
            set_active(user, not user.active)
            db.session.commit()
            flash((_("%(name)s can log in again.") if user.active else
                   _("%(name)s is disabled and logged out everywhere.")) % {
                       "name": user.display_name}, "success")
    return redirect(url_for("backoffice.users"))
