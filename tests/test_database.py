"""Database behaviour: SQLite tuned for a web server, PostgreSQL through psycopg 3."""
import threading

import pytest
from sqlalchemy import func, select, text

from core.estate import Agency
from core.extensions import db
from core.testing.fixtures import csrf_token

sqlite_only = pytest.mark.skipif("config.getoption('--palier-db') != 'sqlite'",
                                 reason="SQLite behaviour")


def test_the_engine_matches_the_test_database(app, request):
    expected = request.config.getoption("--palier-db")
    with app.app_context():
        assert db.engine.dialect.name == expected
        if expected == "postgresql":
            assert db.engine.dialect.driver == "psycopg"


@sqlite_only
def test_sqlite_runs_in_wal_mode_with_a_busy_timeout(app):
    with app.app_context():
        assert db.session.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert db.session.execute(text("PRAGMA busy_timeout")).scalar() >= 5000
        assert db.session.execute(text("PRAGMA foreign_keys")).scalar() == 1


@sqlite_only
def test_sqlite_write_requests_take_the_write_lock_at_begin(app):
    """A POST begins with BEGIN IMMEDIATE (write lock at once), a GET with a plain BEGIN."""
    statements = []
    with app.app_context():
        from sqlalchemy import event

        listener = lambda conn, cursor, stmt, *a: statements.append(stmt)  # noqa: E731
        event.listen(db.engine, "before_cursor_execute", listener)
    try:
        client = app.test_client()
        client.get("/health")
        client.post("/login", data={"csrf_token": csrf_token(client, "/login"),
                                    "email": "nobody@example.org", "password": "x"})
    finally:
        with app.app_context():
            event.remove(db.engine, "before_cursor_execute", listener)
    begins = [s for s in statements if s.startswith("BEGIN")]
    assert "BEGIN" in begins and "BEGIN IMMEDIATE" in begins


def test_concurrent_writers_all_succeed(app):
    """Twenty threads each writing: none fails with "database is locked", none is lost."""
    errors = []

    def writer(n):
        try:
            with app.app_context():
                for i in range(10):
                    db.session.add(Agency(reference=f"T{n}-{i}", name=f"Agence {n}-{i}"))
                    db.session.commit()
        except Exception as exc:  # the assertion below reports it
            errors.append(repr(exc))

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    with app.app_context():
        assert db.session.scalar(select(func.count(Agency.id))) == 200


def test_migrations_go_down_and_up_again(app):
    runner = app.test_cli_runner()
    assert runner.invoke(args=["db", "downgrade", "base"]).exit_code == 0
    with app.app_context():
        db.engine.dispose()
        from sqlalchemy import inspect

        assert "user_account" not in inspect(db.engine).get_table_names()
    result = runner.invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        db.engine.dispose()
        assert "user_account" in inspect(db.engine).get_table_names()


def test_models_and_migrations_agree(app):
    """Autogenerate finds nothing to do: every model change has its migration."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from core.plugins import registry

    # Models of plugins this app does not enable may have been imported by other tests.
    disabled = tuple(f"{info.name}_" for info in registry(app).plugins.values()
                     if not info.enabled)

    def include_object(obj, name, type_, reflected, compare_to):
        return not (type_ == "table" and name.startswith(disabled))

    with app.app_context(), db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"include_object": include_object})
        diff = compare_metadata(context, db.metadata)
    assert diff == []


def test_disabling_a_migrated_plugin_keeps_its_tables_and_upgrades_still_work(make_app):
    from sqlalchemy import inspect

    enabled = make_app(plugins=["noticeboard"])
    url = enabled.config["DATABASE_URL"]
    with enabled.app_context():
        assert "noticeboard_notice" in inspect(db.engine).get_table_names()
        db.engine.dispose()

    disabled = make_app(plugins=[], DATABASE_URL=url)
    runner = disabled.test_cli_runner()
    result = runner.invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, result.output
    with disabled.app_context():
        assert "noticeboard_notice" in inspect(db.engine).get_table_names()  # data kept
        db.engine.dispose()
    result = runner.invoke(args=["db", "downgrade", "noticeboard@base"])
    assert result.exit_code == 0, result.output
    with disabled.app_context():
        db.engine.dispose()
        tables = inspect(db.engine).get_table_names()
    assert "noticeboard_notice" not in tables and "user_account" in tables
