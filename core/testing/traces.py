"""Looking for what a person left behind: used by the tests of erasure (RGPD)."""
from __future__ import annotations

from pathlib import Path

from core.extensions import db


def occurrences(app, needle: str) -> list[str]:
    """Where ``needle`` (lower case) still appears: rows of every table of the app's
    metadata, and files under the instance folder (raw bytes, lower-cased)."""
    found = []
    with app.app_context():
        for table in db.metadata.sorted_tables:
            try:
                rows = db.session.execute(table.select()).all()
            except Exception:  # a table of a plugin this app does not enable
                db.session.rollback()
                continue
            found += [f"{table.name}: {row}" for row in rows if needle in str(row).lower()]
        db.session.remove()
        db.engine.dispose()
    for path in Path(app.instance_path).rglob("*"):
        if path.is_file() and needle.encode() in path.read_bytes().lower():
            found.append(str(path.relative_to(app.instance_path)))
    return found
