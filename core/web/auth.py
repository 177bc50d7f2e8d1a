"""Logging in and out."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from core import audit
from core.accounts import User, dummy_password_check, normalise_email
from core.extensions import db
from core.web.access import login_only, public
from core.web.forms import LoginForm, LogoutForm

bp = Blueprint("auth", __name__)


def home_url_for(user) -> str:
    """Where a user lands after logging in: the portal or the back office."""
    return url_for("backoffice.home") if user.is_staff else url_for("portal.home")


def safe_next(target: str | None) -> str | None:
    """Only same-site relative paths may be followed after login."""
    if not target or "\\" in target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


@bp.route("/login", methods=["GET", "POST"])
@public
def login():
    if current_user.is_authenticated:
        return redirect(home_url_for(current_user))
    form = LoginForm()
    if request.method == "GET":
        form.next.data = request.args.get("next", "")
        return render_template("auth/login.html", form=form)
    if not form.validate():
        return render_template("auth/login.html", form=form), 400
    user = User.by_email(form.email.data)
    # Every attempt costs one password hash, so that the time taken says nothing of whether
    # the account exists, is disabled or has no password yet (invited).
    if user is None or not user.password_hash:
        dummy_password_check()
        accepted = False
    else:
        accepted = user.check_password(form.password.data) and user.active
    if accepted:
        login_user(user, remember=form.remember.data)
        audit.record("login", obj=user)
        db.session.commit()  # with a rehashed password, if any
        return redirect(safe_next(form.next.data) or home_url_for(user))
    # The address tried is kept, never the password.
    audit.record("login_failed", obj=user,
                 detail={"email": normalise_email(form.email.data)})
    db.session.commit()
    flash(_("Wrong e-mail address or password."), "error")
    return render_template("auth/login.html", form=form), 401


@bp.route("/logout", methods=["POST"])
@login_only
def logout():
    form = LogoutForm()
    if form.validate_on_submit():
        # Ends this session and every other one of the account (remember-me cookies too).
        current_user.end_all_sessions()
        audit.record("logout", obj=current_user._get_current_object())
        db.session.commit()
        logout_user()
        flash(_("You are logged out."), "info")
    return redirect(url_for("auth.login"))
