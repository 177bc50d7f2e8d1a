"""The ``palier`` command line: Flask's commands plus Palier's own and the plugins'."""
from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext

from core.schema import db_cli


def default_instance_path() -> Path:
    """The instance folder: PALIER_INSTANCE_PATH, or ``instance/`` beside the code."""
    explicit = os.environ.get("PALIER_INSTANCE_PATH")
    return Path(explicit) if explicit else Path(Flask("core").instance_path)


def _create_app():
    from core import create_app

    return create_app()


class PalierGroup(FlaskGroup):
    """Flask's command group, with Palier's ``db`` taking precedence over Flask-Migrate's."""

    def get_command(self, ctx, name):
        if name == "db":
            return db_cli
        return super().get_command(ctx, name)


@click.group(cls=PalierGroup, create_app=_create_app, load_dotenv=False,
             set_debug_flag=False)
def main():
    """Palier: the relation platform between a social landlord and its tenants."""


@main.command("init")
@click.option("--force", is_flag=True, help="Replace an existing instance/config.py.")
def init_command(force):
    """Prepare the instance folder: a configuration with a fresh secret key."""
    folder = default_instance_path()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "uploads").mkdir(exist_ok=True)
    config_file = folder / "config.py"
    if config_file.exists() and not force:
        click.echo(f"{config_file} already exists; left unchanged.")
        return
    config_file.write_text(
        "# Palier instance configuration (not versioned). Environment variables PALIER_* win\n"
        "# over these values. See core/config.py for every key and its meaning.\n"
        f"SECRET_KEY = {secrets.token_hex(32)!r}\n",
        encoding="utf-8",
    )
    config_file.chmod(0o600)
    click.echo(f"Wrote {config_file} with a new secret key.")


@main.command("plugins")
@with_appcontext
def plugins_command():
    """List the available plugins: version, enabled or not, hooks and routes."""
    from core.plugins import registry
    from core.web.backoffice import plugin_routes

    for info in sorted(registry().plugins.values(), key=lambda i: (i.source != "core", i.name)):
        state = "enabled" if info.enabled else "disabled"
        click.echo(f"{info.name} {info.version} [{state}] ({info.source})")
        if info.description:
            click.echo(f"  {info.description}")
        if info.requires:
            click.echo(f"  requires: {', '.join(info.requires)}")
        click.echo(f"  hooks: {', '.join(info.hooks) or '-'}")
        routes = plugin_routes(current_app, info)
        if routes:
            click.echo(f"  routes: {', '.join(routes)}")


@main.command("demo")
@with_appcontext
def demo_command():
    """Load the demo landlord "Habitat Démo" (idempotent) and print its accounts."""
    from core.demo import DEMO_PASSWORD, load_demo

    summary = load_demo()
    click.echo(f"Habitat Démo: {summary.residences} residences, {summary.dwellings} dwellings, "
               f"{summary.tenants} tenant households.")
    click.echo(f"Demo accounts (password for all: {DEMO_PASSWORD}):")
    for role, email in summary.accounts:
        click.echo(f"  {role:<17} {email}")


@main.command("serve")
@click.option("--host", default=None, help="Address to bind (default: SERVE_HOST).")
@click.option("--port", type=int, default=None, help="Port (default: SERVE_PORT).")
@click.option("--threads", type=int, default=None,
              help="Threads of the gthread worker in threading mode (default: SERVE_THREADS).")
@with_appcontext
def serve_command(host, port, threads):
    """Serve Palier for production, in the configured realtime mode.

    threading: gunicorn with one gthread worker (Socket.IO needs its clients on one process
    unless a Redis message queue and sticky sessions are set up). eventlet: eventlet's own
    server, started in a fresh process so that eventlet patches the standard library first.
    """
    config = current_app.config
    host = host or config["SERVE_HOST"]
    port = port or int(config["SERVE_PORT"])
    if config["SOCKETIO_ASYNC_MODE"] == "eventlet":
        os.execv(sys.executable, [sys.executable, "-m", "core.serve_eventlet", host, str(port)])
    from core.serve_gunicorn import run_gunicorn

    run_gunicorn(host, port, threads or int(config["SERVE_THREADS"]))
