"""The core's own contributions, made through the same hooks as any plugin (``trylast``), so
that the hook API is exercised every day and a plugin can come before them."""
from __future__ import annotations

from datetime import date, datetime

from flask import url_for
from flask_babel import format_date, format_decimal
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, true

from core.accounts import Role, User
from core.attachments import Attachment
from core.contributions import Card, NavItem, TimelineEntry, Widget
from core.estate import Dwelling, Residence, home_summary
from core.extensions import db
from core.permissions import Permission, has_permission
from core.plugins import Plugin, hookimpl


class PersonalData:
    """The core's part of a person's data: identity, household, leases, accounts, files and
    the audit events about them (mixed into :class:`CorePlugin`)."""

    @hookimpl(trylast=True)
    def personal_data(self, person):
        from core.audit import AuditEvent

        household = person.household
        accounts = db.session.scalars(select(User).where(User.person_id == person.id)).all()
        files = db.session.scalars(
            select(Attachment).where(Attachment.person_id == person.id)).all()
        events = db.session.scalars(
            select(AuditEvent).where(AuditEvent.person_id == person.id,
                                     AuditEvent.redacted.is_(False))
            .order_by(AuditEvent.seq)).all()
        return {
            "personne": {"reference": person.reference, "civilite": person.civility,
                         "prenom": person.first_name, "nom": person.last_name,
                         "email": person.email, "telephone": person.phone},
            "menage": None if household is None else {
                "reference": household.reference,
                "membres": [f"{p.first_name} {p.last_name}" for p in household.members],
                "baux": [{"reference": lease.reference, "logement": lease.dwelling.reference,
                          "adresse": lease.dwelling.address_lines,
                          "debut": lease.start_date, "fin": lease.end_date}
                         for lease in household.leases],
            },
            "comptes": [{"email": a.email, "role": a.role.value, "actif": a.active,
                         "langue": a.locale, "cree_le": a.created_at} for a in accounts],
            "fichiers": [{"nom": f.original_name, "type": f.media_type, "taille": f.size,
                          "ajoute_le": f.created_at, "objet": f"{f.owner_type} {f.owner_id}"}
                         for f in files],
            "journal": [{"date": e.occurred_at, "action": e.action, "par": e.actor_label,
                         "objet": f"{e.object_type or ''} {e.object_id or ''}".strip()}
                        for e in events],
        }

    @hookimpl(trylast=True)
    def erase_personal_data(self, person):
        from core.accounts import AccountToken
        from core.attachments import delete_attachment

        user_ids = list(db.session.scalars(select(User.id).where(User.person_id == person.id)))
        for attachment in db.session.scalars(
                select(Attachment).where(Attachment.person_id == person.id)).all():
            delete_attachment(attachment)
        for token in db.session.scalars(select(AccountToken).where(
                (AccountToken.person_id == person.id) | AccountToken.user_id.in_(user_ids))):
            db.session.delete(token)
        for account in db.session.scalars(select(User).where(User.id.in_(user_ids))):
            db.session.delete(account)


class CorePlugin(PersonalData, Plugin):
    """The platform itself: account, dwelling and history for tenants; estate for staff."""

    name = "core"

    @hookimpl(trylast=True)
    def register_permissions(self):
        return [
            Permission("core.manage_accounts", _l("Create, disable and enable staff accounts"),
                       {Role.ADMIN}),
            Permission("core.read_mailbox", _l("Read the mail kept when no relay is set up"),
                       {Role.ADMIN}),
            Permission("core.erase_person", _l("Erase a person's data (right to erasure)"),
                       {Role.ADMIN}),
            Permission("core.import_estate", _l("Import the estate from the ERP's export"),
                       {Role.ADMIN, Role.MANAGER}),
            Permission("core.read_audit_log", _l("Search the audit log"), {Role.ADMIN}),
            Permission("core.view_tenant_files",
                       _l("Look up tenants and open their files (caretakers: their buildings)"),
                       {Role.CARETAKER, Role.TECHNICIAN, Role.AGENT, Role.MANAGER, Role.ADMIN}),
        ]

    @hookimpl(trylast=True)
    def navigation_items(self, user, area):
        if area == "portal":
            return [
                NavItem(_("Home"), url_for("portal.home"), "portal.home", order=0),
                NavItem(_("My history"), url_for("portal.timeline"), "portal.timeline",
                        order=900),
                NavItem(_("My password"), url_for("account.change_password"),
                        "account.change_password", order=990),
            ]
        if area == "backoffice":
            # Each entry shows when its page would open: the same permission decides both.
            entries = [
                ("core.view_tenant_files", _("Tenant files"), "tenant_files.search", 100),
                ("core.import_estate", _("Estate import"), "estate_import.upload", 880),
                ("core.manage_accounts", _("Accounts"), "backoffice.users", 900),
                ("core.read_mailbox", _("Mailbox"), "backoffice.mailbox", 940),
                ("core.read_audit_log", _("Audit log"), "audit_log.search", 960),
            ]
            items = [NavItem(_("Home"), url_for("backoffice.home"), "backoffice.home", order=0)]
            items += [NavItem(label, url_for(endpoint), endpoint, order=order)
                      for permission, label, endpoint, order in entries
                      if has_permission(user, permission)]
            if user.role is Role.ADMIN:
                items.append(NavItem(_("Plugins"), url_for("backoffice.plugins"),
                                     "backoffice.plugins", order=950))
            items.append(NavItem(_("My password"), url_for("account.change_password"),
                                 "account.change_password", order=990))
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
                  kind=home.kind, surface=format_decimal(home.surface_m2),
                  floor=home.floor, address=", ".join(home.address_lines)),
                url_for("portal.dwelling"), icon="home", order=10))
        cards.append(Card(_("My history"),
                          _("Every exchange with your landlord, whatever the channel."),
                          url_for("portal.timeline"), icon="history", order=900))
        cards.append(Card(_("My personal data"),
                          _("See what your landlord keeps about you, and download it."),
                          url_for("portal.my_data"), icon="info", order=990))
        return cards

    @hookimpl(trylast=True)
    def backoffice_widgets(self, user):
        dwellings = db.session.scalar(select(func.count(Dwelling.id)))
        residences = db.session.scalar(select(func.count(Residence.id)))
        tenants = db.session.scalar(
            select(func.count(User.id)).where(User.role == Role.TENANT, User.active))
        widgets = [
            Widget(_("Estate"), _("%(count)s residences", count=residences),
                   figure=format_decimal(dwellings) + " " + _("dwellings"), order=10),
            Widget(_("Tenant accounts"), _("Tenants who can use the portal."),
                   figure=format_decimal(tenants), order=20),
        ]
        if user.role is Role.ADMIN:
            widgets.append(Widget(_("Plugins"), _("Enabled plugins and their routes."),
                                  url=url_for("backoffice.plugins"), order=950))
        return widgets

    @hookimpl(trylast=True)
    def attachments_visible_to(self, user):
        # Tenants see the files about their own person; staff other than administrators see
        # what the plugin owning each file allows.
        if user.role is Role.ADMIN:
            return true()
        if user.role is Role.TENANT and user.person_id is not None:
            return Attachment.person_id == user.person_id
        return None

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



