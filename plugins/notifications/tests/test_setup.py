"""Start-up checks of the plugin's configuration, its hooks for other plugins, and its
documentation."""
from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from core.config import ConfigError
from core.extensions import db
from core.plugins import hookimpl
from plugins.notifications import notify
from plugins.notifications.channels import Accepted, Channel
from plugins.notifications.models import Message

from .conftest import run_worker

DOCS = Path(__file__).resolve().parents[3] / "docs" / "notifications.md"


@pytest.mark.parametrize("settings, message", [
    ({"NOTIFICATIONS_CHANNELS": ["mail", "pigeon"]}, "unknown channel(s): pigeon"),
    ({"NOTIFICATIONS_QUIET_HOURS": ["21h", "8h"]}, '["21:00", "08:00"]'),
    ({"NOTIFICATIONS_TIMEZONE": "Europe/Carcassonne"}, "not a time zone"),
    ({"NOTIFICATIONS_MAX_ATTEMPTS": 0}, "1 or more"),
])
def test_a_wrong_setting_stops_start_up_with_what_to_write(make_app, settings, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")
                       .replace("[", r"\[").replace("]", r"\]")):
        make_app(plugins=["notifications"], **settings)


class Duplicate(Channel):
    name = "mail"


class DuplicatePlugin:
    name = "dup"

    @hookimpl
    def register_notification_channels(self):
        return [Duplicate]


def test_two_channels_may_not_share_a_name(make_app):
    with pytest.raises(ConfigError, match="Two notification channels are named 'mail'"):
        make_app(plugins=["notifications", "dup"], extra_plugins={"dup": DuplicatePlugin()})


class Recorder(Channel):
    name = "recorder"
    label = "recorder"
    address_kind = "email"

    def deliver(self, outgoing):
        return Accepted(provider_ref="r-1", delivered=True)


class Listener:
    """A plugin that writes back to the object a message is about."""

    name = "listener"
    seen: list[tuple[str, str | None, str]] = []

    @hookimpl
    def register_notification_channels(self):
        return [Recorder]

    @hookimpl
    def notification_status_changed(self, message, status):
        Listener.seen.append((message.kind, message.object_type, status))


def test_other_plugins_hear_every_status_change(make_app, make_tenant):
    Listener.seen = []
    app = make_app(plugins=["notifications", "listener"], extra_plugins={"listener": Listener()},
                   NOTIFICATIONS_CHANNELS=["recorder"])
    tenant = make_tenant()
    with app.app_context():
        from core.accounts import User

        person = db.session.get(User, tenant.id).person
        notify(person, "notifications.test", {"sent_by": "x"}, event="e1", channel="recorder",
               obj=person)
        db.session.commit()
    run_worker(app)
    assert Listener.seen == [("notifications.test", "person", "sent"),
                             ("notifications.test", "person", "delivered")]
    with app.app_context():
        message = db.session.scalar(select(Message))
        assert [e.status for e in message.events] == ["queued", "sent", "delivered"]


def test_every_setting_is_documented(notif_app):
    text = DOCS.read_text(encoding="utf-8")
    keys = [key for key in notif_app.config if key.startswith("NOTIFICATIONS_")]
    assert len(keys) >= 10
    assert [key for key in keys if f"`{key}`" not in text] == []
