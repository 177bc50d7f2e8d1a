"""``palier claims catalogue``: check a catalogue file and print its counts (``check``), save
it as a version in the database and optionally activate it (``import``), list the versions
(``list``)."""
from __future__ import annotations

from pathlib import Path

import click
from flask.cli import with_appcontext

from plugins.claims.catalogue import (
    CATALOGUE_FILE,
    PICTOGRAM_DIR,
    Priority,
    Responsibility,
    Scope,
    check_catalogue,
)


@click.group("claims")
def claims_cli():
    """Claims: the catalogue of places, equipment and problems."""


@claims_cli.group("catalogue")
def catalogue_cli():
    """The claims catalogue (who pays for what, priorities, safety advice)."""


@catalogue_cli.command("check")
@click.argument("path", required=False,
                type=click.Path(dir_okay=False, path_type=Path))
@click.option("--pictograms", "pictogram_dirs", multiple=True,
              type=click.Path(file_okay=False, exists=True, path_type=Path),
              help="Folder of the SVG pictograms the catalogue names (repeatable; default: "
                   "the plugin's own static/pictograms).")
def check_command(path: Path | None, pictogram_dirs: tuple[Path, ...]):
    """Check a catalogue file (default: the shipped one); list every problem with its line.

    Exits with status 1 when the catalogue has any problem, so that a script or a CI job can
    refuse an edited catalogue before it reaches tenants.
    """
    path = path or CATALOGUE_FILE
    catalogue, issues = check_catalogue(path, list(pictogram_dirs) or [PICTOGRAM_DIR])
    if issues or catalogue is None:
        click.echo(f"{path}: {len(issues)} problem(s) found, the catalogue cannot be used:")
        for issue in issues:
            click.echo(f"  {issue.format(path.name)}")
        raise click.exceptions.Exit(1)

    counts = catalogue.counts()
    scopes = counts["places_by_scope"]
    click.echo(f"{path}: catalogue version {catalogue.version} is valid.")
    click.echo(f"  Places:    {counts['places']} ({scopes[Scope.DWELLING]} in the dwelling, "
               f"{scopes[Scope.COMMON]} in the common parts)")
    click.echo(f"  Equipment: {counts['equipment']}")
    click.echo(f"  Problems:  {counts['problems']}")
    click.echo("  By responsibility: " + ", ".join(
        f"{counts['by_responsibility'][r]} {r.description}" for r in Responsibility))
    click.echo("  By priority: " + ", ".join(
        f"{counts['by_priority'][p]} {p.value}" for p in Priority))
    click.echo(f"  Video diagnosis possible for "
               f"{sum(1 for p in catalogue.problems if p.video_diagnosis)} problems.")


@catalogue_cli.command("import")
@click.argument("path", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--note", default="", help="What changed and why (kept with the version).")
@click.option("--activate", "activate_it", is_flag=True,
              help="Make it the catalogue new claims are filed against, at once.")
@with_appcontext
def import_command(path: Path, note: str, activate_it: bool):
    """Save a catalogue file as a new version in the database (checked first).

    Without --activate, new claims keep being filed against the active version until an
    administrator activates this one (back office, or this command again with --activate).
    """
    from plugins.claims.catalogue.store import CatalogueRejected, activate, save_version

    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise click.ClickException(f"{path}: not UTF-8 text ({error.reason} at byte "
                                   f"{error.start}).") from None
    try:
        row = save_version(text, note, None)
    except CatalogueRejected as rejected:
        click.echo(f"{path}: not saved, {len(rejected.messages)} problem(s):", err=True)
        for message in rejected.messages:
            click.echo(f"  {message}", err=True)
        raise click.exceptions.Exit(1) from None
    counts = row.counts
    click.echo(f"Saved version {row.version} (id {row.id}): {counts['places']} places, "
               f"{counts['equipment']} equipment, {counts['problems']} problems.")
    if activate_it:
        try:
            activate(row.id, None)
        except CatalogueRejected as rejected:
            raise click.ClickException("; ".join(rejected.messages)) from None
        click.echo(f"Version {row.version} is now active: new claims are filed against it.")
    else:
        click.echo("Not active yet: activate it in the back office, or import it again with "
                   "--activate.")


@catalogue_cli.command("list")
@with_appcontext
def list_command():
    """List the catalogue versions saved in the database, the active one marked with *."""
    from sqlalchemy import select

    from core.accounts import User
    from core.extensions import db
    from plugins.claims.catalogue.store import active_version, file_catalogue
    from plugins.claims.models import CatalogueVersion

    active = active_version()
    rows = db.session.execute(
        select(CatalogueVersion, User.email)
        .outerjoin(User, User.id == CatalogueVersion.created_by_id)
        .order_by(CatalogueVersion.created_at.desc(), CatalogueVersion.id.desc())).all()
    if active is None:
        click.echo(f"Active: the file (catalogue version {file_catalogue().version}).")
    for row, email in rows:
        marker = "*" if active is not None and row.id == active.id else " "
        activated = f"activated {row.activated_at:%Y-%m-%d %H:%M} UTC" if row.activated_at \
            else "never activated"
        saved = f"{row.created_at:%Y-%m-%d %H:%M}"
        click.echo(f"{marker} {row.id:>4}  {row.version:<40}  saved {saved} UTC by "
                   f"{email or 'palier'}  {row.counts.get('problems', 0):>4} problems  "
                   f"{activated}" + (f"  {row.note}" if row.note else ""))
    if not rows:
        click.echo("No version saved in the database.")
