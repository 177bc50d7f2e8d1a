"""Back-office estate import (import du patrimoine): upload a file, follow it, read the report.

The upload page takes larger bodies than the rest of the site (``ESTATE_IMPORT_MAX_BYTES``):
the limit must be raised before anything reads the body, so the global CSRF check, which reads
the form first, is replaced by the same check made here after raising it.
"""
from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import format_decimal
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from sqlalchemy import select
from werkzeug.exceptions import RequestEntityTooLarge
from wtforms import BooleanField

from core.accounts import User
from core.estate_import import COLUMNS, KIND_LABELS
from core.extensions import csrf, db
from core.import_jobs import (
    CHECKING,
    DONE,
    FAILED,
    INTERRUPTED,
    REJECTED,
    WAITING,
    WRITING,
    ImportJob,
    progress_of,
    running_job,
    start_import,
)
from core.web.access import permission_required

bp = Blueprint("estate_import", __name__, url_prefix="/backoffice/estate/import")
RECENT_JOBS = 10

STATE_LABELS = {
    WAITING: _l("Waiting to start"),
    CHECKING: _l("Checking the file"),
    WRITING: _l("Writing"),
    DONE: _l("Done"),
    REJECTED: _l("Rejected: the file has errors"),
    FAILED: _l("Stopped on an unexpected error"),
    INTERRUPTED: _l("Interrupted"),
}


class ImportForm(FlaskForm):
    file = FileField(_l("CSV file exported from your management software"), validators=[
        FileRequired(_l("Choose the file to import.")),
        FileAllowed(["csv", "txt"], _l("Choose a CSV file (.csv or .txt)."))])
    dry_run = BooleanField(_l("Only check the file and count what would change (nothing is "
                              "written)"))


def _size_limit_mb() -> str:
    return format_decimal(current_app.config["ESTATE_IMPORT_MAX_BYTES"] / (1024 * 1024),
                          format="#,##0")


def _upload_page(form: ImportForm, status: int = 200, error: str | None = None):
    jobs = db.session.scalars(select(ImportJob).order_by(ImportJob.id.desc())
                              .limit(RECENT_JOBS)).all()
    return render_template("backoffice/estate/import.html", form=form, jobs=jobs, error=error,
                           progress_of=lambda job: progress_of(current_app, job),
                           state_labels=STATE_LABELS, max_mb=_size_limit_mb(),
                           columns=COLUMNS), status


@bp.errorhandler(RequestEntityTooLarge)
def too_large(error):
    message = _("The file is larger than %(size)s MB, the largest file this page accepts.",
                size=_size_limit_mb())
    if request.accept_mimetypes.best == "application/json":
        return {"error": message, "status": 413}, 413
    return _upload_page(ImportForm(formdata=None), 413, message)


@bp.route("/", methods=["GET", "POST"])
@permission_required("core.import_estate")
def upload():
    if request.method == "POST":
        request.max_content_length = current_app.config["ESTATE_IMPORT_MAX_BYTES"]
        if current_app.config["WTF_CSRF_ENABLED"]:
            csrf.protect()
    form = ImportForm()
    if not form.validate_on_submit():
        return _upload_page(form, 400 if form.errors else 200)
    if running_job(current_app) is not None:
        return _upload_page(form, 409, _("Another import is under way: wait until it ends, "
                                         "then send your file again."))
    job = start_import(current_app._get_current_object(), form.file.data, current_user.id,
                       form.dry_run.data)
    return redirect(url_for(".job", job_id=job.id), 303)


csrf.exempt(upload)


def _stage_text(progress) -> str:
    numbers = {"done": format_decimal(progress.done), "total": format_decimal(progress.total)}
    if progress.state == CHECKING:
        return _("Checking the file: line %(done)s of %(total)s.", **numbers)
    if progress.state == WRITING:
        return _("Writing: line %(done)s of %(total)s.", **numbers)
    return ""


def _job_or_404(job_id: int) -> ImportJob:
    job = db.session.get(ImportJob, job_id)
    if job is None:
        abort(404)
    return job


@bp.route("/<int:job_id>")
@permission_required("core.import_estate")
def job(job_id: int):
    job = _job_or_404(job_id)
    progress = progress_of(current_app, job)
    author = db.session.get(User, job.user_id) if job.user_id else None
    return render_template("backoffice/estate/job.html", job=job, progress=progress,
                           outcome=job.outcome() if progress.finished else None,
                           author=author, stage_text=_stage_text(progress),
                           state_labels=STATE_LABELS, kind_labels=KIND_LABELS)


@bp.route("/<int:job_id>/progress")
@permission_required("core.import_estate")
def job_progress(job_id: int):
    """The job's progress for the page's script (polled every second)."""
    progress = progress_of(current_app, _job_or_404(job_id))
    return {"state": progress.state, "label": str(STATE_LABELS[progress.state]),
            "percent": progress.percent, "finished": progress.finished,
            "text": _stage_text(progress)}
