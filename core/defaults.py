"""The core's own contributions, made through the same hooks as any plugin (``trylast``), so
that the hook API is exercised every day and a plugin can come before them."""
from __future__ import annotations

from datetime import date, datetime

from flask import url_for
from flask_babel import format_date, format_decimal
from flask_babel import gettext as _
from sqlalchemy import func, select

from core.accounts import Role, User
from core.contributions import Card, NavItem, TimelineEntry, Widget
from core.estate import Dwelling, Residence, home_summary
from core.extensions import db
from core.plugins import Plugin, hookimpl


class CorePlugin(Plugin):
    """The platform itself: account, dwelling and history for tenants; estate for staff."""

    name = "core"

    @hookimpl(trylast=True)
    def navigation_items(self, user, area):
        if area == "portal":
            return [
                NavItem(_("Home"), url_for("portal.home"), "portal.home", order=0),
                NavItem(_("My history"), url_for("portal.timeline"), "portal.timeline",
                        order=900),
            ]
        if area == "backoffice":
            items = [NavItem(_("Home"), url_for("backoffice.home"), "backoffice.home", order=0)]
            if user.role in (Role.ADMIN, Role.MANAGER):
                items.append(NavItem(_("Estate import"), url_for("estate_import.upload"),
                                     "estate_import.upload", order=900))
            if user.role is Role.ADMIN:
                items.append(NavItem(_("Plugins"), url_for("backoffice.plugins"),
                                     "backoffice.plugins", order=950))
            return items
        return []

    @hookimpl(trylast=True)
    def portal_cards(self, user):
        cards = []
        home = home_summary(user.person_id, date.today()) if user.person_id else None
        if home is not None:
            cards.append(Card(
                _("My home"),
                _("%(kind)s of %(surface)s m², floor %(floor)s — %(address)s",
                  kind=home.kind, surface=_number(home.surface_m2),
                  floor=home.floor, address=", ".join(home.address_lines)),
                url_for("portal.dwelling"), icon="home", order=10))
        cards.append(Card(_("My history"),
                          _("Every exchange with your landlord, whatever the channel."),
                          url_for("portal.timeline"), icon="history", order=900))
        return cards

    @hookimpl(trylast=True)
    def backoffice_widgets(self, user):
        dwellings = db.session.scalar(select(func.count(Dwelling.id)))
        residences = db.session.scalar(select(func.count(Residence.id)))
        tenants = db.session.scalar(
            select(func.count(User.id)).where(User.role == Role.TENANT, User.active))
        widgets = [
            Widget(_("Estate"), _("%(count)s residences", count=residences),
                   figure=_number(dwellings) + " " + _("dwellings"), order=10),
            Widget(_("Tenant accounts"), _("Tenants who can use the portal."),
                   figure=_number(tenants), order=20),
        ]
        if user.role is Role.ADMIN:
            widgets.append(Widget(_("Plugins"), _("Enabled plugins and their routes."),
                                  url=url_for("backoffice.plugins"), order=950))
        return widgets

    @hookimpl(trylast=True)
    def timeline_entries(self, person, since):
        entries = []
        if person.household is None:
            return entries
        for lease in person.household.leases:
            moved_in = datetime.combine(lease.start_date, datetime.min.time())
            if moved_in >= since:
                entries.append(TimelineEntry(
                    moved_in, _("Moved in"),
                    _("Lease %(reference)s starts on %(day)s.", reference=lease.reference,
                      day=format_date(lease.start_date, "long")),
                    channel="lease"))
        return entries


def _number(value) -> str:
    return format_decimal(value)

