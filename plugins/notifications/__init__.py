"""Notifications: how every other plugin reaches people.

Mail, letter (PDF), fax, SMS and phone call list, with the tenants' preferences and fallbacks;
messages go through a transactional outbox that ``palier worker`` delivers. Other plugins call
:func:`plugins.notifications.notify` (see ``docs/notifications.md``).
"""
from __future__ import annotations

from pathlib import Path

from core import Plugin, hookimpl
from core.config import ConfigError, Setting
from plugins.notifications import hookspecs

PACKAGE_DIR = Path(__file__).resolve().parent

__all__ = ["NotificationsPlugin", "notify", "notify_many"]


def notify(*args, **kwargs):
    """Queue a message in the current transaction (:func:`plugins.notifications.outbox.notify`)."""
    from plugins.notifications.outbox import notify as _notify

    return _notify(*args, **kwargs)


def notify_many(*args, **kwargs):
    """Queue one message per person (:func:`plugins.notifications.outbox.notify_many`)."""
    from plugins.notifications.outbox import notify_many as _notify_many

    return _notify_many(*args, **kwargs)


SETTINGS = [
    Setting("NOTIFICATIONS_CHANNELS", ["mail", "letter", "phone"],
            "Channels switched on, by name (mail, letter, fax, sms, phone; plugins add more, "
            "e.g. voice). A channel that needs a provider is switched on once configured."),
    Setting("NOTIFICATIONS_FALLBACKS",
            {"sms": ["voice", "letter"], "mail": ["letter"], "voice": ["letter"],
             "fax": ["letter"], "phone": ["letter"]},
            "Where a message goes when its channel gives up (dead letter): channel → next "
            "channels, the first switched-on one with an address is queued."),
    Setting("NOTIFICATIONS_MAX_ATTEMPTS", 6,
            "Attempts on one channel before the message becomes a dead letter."),
    Setting("NOTIFICATIONS_BACKOFF_SECONDS", 30,
            "Delay before the second attempt; it doubles at each attempt (with jitter)."),
    Setting("NOTIFICATIONS_BACKOFF_MAX_SECONDS", 6 * 3600,
            "Longest delay between two attempts."),
    Setting("NOTIFICATIONS_QUIET_HOURS", ["21:00", "08:00"],
            "No SMS and no call between these local times unless the message is urgent."),
    Setting("NOTIFICATIONS_TIMEZONE", "Europe/Paris", "Time zone of the quiet hours."),
    Setting("NOTIFICATIONS_LEASE_SECONDS", 300,
            "How long a worker holds a claimed message before another may take it over "
            "(a worker that died). Longer than the slowest channel's timeout."),
    Setting("NOTIFICATIONS_BATCH_SIZE", 50, "Messages a worker claims at once."),
    Setting("NOTIFICATIONS_POLL_SECONDS", 2.0,
            "How often an idle worker looks for due messages."),
]


class NotificationsPlugin(Plugin):
    """Notifications: mail, letter, fax, SMS and phone, with preferences and fallbacks.

    Every message is written to an outbox in the transaction of the event that causes it,
    and ``palier worker`` delivers it with retries, quiet hours and a dead-letter queue.
    """

    name = "notifications"
    hookspecs = hookspecs

    @hookimpl
    def register_settings(self):
        from plugins.notifications.channels.registry_defaults import channel_settings

        return SETTINGS + channel_settings()

    @hookimpl
    def register_models(self):
        from plugins.notifications.models import MODELS

        return MODELS

    @hookimpl
    def register_migrations(self):
        return str(PACKAGE_DIR / "migrations" / "versions")

    @hookimpl
    def register_translations(self):
        return str(PACKAGE_DIR / "translations")

    @hookimpl
    def register_notification_channels(self):
        from plugins.notifications.channels.registry_defaults import builtin_channels

        return builtin_channels()

    @hookimpl
    def register_notification_kinds(self):
        from plugins.notifications.builtin_kinds import KINDS

        return KINDS

    @hookimpl
    def register_blueprints(self, app):
        from core.plugins import flatten
        from core.plugins import registry as plugin_registry
        from plugins.notifications.channels import EXTENSION, ChannelRegistry
        from plugins.notifications.kinds import collect_kinds
        from plugins.notifications.views import blueprints

        hook = plugin_registry(app).hook
        _check_settings(app.config)
        app.extensions[EXTENSION] = ChannelRegistry(
            flatten(hook.register_notification_channels()),
            list(app.config["NOTIFICATIONS_CHANNELS"]), app.config)
        app.extensions["palier.notifications.kinds"] = collect_kinds(
            flatten(hook.register_notification_kinds()))
        return blueprints()

    @hookimpl
    def register_audit_actions(self):
        from flask_babel import lazy_gettext as _l

        return {
            "notifications.queued": _l("Messages queued for many people"),
            "notifications.retry": _l("Message: sending tried again"),
            "notifications.call": _l("Phone call recorded"),
            "notifications.preferences": _l("Contact preferences changed"),
            "notifications.text_edited": _l("Message text edited"),
            "notifications.text_restored": _l("Message text restored"),
            "notifications.test_sent": _l("Test message sent"),
            "notifications.print_batch_assembled": _l("Letters: print batch assembled"),
            "notifications.print_batch_downloaded": _l("Letters: print batch downloaded"),
        }

    @hookimpl
    def register_permissions(self):
        from flask_babel import lazy_gettext as _l

        from core.accounts import Role
        from core.permissions import Permission

        office = {Role.AGENT, Role.MANAGER, Role.ADMIN}
        return [
            Permission("notifications.read_log",
                       _l("See the messages sent to tenants and what became of them"), office),
            Permission("notifications.retry", _l("Send a failed message again"), office),
            Permission("notifications.send_test", _l("Send a test message on any channel"),
                       {Role.ADMIN}),
            Permission("notifications.edit_texts",
                       _l("Edit the texts of the messages, preview and test them"),
                       {Role.ADMIN}),
            Permission("notifications.call",
                       _l("Call tenants from the call list and record what each call gave"),
                       office),
            Permission("notifications.print_letters",
                       _l("Download the day's letters to print and post"), office),
        ]

    @hookimpl
    def navigation_items(self, user, area):
        from flask import url_for
        from flask_babel import gettext as _

        from core.contributions import NavItem
        from core.permissions import has_permission

        items = []
        if area == "backoffice" and has_permission(user, "notifications.read_log"):
            items.append(NavItem(_("Messages"), url_for("notifications.log"),
                                 "notifications.log", order=60))
        if area == "backoffice" and has_permission(user, "notifications.print_letters"):
            items.append(NavItem(_("Letters to print"), url_for("notifications_letters.batches"),
                                 "notifications_letters.batches", order=61))
        if area == "backoffice" and has_permission(user, "notifications.call"):
            items.append(NavItem(_("Calls to make"), url_for("notifications_calls.calls"),
                                 "notifications_calls.calls", order=62))
        if area == "portal" and user.person_id is not None:
            items.append(NavItem(_("How we contact you"),
                                 url_for("notifications_portal.preferences"),
                                 "notifications_portal.preferences", order=950))
        return items or None

    @hookimpl
    def portal_cards(self, user):
        from flask import url_for
        from flask_babel import gettext as _

        from core.contributions import Card

        if user.person_id is None:
            return None
        return [Card(_("How we contact you"),
                     _("Choose how we send you each kind of message, and tell us what "
                       "makes messages hard for you to read."),
                     url_for("notifications_portal.preferences"), icon="mail", order=950)]

    @hookimpl
    def backoffice_widgets(self, user):
        from flask import url_for
        from flask_babel import format_decimal
        from flask_babel import gettext as _
        from sqlalchemy import func, select

        from core.contributions import Widget
        from core.extensions import db
        from core.permissions import has_permission
        from plugins.notifications.models import Message, Status

        if not has_permission(user, "notifications.read_log"):
            return None
        dead = db.session.scalar(select(func.count(Message.id)).where(
            Message.status == Status.FAILED)) or 0
        return [Widget(_("Messages not sent"),
                       _("Dead letters: messages given up after their last attempt, waiting "
                         "for someone to look at them."),
                       figure=format_decimal(dead),
                       url=url_for("notifications.log", status="failed"), order=60)]

    @hookimpl
    def register_cli_commands(self, cli):
        from plugins.notifications.cli import notify_cli, worker_command

        cli.add_command(worker_command)
        cli.add_command(notify_cli)

    @hookimpl
    def load_demo_data(self, today):
        from plugins.notifications.demo import load_demo_messages

        load_demo_messages(today)

    @hookimpl
    def timeline_entries(self, person, since):
        from plugins.notifications.history import timeline_entries

        return timeline_entries(person, since)

    @hookimpl
    def personal_data(self, person):
        from plugins.notifications.history import personal_data

        return personal_data(person)

    @hookimpl
    def erase_personal_data(self, person):
        from plugins.notifications.history import erase_personal_data

        erase_personal_data(person)


def _check_settings(config) -> None:
    quiet = config["NOTIFICATIONS_QUIET_HOURS"]
    from datetime import datetime

    try:
        if len(quiet) != 2:
            raise ValueError
        for value in quiet:
            datetime.strptime(value, "%H:%M")
    except (TypeError, ValueError):
        raise ConfigError(
            f"NOTIFICATIONS_QUIET_HOURS={quiet!r}: give a start and an end, "
            '["21:00", "08:00"].') from None
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(config["NOTIFICATIONS_TIMEZONE"])
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"NOTIFICATIONS_TIMEZONE={config['NOTIFICATIONS_TIMEZONE']!r} is "
                          "not a time zone (Europe/Paris, America/Cayenne...).") from None
    for key in ("NOTIFICATIONS_MAX_ATTEMPTS", "NOTIFICATIONS_BATCH_SIZE"):
        value = config[key]
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(f"{key}={value!r}: give a whole number, 1 or more.")
