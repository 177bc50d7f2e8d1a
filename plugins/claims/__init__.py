"""Claims: tenants report a problem in their home or the common parts, and follow it.

The tenant picks where, which equipment and what is wrong from a catalogue of pictograms, and
sees who pays for the repair, with its legal reference, before confirming. The catalogue is
data shipped with the plugin (``plugins/claims/catalogue/catalogue.toml``, see
``docs/claims.md``); ``palier claims catalogue check`` validates an edited one. Claims are
filed and moved through their statuses by :mod:`plugins.claims.workflow`; who sees which
claims is :func:`plugins.claims.queries.claims_visible_to`.
"""
from __future__ import annotations

import functools
from pathlib import Path

from core import Plugin, hookimpl
from core.config import ConfigError, Setting
from plugins.claims import hookspecs
from plugins.claims.business_hours import SETTINGS as _business_hours_settings

PACKAGE_DIR = Path(__file__).resolve().parent
CATALOGUE_EXTENSION = "palier.claims.catalogue"

__all__ = ["ClaimsPlugin"]

SETTINGS = [
    Setting("CLAIMS_CATALOGUE_FILE", "",
            "The claims catalogue (TOML) new claims are filed against; empty: the one shipped "
            "with Palier. Checked at start-up: run 'palier claims catalogue check FILE' first. "
            "A version activated in the back office takes precedence."),
    Setting("CLAIMS_INCIDENT_WINDOW_HOURS", 72,
            "Collective incidents: claims of the same equipment and problem in one entrance "
            "(or building) filed within this many hours of each other are grouped."),
    Setting("CLAIMS_INCIDENT_MIN_CLAIMS", 2,
            "Collective incidents: how many households must report the same problem in the "
            "window before Palier proposes an incident to the agents (2 at least)."),
    Setting("CLAIMS_QUEUE_PAGE_SIZE", 50,
            "Claims per page of the agents' queue in the back office."),
]
# Deadlines on the landlord's business calendar (plugins.claims.business_hours).
SETTINGS += _business_hours_settings


@functools.lru_cache(maxsize=8)
def _load(path: str, modified: float):
    from plugins.claims.catalogue import load_catalogue

    return load_catalogue(path or None)


def load_configured_catalogue(config, app=None):
    """The catalogue named by ``CLAIMS_CATALOGUE_FILE``; a wrong one stops start-up.

    With ``app``, also sets up :mod:`plugins.claims.catalogue.store` for it: this file is the
    catalogue in force until an administrator activates a version saved in the database
    (which the database, not start-up, tells: it may not be migrated yet at start-up).
    """
    from plugins.claims.catalogue import CATALOGUE_FILE, CatalogueError

    path = config["CLAIMS_CATALOGUE_FILE"] or str(CATALOGUE_FILE)
    try:
        catalogue = _load(path, Path(path).stat().st_mtime)
    except FileNotFoundError:
        raise ConfigError(f"CLAIMS_CATALOGUE_FILE={path!r}: no such file.") from None
    except CatalogueError as error:
        raise ConfigError(f"CLAIMS_CATALOGUE_FILE: {error}") from None
    if app is not None:
        from plugins.claims.catalogue.store import install

        install(app, catalogue)
    return catalogue


class ClaimsPlugin(Plugin):
    """Claims: guided entry of repair requests, who pays before confirming, and tracking.

    Places, equipment and problems come from a catalogue kept as data: each problem says who
    pays (tenant, landlord, maintenance contract or to be assessed) with its legal reference
    (décret 87-712, loi 89-462, décret 87-713), the trade, the priority, the deadline and the
    safety advice the tenant sees first.
    """

    name = "claims"
    hookspecs = hookspecs

    @hookimpl
    def register_settings(self):
        return SETTINGS

    @hookimpl
    def register_models(self):
        from plugins.claims.models import MODELS

        return MODELS

    @hookimpl
    def register_migrations(self):
        return str(PACKAGE_DIR / "migrations" / "versions")

    @hookimpl
    def register_translations(self):
        return str(PACKAGE_DIR / "translations")

    @hookimpl
    def register_blueprints(self, app):
        from plugins.claims.blueprint import bp
        from plugins.claims.views import blueprints

        load_configured_catalogue(app.config, app)
        from plugins.claims import business_hours

        app.extensions[business_hours.EXTENSION] = business_hours.calendar_from_config(
            app.config)
        return [bp, *blueprints()]

    @hookimpl
    def extra_css_urls(self, area):
        from flask import url_for

        if area == "portal":
            return [url_for("claims_portal.static", filename="claims.css")]
        if area == "backoffice":  # the caretaker's pages, served under their own prefix
            return [url_for("claims_caretaker.static", filename="claims.css")]
        return None

    @hookimpl
    def navigation_items(self, user, area):
        from flask import url_for
        from flask_babel import gettext as _

        from core.accounts import Role
        from core.contributions import NavItem

        if area == "backoffice":
            from core.permissions import has_permission
            from plugins.claims.views import dashboard
            from plugins.claims.views.incidents import backoffice_navigation

            items = [*backoffice_navigation(user), *dashboard.navigation(user)]
            if has_permission(user, "claims.handle"):
                items.append(NavItem(_("Claims"), url_for("claims_backoffice.queue"),
                                     "claims_backoffice.queue", order=20))
            if user.role is Role.CARETAKER:
                items.append(NavItem(_("Claims of my buildings"),
                                     url_for("claims_caretaker.home"),
                                     "claims_caretaker.home", order=30))
            if has_permission(user, "claims.catalogue"):
                items.append(NavItem(_("Claims catalogue"), url_for("claims_catalogue.index"),
                                     "claims_catalogue.index", order=80))
            return items
        if area != "portal" or user.person_id is None:
            return None
        return [NavItem(_("Report a problem"), url_for("claims_portal.start"),
                        "claims_portal.start", order=20),
                NavItem(_("My claims"), url_for("claims_portal.my_claims"),
                        "claims_portal.my_claims", order=21)]

    @hookimpl
    def portal_cards(self, user):
        from flask import url_for
        from flask_babel import gettext as _

        from core.contributions import Card

        if user.person_id is None:
            return None
        return [Card(_("Report a problem"),
                     _("Something broken or not working in your home or the building? Tell "
                       "us in a few taps, and see who pays for the repair."),
                     url_for("claims_portal.start"), icon="repair", order=20),
                Card(_("My claims"), _("Follow the problems you reported, step by step."),
                     url_for("claims_portal.my_claims"), icon="history", order=21)]

    @hookimpl
    def backoffice_widgets(self, user):
        from flask import url_for
        from flask_babel import format_decimal
        from flask_babel import gettext as _
        from sqlalchemy import func, select

        from core.accounts import Role
        from core.contributions import Widget
        from core.extensions import db
        from core.permissions import has_permission
        from plugins.claims.models import Claim
        from plugins.claims.queries import claims_visible_to
        from plugins.claims.queue import OPEN_STATUSES
        from plugins.claims.views import dashboard
        from plugins.claims.views.caretaker import open_claims_count

        widgets = []
        if user.role is Role.CARETAKER:
            count = open_claims_count(user)
            widgets.append(Widget(_("Open claims in my buildings"),
                                  _("Find a tenant, read a dwelling's claims, report a "
                                    "problem."),
                                  figure=str(count), url=url_for("claims_caretaker.home"),
                                  order=20))
        if has_permission(user, "claims.handle"):
            open_claims = select(func.count(Claim.id)).where(claims_visible_to(user),
                                                             Claim.status.in_(OPEN_STATUSES))
            opened = db.session.scalar(open_claims) or 0
            breached = dashboard.breached_count(user)
            widgets += [
                Widget(_("Open claims"), _("Claims still to be handled, in your queue."),
                       figure=format_decimal(opened), url=url_for("claims_backoffice.queue"),
                       order=20),
                Widget(_("Claims past their deadline"),
                       _("Open claims whose deadline has passed: handle them first."),
                       figure=format_decimal(breached),
                       url=url_for("claims_backoffice.queue", breached="1"), order=21)]
        else:
            # Managers without the queue still get the dashboard's block.
            widgets += dashboard.widgets(user)
        return widgets or None

    @hookimpl
    def register_audit_actions(self):
        from flask_babel import lazy_gettext as _l

        return {
            "claims.note": _l("Claim: internal note added"),
            "claims.message": _l("Claim: message written to the tenant"),
            "claims.responsibility": _l("Claim: who pays overridden"),
            "claims.information_added": _l("Claim: information added by the tenant"),
            "claims.rated": _l("Claim: repair rated by the tenant"),
            "claims.catalogue_saved": _l("Claims catalogue: version saved"),
            "claims.catalogue_activated": _l("Claims catalogue: version put in force"),
        }

    @hookimpl
    def register_permissions(self):
        from flask_babel import lazy_gettext as _l

        from core.accounts import Role
        from core.permissions import Permission

        return [Permission("claims.handle",
                           _l("Move claims along: acknowledge, qualify, assign, plan, postpone, "
                              "resolve, close, reject, reopen"),
                           {Role.AGENT, Role.MANAGER, Role.ADMIN}),
                Permission("claims.dashboard",
                           _l("See the claims dashboard: ages, deadline breaches, satisfaction "
                              "(agents: their agency's figures)"),
                           {Role.AGENT, Role.MANAGER, Role.ADMIN}),
                Permission("claims.catalogue",
                           _l("Edit the claims catalogue (who pays for what, wording, "
                              "deadlines) and choose the version in force"),
                           {Role.ADMIN})]

    # Optional: the hook is specified by the notifications plugin, and only called when it is
    # enabled. Without optionalhook, an app without notifications would refuse to start
    # (an implementation of an unknown hook looks like a misspelt one).
    @hookimpl(optionalhook=True)
    def register_notification_kinds(self):
        from plugins.claims.notices import message_kinds

        return message_kinds()

    @hookimpl
    def attachments_visible_to(self, user):
        from sqlalchemy import and_, select

        from core.attachments import Attachment
        from plugins.claims.models import PHOTO_OWNER_TYPE, Claim
        from plugins.claims.queries import claims_visible_to

        return and_(Attachment.owner_type == PHOTO_OWNER_TYPE,
                    Attachment.owner_id.in_(select(Claim.id).where(claims_visible_to(user))))

    @hookimpl
    def personal_data(self, person):
        from plugins.claims.personal_data import personal_data

        return personal_data(person)

    @hookimpl
    def erase_personal_data(self, person):
        from plugins.claims.personal_data import erase_personal_data

        erase_personal_data(person)

    @hookimpl
    def claim_submitted(self, claim):
        # Collective incidents: in the filing transaction, group the claim with look-alikes.
        from plugins.claims.incidents import detect

        detect(claim)

    @hookimpl
    def register_cli_commands(self, cli):
        from plugins.claims.cli import claims_cli

        cli.add_command(claims_cli)

    @hookimpl
    def load_demo_data(self, today):
        from plugins.claims.demo import load_demo_claims

        load_demo_claims(today)
