"""Pages open to everyone: the root redirect, the language switch and the health check."""
from __future__ import annotations

from flask import Blueprint, jsonify, redirect, render_template, session, url_for
from flask_login import current_user
from sqlalchemy import text

from core.extensions import db
from core.web.access import public
from core.web.auth import home_url_for, safe_next
from core.web.forms import LanguageForm

bp = Blueprint("public", __name__)


@bp.route("/")
@public
def index():
    if current_user.is_authenticated:
        return redirect(home_url_for(current_user))
    return redirect(url_for("auth.login"))


@bp.route("/language", methods=["POST"])
@public
def set_language():
    form = LanguageForm()
    if form.validate_on_submit():
        session["lang"] = form.lang.data
        if current_user.is_authenticated:
            current_user.locale = form.lang.data
            db.session.commit()
    return redirect(safe_next(form.next.data) or url_for("public.index"))


@bp.route("/health")
@public
def health():
    """For load balancers and monitoring: the process answers and the database too."""
    db.session.execute(text("SELECT 1"))
    return jsonify(status="ok")


@bp.route("/accessibility")
@public
def accessibility():
    """The accessibility statement (déclaration d'accessibilité)."""
    return render_template("accessibility.html")
