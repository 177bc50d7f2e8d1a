"""``palier noticeboard ...``: the plugin's commands for operators (in English, like the rest
of the ``palier`` command line)."""
from __future__ import annotations

import click
from flask.cli import with_appcontext

from palier_noticeboard.queries import purge_ended_before


@click.group("noticeboard")
def noticeboard_cli():
    """Residence noticeboard: housekeeping of notices."""


@noticeboard_cli.command("purge")
@click.option("--before", "day", required=True, type=click.DateTime(formats=["%Y-%m-%d"]),
              help="Delete the notices whose last day is before this date (YYYY-MM-DD).")
@with_appcontext
def purge_command(day):
    """Delete the notices that ended before a date. Notices without an end date stay."""
    deleted = purge_ended_before(day.date())
    noun = "notice" if deleted == 1 else "notices"
    click.echo(f"Deleted {deleted} {noun} ended before {day.date().isoformat()}.")
