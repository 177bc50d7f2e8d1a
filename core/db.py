"""Database engine set-up: SQLite tuned for a web server, PostgreSQL through psycopg 3.

SQLite runs in WAL mode (readers never block the writer) with a busy timeout, and transactions
that may write start with ``BEGIN IMMEDIATE``: the write lock is taken at the start, so a
transaction that read first never fails with "database is locked" when it then writes — it waits
its turn instead. Requests with a safe method (GET, HEAD, OPTIONS) begin a deferred transaction
so that readers run side by side; a safe-method view that writes (an audit row for a viewed
file, say) marks itself with :func:`writes`.
"""
from __future__ import annotations

import functools

from flask import g, has_request_context, request
from sqlalchemy import event
from sqlalchemy.engine import Engine

SQLITE_BUSY_TIMEOUT_MS = 15000
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def engine_options(uri: str, pool_size: int) -> dict:
    """SQLAlchemy engine options for the configured database.

    The pool keeps as many connections as the server runs threads: a connection opened beyond
    the pool is closed after its request, and opening one costs far more than the request.
    """
    pool = {"pool_size": pool_size, "max_overflow": pool_size}
    if uri.startswith("sqlite"):
        # The pysqlite driver's own transaction handling is switched off (isolation_level=None)
        # so that the BEGIN statement below is the one SQLite sees.
        return {**pool, "connect_args": {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000,
                                         "check_same_thread": False,
                                         "isolation_level": None}}
    return {**pool, "pool_pre_ping": True}


def _wants_immediate() -> bool:
    if not has_request_context():
        return True
    return request.method not in _SAFE_METHODS or g.get("palier_writes", False)


def configure_sqlite(engine: Engine) -> None:
    """Install the pragmas and the BEGIN statement on an SQLite engine."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        # Deleted content is overwritten, not left in free pages (erasure of a person).
        cursor.execute("PRAGMA secure_delete=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        connection.exec_driver_sql("BEGIN IMMEDIATE" if _wants_immediate() else "BEGIN")


def writes(view):
    """Mark a GET view that writes, so that its transaction takes the write lock at once."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        from core.extensions import db

        # A read transaction may already be open (the user was loaded): end it, so the next
        # statement begins a transaction that holds the write lock.
        db.session.commit()
        g.palier_writes = True
        return view(*args, **kwargs)

    return wrapper


def forget_old_pages(engine: Engine) -> None:
    """SQLite: fold the write-ahead log into the database and empty it, so that row versions
    an erasure replaced are not left in the log. Nothing to do on other databases."""
    if engine.dialect.name != "sqlite":
        return
    connection = engine.raw_connection()
    try:
        connection.cursor().execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        connection.close()
