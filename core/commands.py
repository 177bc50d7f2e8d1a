"""Commands of the ``palier`` command line that need the app (added to ``app.cli``)."""
from __future__ import annotations

import os
import sys

import click
from flask import current_app
from flask.cli import with_appcontext

from core.accounts import Role


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


@click.group("users")
def users_command():
    """Staff accounts."""


@users_command.command("create")
@click.option("--email", required=True, help="E-mail address (the login).")
@click.option("--role", required=True,
              type=click.Choice([r.value for r in Role if r.is_staff]), help="Staff role.")
@click.option("--name", default="", help="Full name shown in the back office.")
@click.option("--password", default=None,
              help="Initial password; without it an invitation link is mailed and printed.")
@click.option("--agency", default=None,
              help="Reference of the agency the person works for (agents see its files only).")
@with_appcontext
def create_user_command(email, role, name, password, agency):
    """Create a staff account (tenants activate theirs from their lease reference)."""
    from core.staff import AccountError, create_staff_account
    from core.web.forms import MIN_PASSWORD_LENGTH

    if password is not None and len(password) < MIN_PASSWORD_LENGTH:
        raise click.BadParameter(f"at least {MIN_PASSWORD_LENGTH} characters",
                                 param_hint="--password")
    agency_id = None
    if agency:
        from sqlalchemy import select

        from core.estate import Agency
        from core.extensions import db

        agency_id = db.session.scalar(select(Agency.id).where(Agency.reference == agency))
        if agency_id is None:
            raise click.BadParameter(f"no agency with the reference {agency!r}",
                                     param_hint="--agency")
    try:
        user, link, mailed = create_staff_account(email, name, Role(role), password,
                                                  agency_id=agency_id)
    except AccountError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"Created {user.role.value} account {user.email}.")
    if link:
        click.echo(("Invitation sent" if mailed else "The invitation could NOT be mailed")
                   + f"; the link to choose a password (valid 7 days): {link}")


@click.group("audit")
def audit_cli():
    """Audit log: verify its chain, blank expired records of viewed tenant files."""


def _anchor(_ctx, _param, value):
    if value is None:
        return None
    seq, _, digest = value.partition(":")
    if not seq.isdigit() or len(digest) != 64:
        raise click.BadParameter("expected SEQ:HASH, as `palier audit verify` prints the head.")
    return int(seq), digest.lower()


@audit_cli.command("verify")
@click.option("--anchor", callback=_anchor, metavar="SEQ:HASH",
              help="An event noted earlier (the head printed by a previous run): checks that "
                   "it is still in the chain, which detects a rewritten or truncated end.")
@with_appcontext
def audit_verify_command(anchor):
    """Walk the audit log's hash chain; exit with status 1 at the first broken event."""
    from core.audit import verify_chain

    result = verify_chain(anchor=anchor)
    if not result.ok:
        click.echo(f"Audit log BROKEN at event {result.broken_seq}: {result.problem}. "
                   f"{result.count} events before it are intact.", err=True)
        sys.exit(1)
    if result.head_seq is None:
        click.echo("Audit log verified: no event yet.")
    else:
        click.echo(f"Audit log verified: {result.count} events intact. "
                   f"Head: {result.head_seq}:{result.head_hash}")


@audit_cli.command("purge")
@click.option("--before", "day", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Blank the view records older than this date (YYYY-MM-DD); by default the "
                   "date AUDIT_VIEW_RETENTION_DAYS ago. A later date is refused.")
@with_appcontext
def audit_purge_command(day):
    """Blank the records of viewed tenant files older than the retention period.

    Their content (who viewed whose file, from where) is erased; their place in the chain
    stays, so `palier audit verify` still checks the whole log. Other events are kept.
    """
    from core.accounts import utcnow
    from core.audit import purge_views, retention_cutoff

    # Days in UTC, as the log's times: a record blanked is always older than the retention.
    cutoff = retention_cutoff(current_app.config, utcnow().date())
    before = day.date() if day else cutoff
    if before > cutoff:
        raise click.UsageError(
            f"--before {before.isoformat()} would blank view records younger than "
            f"AUDIT_VIEW_RETENTION_DAYS={current_app.config['AUDIT_VIEW_RETENTION_DAYS']} "
            f"days: choose {cutoff.isoformat()} or earlier.")
    blanked = purge_views(before)
    noun = "record" if blanked == 1 else "records"
    click.echo(f"Blanked {blanked} view {noun} older than {before.isoformat()}.")


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
