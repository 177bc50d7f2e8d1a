"""``palier claims catalogue check [PATH]``: validate a catalogue file and print its counts."""
from __future__ import annotations

from pathlib import Path

import click

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
