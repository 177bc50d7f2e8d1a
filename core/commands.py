"""Commands of the ``palier`` command line that need the app (added to ``app.cli``)."""
from __future__ import annotations

import os
import sys

import click
from flask import current_app
from flask.cli import with_appcontext


@click.command("plugins")
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


@click.command("demo")
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


@click.command("serve")
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


@click.group("estate")
def estate_cli():
    """Estate (patrimoine): import the landlord's ERP export."""


@estate_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, readable=True))
@click.option("--dry-run", is_flag=True,
              help="Check the file and count what would change, without writing anything.")
@with_appcontext
def estate_import_command(file, dry_run):
    """Import FILE, a CSV export of the estate and its occupants (docs/estate-import.md).

    Idempotent on the references: importing the same file again changes nothing. When the file
    has errors, each is listed with its line number and nothing is written (exit status 1).
    """
    from flask_babel import force_locale
    from flask_babel import gettext as _

    from core.estate_import import import_estate

    with force_locale(current_app.config["LANGUAGES"][0]):
        progress = _ProgressBars({"check": _("Checking the file"), "write": _("Writing")})
        try:
            result = import_estate(file, dry_run=dry_run, progress=progress)
        finally:
            progress.close()
        _print_import_result(result)
    if not result.ok:
        sys.exit(1)


class _ProgressBars:
    """One click progress bar per stage of the import, each opened when its stage starts."""

    def __init__(self, labels: dict[str, str]):
        width = max(len(label) for label in labels.values())
        self.labels = {stage: label.ljust(width) for stage, label in labels.items()}
        self.stage = None
        self.bar = None
        self.done = 0

    def __call__(self, stage: str, done: int, total: int) -> None:
        if stage != self.stage:
            self.close()
            self.stage, self.done = stage, 0
            self.bar = click.progressbar(length=max(total, 1), label=self.labels[stage],
                                         file=sys.stderr)
            self.bar.__enter__()
        self.bar.length = max(total, done, 1)
        self.bar.update(done - self.done)
        self.done = done

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None


def _print_import_result(result) -> None:
    from flask_babel import format_decimal
    from flask_babel import gettext as _

    from core.estate_import import KIND_LABELS

    if not result.ok:
        click.echo(_("Errors in the file: %(count)s. Nothing was written.",
                     count=format_decimal(result.problem_count)))
        for problem in result.problems:
            if problem.column:
                click.echo("  " + _("line %(line)s, %(column)s: %(message)s", line=problem.line,
                                    column=problem.column, message=problem.message()))
            else:
                click.echo("  " + _("line %(line)s: %(message)s", line=problem.line,
                                    message=problem.message()))
        hidden = result.problem_count - len(result.problems)
        if hidden:
            click.echo(_("…and %(count)s more errors.", count=format_decimal(hidden)))
        return
    if result.dry_run:
        click.echo(_("Dry run: %(lines)s lines checked, nothing written. A real import would "
                     "change:", lines=format_decimal(result.lines)))
    else:
        click.echo(_("Import done: %(lines)s lines.", lines=format_decimal(result.lines)))
    for kind, label in KIND_LABELS.items():
        counts = {name: format_decimal(value) for name, value in result.counts[kind].items()}
        if kind == "caretaker":
            line = _("%(kind)s — created: %(created)s, removed: %(removed)s, unchanged: "
                     "%(unchanged)s", kind=label, **counts)
        else:
            line = _("%(kind)s — created: %(created)s, updated: %(updated)s, unchanged: "
                     "%(unchanged)s", kind=label, **counts)
        click.echo("  " + line)
