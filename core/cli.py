"""The ``palier`` command line: Flask's commands plus Palier's own and the plugins'."""
from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path

import click
from flask import Flask
from flask.cli import FlaskGroup

from core.config import ConfigError
from core.plugins import PluginError
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

    def main(self, *args, **kwargs):
        # Set-up errors are the operator's to fix: a clear sentence, not a traceback.
        try:
            return super().main(*args, **kwargs)
        except (ConfigError, PluginError) as error:
            click.echo(f"Error: {error}", err=True)
            sys.exit(1)


@click.group(cls=PalierGroup, create_app=_create_app, load_dotenv=False,
             set_debug_flag=False)
def main():
    """Palier: the relation platform between a social landlord and its tenants."""


@main.command("init", with_appcontext=False)
@click.option("--demo", is_flag=True,
              help="Also set the demo landlord's name and theme, and every built-in plugin.")
@click.option("--force", is_flag=True, help="Replace an existing instance/config.py.")
def init_command(demo, force):
    """Prepare the instance folder: a configuration with a fresh secret key."""
    folder = default_instance_path()
    folder.mkdir(parents=True, exist_ok=True)
    config_file = folder / "config.py"
    if config_file.exists() and not force:
        click.echo(f"{config_file} already exists; left unchanged.")
        return
    lines = [
        "# Palier instance configuration (not versioned). Environment variables PALIER_* win",
        "# over these values. docs/configuration.md lists every key and its meaning.",
        f"SECRET_KEY = {secrets.token_hex(32)!r}",
    ]
    if demo:
        lines += [
            'LANDLORD_NAME = "Habitat Démo"',
            'THEME = "demo"',
            "MAIL_KEEP_LOCALLY = True  # no relay in a demo: read mail on the Mailbox page",
            "import core.plugins as _plugins  # noqa: E402 - every built-in plugin",
            "PLUGINS = list(_plugins.BUILTIN_PLUGINS)",
        ]
    config_file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    config_file.chmod(0o600)
    click.echo(f"Wrote {config_file} with a new secret key.")
