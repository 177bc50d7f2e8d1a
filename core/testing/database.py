"""Test databases: migrated once per set of plugins, then copied for every test.

Running the real migrations (rather than ``create_all``) keeps them tested on every run; copying
a template keeps each test's database fresh for the price of a file copy (SQLite) or of
``CREATE DATABASE ... TEMPLATE`` (PostgreSQL).
"""
from __future__ import annotations

import hashlib
import shutil
import uuid
from pathlib import Path


class TemplateDatabases:
    """Template databases of one test session, keyed by the enabled plugins."""

    def __init__(self, folder: Path, kind: str):
        if kind not in ("sqlite", "postgresql"):
            raise ValueError(f"--palier-db {kind!r}: choose sqlite or postgresql")
        self.folder = folder
        self.kind = kind
        self.templates: dict[tuple, tuple[str, dict | None]] = {}
        self.fresh: list[str] = []
        self.server = None

    def _server(self):
        if self.server is None:
            from core.testing.postgres import TemporaryPostgres

            self.server = TemporaryPostgres()
            self.server.start()
        return self.server

    def _template(self, plugins: tuple, extra_plugins: dict | None) -> str:
        # Plugins given by a test are throw-away objects: each gets its own template.
        key = (plugins, tuple(sorted((name, id(obj)) for name, obj in
                                     (extra_plugins or {}).items())))
        if key in self.templates:
            return self.templates[key][0]
        digest = hashlib.sha1(repr(key).encode()).hexdigest()[:10]
        if self.kind == "sqlite":
            url = f"sqlite:///{self.folder / f'template-{digest}.sqlite3'}"
        else:
            name = f"template_{digest}"
            self._server().create_database(name)
            url = self._server().url_for(name)
        _migrate(url, plugins, extra_plugins, self.folder)
        # The plugin objects are kept alive so that their ids are never reused for another.
        self.templates[key] = (url, extra_plugins)
        return url

    def fresh_database(self, plugins: tuple, extra_plugins: dict | None, instance: Path) -> str:
        """A new database, already migrated for these plugins, for one app."""
        template = self._template(plugins, extra_plugins)
        if self.kind == "sqlite":
            target = instance / "palier.sqlite3"
            shutil.copyfile(template.removeprefix("sqlite:///"), target)
            return f"sqlite:///{target}"
        name = f"test_{uuid.uuid4().hex[:12]}"
        self._server().create_database(name, template=template.rsplit("/", 1)[1])
        self.fresh.append(name)
        return self._server().url_for(name)

    def drop_fresh(self) -> None:
        """Drop the PostgreSQL databases handed out to the test that ends."""
        while self.fresh:
            self._server().drop_database(self.fresh.pop())

    def close(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None


def _migrate(url: str, plugins: tuple, extra_plugins: dict | None, folder: Path) -> None:
    from core import create_app
    from core.extensions import db
    from core.schema import upgrade_all

    instance = folder / f"migrate-{uuid.uuid4().hex[:8]}"
    instance.mkdir()
    app = create_app({"ENVIRONMENT": "testing", "INSTANCE_PATH": str(instance),
                      "DATABASE_URL": url, "PLUGINS": list(plugins)},
                     extra_plugins=extra_plugins)
    with app.app_context():
        upgrade_all()
        db.session.remove()
        db.engine.dispose()
