"""Estate imports started from the back office: one job per uploaded file, run in a thread.

The web request saves the upload and returns at once; a background thread runs
:func:`core.estate_import.import_estate` and records its progress and its outcome (report or
problems) in the ``import_job`` table, so that any process can show them.

While the import writes, SQLite accepts no other writer: progress then stays in this process's
memory (``app.extensions["palier.import_progress"]``) and other processes see the stage only.
PostgreSQL records the progress as it goes.
"""
from __future__ import annotations

import logging
import threading
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import NamedTuple

from sqlalchemy import JSON, ForeignKey, String, select, update
from sqlalchemy.orm import Mapped, mapped_column

from core.accounts import User, utcnow
from core.estate_import import ImportResult, import_estate
from core.extensions import db

log = logging.getLogger(__name__)

WAITING, CHECKING, WRITING = "waiting", "checking", "writing"
DONE, REJECTED, FAILED, INTERRUPTED = "done", "rejected", "failed", "interrupted"
RUNNING_STATES = (WAITING, CHECKING, WRITING)
_STAGE_STATES = {"check": CHECKING, "write": WRITING}
# A running job nobody has heard of for this long died with its process.
STALE_AFTER = timedelta(minutes=15)
# Progress is written to the table at most this often (seconds).
WRITE_EVERY = 1.0
# Uploads left behind by a process that died are deleted after this long (personal data).
KEEP_UPLOADS = timedelta(days=1)


class ImportJob(db.Model):
    """An estate import started from the back office, its progress and its outcome."""

    __tablename__ = "import_job"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    dry_run: Mapped[bool] = mapped_column(default=False)
    state: Mapped[str] = mapped_column(String(16), default=WAITING)
    done: Mapped[int] = mapped_column(default=0)
    total: Mapped[int] = mapped_column(default=0)
    result: Mapped[dict | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]

    def outcome(self) -> ImportResult | None:
        """The import's report or problems, once it is over."""
        return ImportResult.from_json(self.result) if self.result else None


class JobProgress(NamedTuple):
    """Where a job stands: its state, lines done in the current stage, and lines in all."""

    state: str
    done: int
    total: int

    @property
    def finished(self) -> bool:
        return self.state not in RUNNING_STATES

    @property
    def percent(self) -> int:
        """Checking is the first half of the bar, writing the second."""
        if self.finished:
            return 100
        if self.state == WAITING or not self.total:
            return 0 if self.state != WRITING else 50
        share = min(self.done / self.total, 1.0) * 50
        return int(share if self.state == CHECKING else 50 + share)


def _live(app) -> dict[int, JobProgress]:
    return app.extensions.setdefault("palier.import_progress", {})


def progress_of(app, job: ImportJob) -> JobProgress:
    """The freshest news of a job: this process's memory when it runs here, else the table."""
    live = _live(app).get(job.id)
    if live is not None:
        return live
    if job.state in RUNNING_STATES and utcnow() - job.updated_at > STALE_AFTER:
        return JobProgress(INTERRUPTED, job.done, job.total)
    return JobProgress(job.state, job.done, job.total)


def running_job(app) -> ImportJob | None:
    """An import still under way (imports run one at a time)."""
    for job in db.session.scalars(select(ImportJob).where(ImportJob.state.in_(RUNNING_STATES))):
        if not progress_of(app, job).finished:
            return job
    return None


def start_import(app, upload, user_id: int, dry_run: bool = False) -> ImportJob:
    """Save an uploaded file, record its job and run the import in a background thread."""
    folder = Path(app.instance_path) / "imports"
    folder.mkdir(exist_ok=True)
    _remove_old_uploads(folder)
    # A generated name: the file name a user sent is only ever displayed.
    path = folder / f"{uuid.uuid4().hex}.csv"
    upload.save(path)
    job = ImportJob(user_id=user_id, filename=(upload.filename or "")[:255], dry_run=dry_run)
    db.session.add(job)
    db.session.commit()
    _live(app)[job.id] = JobProgress(WAITING, 0, 0)
    threading.Thread(target=_run, args=(app, job.id, path, dry_run),
                     name=f"estate-import-{job.id}", daemon=True).start()
    return job


def _remove_old_uploads(folder: Path) -> None:
    limit = time.time() - KEEP_UPLOADS.total_seconds()
    for old in folder.glob("*.csv"):
        if old.stat().st_mtime < limit:
            old.unlink(missing_ok=True)


class _Reporter:
    """The import's progress callback: memory at once, the table at most once a second."""

    def __init__(self, app, job_id: int):
        self.app = app
        self.job_id = job_id
        self.sqlite = db.engine.dialect.name == "sqlite"
        self.state = None
        self.written_at = 0.0

    def __call__(self, stage: str, done: int, total: int) -> None:
        state = _STAGE_STATES[stage]
        _live(self.app)[self.job_id] = JobProgress(state, done, total)
        now = time.monotonic()
        # The first call of the writing stage comes before its transaction begins.
        if state != self.state or (now - self.written_at >= WRITE_EVERY
                                   and not (self.sqlite and state == WRITING)):
            self.state, self.written_at = state, now
            _record(self.job_id, state=state, done=done, total=total)


def _record(job_id: int, **values) -> None:
    with db.engine.begin() as connection:
        connection.execute(update(ImportJob.__table__).where(ImportJob.__table__.c.id == job_id)
                           .values(updated_at=utcnow(), **values))


def _run(app, job_id: int, path: Path, dry_run: bool) -> None:
    with app.app_context():
        try:
            job = db.session.get(ImportJob, job_id)
            uploader = db.session.get(User, job.user_id) if job.user_id else None
            actor = (uploader.id, uploader.email) if uploader is not None else None
            result = import_estate(path, dry_run=dry_run, progress=_Reporter(app, job_id),
                                   file_name=job.filename, actor=actor)
            _record(job_id, state=DONE if result.ok else REJECTED, result=result.to_json(),
                    finished_at=utcnow())
        except Exception:
            log.exception("Estate import %s stopped on an unexpected error", job_id)
            _record(job_id, state=FAILED, finished_at=utcnow())
        finally:
            _live(app).pop(job_id, None)
            path.unlink(missing_ok=True)
            db.session.remove()
