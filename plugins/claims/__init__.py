"""Claims: tenants report a problem in their home or the common parts, and follow it.

The tenant picks where, which equipment and what is wrong from a catalogue of pictograms, and
sees who pays for the repair, with its legal reference, before confirming. The catalogue is
data shipped with the plugin (``plugins/claims/catalogue/catalogue.toml``, see
``docs/claims.md``); ``palier claims catalogue check`` validates an edited one.
"""
from __future__ import annotations

from pathlib import Path

from core import Plugin, hookimpl

PACKAGE_DIR = Path(__file__).resolve().parent

__all__ = ["ClaimsPlugin"]


class ClaimsPlugin(Plugin):
    """Claims: guided entry of repair requests, who pays before confirming, and tracking.

    Places, equipment and problems come from a catalogue kept as data: each problem says who
    pays (tenant, landlord, maintenance contract or to be assessed) with its legal reference
    (décret 87-712, loi 89-462, décret 87-713), the trade, the priority, the deadline and the
    safety advice the tenant sees first.
    """

    name = "claims"

    @hookimpl
    def register_translations(self):
        return str(PACKAGE_DIR / "translations")

    @hookimpl
    def register_cli_commands(self, cli):
        from plugins.claims.cli import claims_cli

        cli.add_command(claims_cli)
