"""Schema migrations: the core's Alembic branch plus one branch per enabled plugin.

``palier db upgrade`` brings every branch to its head. ``palier db revision --plugin NAME``
writes a new revision into that plugin's own folder, comparing only its tables.
"""
from __future__ import annotations

import os
from pathlib import Path

import click
import flask_migrate
from flask import current_app, g
from flask.cli import with_appcontext

from core.extensions import migrate
from core.plugins import registry

CORE_VERSIONS = Path(__file__).resolve().parent / "migrations" / "versions"


def version_folders(app=None, enabled_only: bool = False) -> dict[str, Path]:
    """The revision folders of the core and of the plugins that have one.

    Disabled plugins count too: a database may still hold their tables and their revision, and
    Alembic must find that revision to move the other branches.
    """
    folders = {"core": CORE_VERSIONS}
    for info in registry(app).plugins.values():
        if info.name != "core" and (info.enabled or not enabled_only):
            folder = info.migrations_folder()
            if folder is not None:
                folders[info.name] = folder
    return folders


@migrate.configure
def _configure_alembic(config):
    # Writing a revision compares the models with a database at every head: only the enabled
    # plugins' branches take part then.
    folders = version_folders(enabled_only=bool(g.get("palier_migration_owner")))
    config.set_main_option("path_separator", "os")
    config.set_main_option("version_locations",
                           os.pathsep.join(str(path) for path in folders.values()))
    config.set_main_option("palier_plugins",
                           ",".join(n for n in registry().plugins if n != "core"))
    config.set_main_option("palier_owner", g.get("palier_migration_owner", ""))
    return config


def upgrade_all() -> None:
    """Upgrade the core and every enabled plugin to their latest revision.

    Each branch goes to its own head (``core@head``, ``noticeboard@head``): the branch of a
    plugin that was disabled stays where it is, tables and data kept, until it is enabled
    again or removed with ``palier db downgrade NAME@base``.
    """
    for branch in version_folders(enabled_only=True):
        flask_migrate.upgrade(revision=f"{branch}@head")


@click.group("db")
def db_cli():
    """Database schema: the core's and every enabled plugin's migrations."""


@db_cli.command("upgrade")
@click.argument("revision", required=False)
@with_appcontext
def upgrade_command(revision):
    """Upgrade the schema: by default the core and every enabled plugin to their heads."""
    if revision:
        flask_migrate.upgrade(revision=revision)
    else:
        upgrade_all()


@db_cli.command("downgrade")
@click.argument("revision")
@with_appcontext
def downgrade_command(revision):
    """Downgrade to REVISION (e.g. ``noticeboard@base`` removes a plugin's tables)."""
    flask_migrate.downgrade(revision=revision)


@db_cli.command("current")
@with_appcontext
def current_command():
    """Show the current revision of each branch."""
    flask_migrate.current(verbose=True)


@db_cli.command("heads")
@with_appcontext
def heads_command():
    """Show the latest revision of each branch."""
    flask_migrate.heads(verbose=True)


@db_cli.command("history")
@with_appcontext
def history_command():
    """List every revision of every branch."""
    flask_migrate.history(verbose=True)


@db_cli.command("revision")
@click.option("--plugin", "owner", default="core", show_default=True,
              help="Branch that receives the revision: core or an enabled plugin.")
@click.option("-m", "--message", required=True, help="What the revision changes.")
@click.option("--autogenerate/--empty", default=True,
              help="Compare the models with the database (default) or write an empty revision.")
@with_appcontext
def revision_command(owner, message, autogenerate):
    """Write a new revision in the core's or a plugin's branch."""
    folders = version_folders(enabled_only=True)
    if owner not in folders:
        raise click.BadParameter(
            f"{owner!r} is not an enabled plugin with migrations "
            f"(choices: {', '.join(folders)}).", param_hint="--plugin")
    folders[owner].mkdir(parents=True, exist_ok=True)
    g.palier_migration_owner = owner
    heads = _branch_heads(owner)
    flask_migrate.revision(
        message=message, autogenerate=autogenerate,
        head=f"{owner}@head" if heads else "base",
        branch_label=None if heads else owner,
        version_path=str(folders[owner]),
    )


def _branch_heads(owner: str) -> list[str]:
    from alembic.script import ScriptDirectory

    config = current_app.extensions["migrate"].migrate.get_config()
    script = ScriptDirectory.from_config(config)
    return [rev.revision for rev in script.get_revisions("heads")
            if owner in (rev.branch_labels or ()) or any(
                owner in (r.branch_labels or ()) for r in script.iterate_revisions(rev.revision,
                                                                                   "base"))]
