"""The plugin's pages: the tenant's noticeboard and the staff page that posts notices."""
from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from core.extensions import db
from core.web.access import staff_required, tenant_required
from palier_noticeboard.forms import NoticeForm
from palier_noticeboard.models import Notice
from palier_noticeboard.queries import NEWEST_FIRST, readable_by

# The back office lists this many notices, newest first; older ones wait for `purge`.
BACKOFFICE_LIST_LIMIT = 100

bp = Blueprint("noticeboard", __name__, template_folder="templates", static_folder="static",
               static_url_path="/noticeboard/static")


@bp.route("/portal/notices")
@tenant_required
def portal_notices():
    today = date.today()
    notices = db.session.scalars(
        select(Notice).where(readable_by(current_user.person, today)).order_by(*NEWEST_FIRST))
    return render_template("noticeboard/portal/notices.html", notices=list(notices))


@bp.route("/portal/notices/<int:notice_id>")
@tenant_required
def portal_notice(notice_id: int):
    notice = db.session.scalar(
        select(Notice).where(Notice.id == notice_id,
                             readable_by(current_user.person, date.today())))
    if notice is None:
        abort(404)
    return render_template("noticeboard/portal/notice.html", notice=notice)


@bp.route("/backoffice/notices", methods=["GET", "POST"])
@staff_required
def backoffice_notices():
    form = NoticeForm()
    if form.validate_on_submit():
        notice = Notice(residence_id=form.residence.data, title=form.title.data,
                        body=form.body.data, starts_on=form.starts_on.data,
                        ends_on=form.ends_on.data, posted_by_id=current_user.id)
        db.session.add(notice)
        db.session.commit()
        flash(_("Notice “%(title)s” posted for %(residence)s.", title=notice.title,
                residence=notice.residence.name), "success")
        return redirect(url_for(".backoffice_notices"))
    notices = db.session.scalars(
        select(Notice).options(joinedload(Notice.residence))
        .order_by(*NEWEST_FIRST).limit(BACKOFFICE_LIST_LIMIT))
    total = db.session.scalar(select(func.count(Notice.id)))
    states = {"upcoming": _("Upcoming"), "current": _("Shown"), "ended": _("Ended")}
    page = render_template("noticeboard/backoffice/notices.html", form=form,
                           notices=list(notices), total=total, today=date.today(),
                           states=states)
    return page, 400 if form.errors else 200
