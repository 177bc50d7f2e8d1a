"""Account pages: a tenant's self-activation, forgotten password, password change."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_user
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from core.account_tokens import (
    check_activation_code,
    claim,
    find_link_token,
    issue_activation_code,
    issue_link_token,
    public_url,
    revoke_links,
)
from core.accounts import AccountToken, Role, TokenPurpose, User, normalise_email, utcnow
from core.estate import Building, Dwelling, Entrance, Lease, Person, Residence
from core.extensions import db
from core.mail import MailNotSent, send_mail
from core.web.access import login_only, public
from core.web.auth import home_url_for
from core.web.forms import (
    ActivationCodeForm,
    ActivationForm,
    ChangePasswordForm,
    ForgotPasswordForm,
    ResetPasswordForm,
)

bp = Blueprint("account", __name__)
MAIL_FAILED = _l("We could not send the e-mail just now. Please try again in a few minutes.")
_ACTIVATION = "palier_activation"


def _form_page(template: str, form, status: int = 200, **context):
    return render_template(template, form=form, **context), status


def _lease_holder(lease_reference: str, postcode: str, email: str) -> Person | None:
    """The member of the household holding this lease, in a dwelling of this postcode, whose
    e-mail address the landlord knows to be ``email``.

    A lease reference is printed on paper and a postcode is public: only the address the
    landlord already has proves who asks. A household whose address the landlord does not know
    is activated by an agent, not by self-service.
    """
    lease_id = db.session.scalar(
        select(Lease.id)
        .join(Dwelling, Dwelling.id == Lease.dwelling_id)
        .join(Entrance, Entrance.id == Dwelling.entrance_id)
        .join(Building, Building.id == Entrance.building_id)
        .join(Residence, Residence.id == Building.residence_id)
        .where(func.upper(Lease.reference) == lease_reference.strip().upper(),
               Residence.postcode == postcode.strip()))
    if lease_id is None:
        return None
    members = db.session.scalars(
        select(Person).join(Lease, Lease.household_id == Person.household_id)
        .where(Lease.id == lease_id).order_by(Person.id)).all()
    return next((p for p in members if p.email and normalise_email(p.email) == email), None)


@bp.route("/activate", methods=["GET", "POST"])
@public
def activate():
    """Step 1: lease reference, postcode and e-mail; a code goes to that address."""
    if current_user.is_authenticated:
        return redirect(home_url_for(current_user))
    form = ActivationForm()
    if not form.validate_on_submit():
        return _form_page("account/activate.html", form, 400 if form.errors else 200)
    email = normalise_email(form.email.data)
    person = _lease_holder(form.lease_reference.data, form.postcode.data, email)
    if person is None:
        # One answer for every mismatch: nobody learns which references exist.
        form.lease_reference.errors.append(_(
            "This lease reference, postcode and e-mail address do not match what your landlord "
            "knows. Check the reference and postcode on your rent notice (avis d’échéance) and "
            "use the e-mail address you gave your landlord; if you gave none, contact your "
            "landlord."))
        return _form_page("account/activate.html", form, 400)
    if db.session.scalar(select(User.id).where(User.person_id == person.id)) is not None:
        form.lease_reference.errors.append(_(
            "An account already exists for this lease. Log in, or use “Forgotten password”."))
        return _form_page("account/activate.html", form, 400)
    if User.by_email(email) is not None:
        form.email.errors.append(_("This e-mail address is already used by another account."))
        return _form_page("account/activate.html", form, 400)
    token, code, nonce = issue_activation_code(person.id, email)
    db.session.commit()
    try:
        send_mail(email, _l("Your activation code"), "activation_code", code=code,
                  name=person.first_name, url=public_url("account.activate_code"))
    except MailNotSent:
        form.email.errors.append(_(MAIL_FAILED))
        return _form_page("account/activate.html", form, 503)
    session[_ACTIVATION] = {"token": token.id, "nonce": nonce}
    flash(_("A six-digit code was sent to %(email)s. It is valid for 30 minutes.",
            email=email), "info")
    return redirect(url_for("account.activate_code"))


@bp.route("/activate/code", methods=["GET", "POST"])
@public
def activate_code():
    """Step 2: the code from the mail and a password; the account is created, logged in."""
    pending = session.get(_ACTIVATION) or {}
    token = db.session.get(AccountToken, pending.get("token") or 0)
    if token is None or token.purpose is not TokenPurpose.ACTIVATION:
        flash(_("Start by entering your lease reference."), "info")
        return redirect(url_for("account.activate"))
    form = ActivationCodeForm()
    if not form.validate_on_submit():
        return _form_page("account/activate_code.html", form, 400 if form.errors else 200,
                          email=token.email)
    if not token.usable(utcnow()):
        form.code.errors.append(_("This code has expired or was already used: ask for a new "
                                  "one."))
        return _form_page("account/activate_code.html", form, 400, email=token.email)
    if not check_activation_code(token, pending.get("nonce", ""), form.code.data):
        db.session.commit()  # the failed attempt counts
        form.code.errors.append(_("This code is not the one we sent. Check the last e-mail "
                                  "received, or ask for a new code."))
        return _form_page("account/activate_code.html", form, 400, email=token.email)
    person = db.session.get(Person, token.person_id)
    taken = db.session.scalar(select(User.id).where(
        (User.person_id == person.id) | (User.email == token.email)))
    if taken is not None or not claim(token):
        db.session.rollback()
        form.code.errors.append(_("This code has expired or was already used: ask for a new "
                                  "one."))
        return _form_page("account/activate_code.html", form, 400, email=token.email)
    user = User(email=token.email, display_name=f"{person.first_name} {person.last_name}",
                role=Role.TENANT, person_id=person.id)
    user.set_password(form.password.data)
    db.session.add(user)
    try:
        db.session.commit()
    except IntegrityError:  # the same person activated from another browser meanwhile
        db.session.rollback()
        form.code.errors.append(_("An account already exists for this lease. Log in, or use "
                                  "“Forgotten password”."))
        return _form_page("account/activate_code.html", form, 400, email=token.email)
    session.pop(_ACTIVATION, None)
    login_user(user)
    flash(_("Your account is ready. Welcome!"), "success")
    return redirect(url_for("portal.home"))


@bp.route("/password/forgot", methods=["GET", "POST"])
@public
def forgot_password():
    """A reset link goes to the address if an account has it; the answer is the same anyway."""
    form = ForgotPasswordForm()
    if not form.validate_on_submit():
        return _form_page("account/forgot.html", form, 400 if form.errors else 200)
    user = User.by_email(form.email.data)
    if user is not None and user.active:
        _token, secret = issue_link_token(TokenPurpose.RESET, user)
        db.session.commit()
        try:
            send_mail(user.email, _l("Choose a new password"), "password_reset",
                      locale=user.locale, name=user.display_name,
                      url=public_url("account.reset_password", secret=secret))
        except MailNotSent:
            form.email.errors.append(_(MAIL_FAILED))
            return _form_page("account/forgot.html", form, 503)
    return render_template("account/forgot_sent.html", email=normalise_email(form.email.data))


@bp.route("/password/reset/<secret>", methods=["GET", "POST"])
@public
def reset_password(secret: str):
    """Choose a password from a reset or invitation link; every other session ends."""
    token = find_link_token(secret)
    user = db.session.get(User, token.user_id) if token is not None else None
    if user is None or not user.active:
        return render_template("account/link_expired.html"), 400
    form = ResetPasswordForm()
    if not form.validate_on_submit():
        return _form_page("account/reset.html", form, 400 if form.errors else 200,
                          invitation=token.purpose is TokenPurpose.INVITATION)
    if not claim(token):  # used meanwhile, from another tab or device
        db.session.rollback()
        return render_template("account/link_expired.html"), 400
    user.set_password(form.password.data)
    user.end_all_sessions()
    revoke_links(user.id)
    db.session.commit()
    flash(_("Your password is saved. You can log in."), "success")
    return redirect(url_for("auth.login"))


@bp.route("/account/password", methods=["GET", "POST"])
@login_only
def change_password():
    """Change one's password: this session goes on, every other one ends."""
    form = ChangePasswordForm()
    if not form.validate_on_submit():
        return _form_page("account/password.html", form, 400 if form.errors else 200)
    if not current_user.check_password(form.current_password.data):
        form.current_password.errors.append(_("This is not your current password."))
        return _form_page("account/password.html", form, 400)
    user = current_user._get_current_object()
    user.set_password(form.password.data)
    user.end_all_sessions()
    revoke_links(user.id)
    db.session.commit()
    login_user(user)  # this session, with the new session version
    flash(_("Your password is changed. Your other devices are logged out."), "success")
    return redirect(home_url_for(user))
