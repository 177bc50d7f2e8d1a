"""Staff pages of letters: the daily print batches, and downloading one to print.

Downloading records who took the batch and when (on the batch, and in the audit log): the
letters of a day are printed and posted by whoever downloaded them.
"""
from __future__ import annotations

from flask import Blueprint, abort, current_app, render_template, send_file
from flask_login import current_user
from sqlalchemy import select

from core import audit
from core.accounts import User, utcnow
from core.extensions import db
from core.web.access import permission_required
from plugins.notifications.letters import batches_with_counts, letters_folder
from plugins.notifications.models import PrintBatch

bp = Blueprint("notifications_letters", __name__, template_folder="../templates",
               url_prefix="/backoffice/notifications/letters")

# The batch is a download, never a page: nothing in it may run in the browser.
DOWNLOAD_CSP = "default-src 'none'; frame-ancestors 'none'; sandbox"


@bp.route("")
@permission_required("notifications.print_letters")
def batches():
    rows = batches_with_counts()
    downloaders = {user.id: user.display_name for user in db.session.scalars(
        select(User).where(User.id.in_(
            {batch.downloaded_by_id for batch, _ in rows if batch.downloaded_by_id})))}
    return render_template("notifications/backoffice/letters.html", rows=rows,
                           downloaders=downloaders)


@bp.route("/<int:batch_id>/download")
@permission_required("notifications.print_letters")
def download(batch_id: int):
    batch = db.session.get(PrintBatch, batch_id, with_for_update=True)
    if batch is None or not batch.filename:
        abort(404)
    path = letters_folder() / batch.filename
    if not path.is_file():
        current_app.logger.error("Print batch %s has no file at %s", batch.id, path)
        abort(404)
    batch.downloaded_at = utcnow()
    batch.downloaded_by_id = current_user.id
    audit.record("notifications.print_batch_downloaded", obj=batch,
                 detail={"day": batch.day.isoformat(), "letters": batch.letters,
                         "pages": batch.pages})
    db.session.commit()
    response = send_file(path, mimetype="application/pdf", as_attachment=True,
                         download_name=f"courrier-{batch.day.isoformat()}.pdf",
                         conditional=False, max_age=None)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    return response


download.talisman_view_options = {"content_security_policy": DOWNLOAD_CSP}
