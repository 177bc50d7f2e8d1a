"""The channel registry: channel classes from the ``register_notification_channels`` hook,
the enabled ones instantiated once per app with their checked configuration."""
from __future__ import annotations

from flask import current_app

from core.config import ConfigError
from plugins.notifications.channels.base import (
    Accepted,
    Attachment,
    Channel,
    DeliveryError,
    Outgoing,
    PermanentFailure,
    TemporaryFailure,
)

__all__ = ["Accepted", "Attachment", "Channel", "ChannelRegistry", "DeliveryError", "Outgoing",
           "PermanentFailure", "TemporaryFailure", "registry"]

EXTENSION = "palier.notifications"


class ChannelRegistry:
    """Every known channel class, by name, and the enabled ones as instances."""

    def __init__(self, classes: list[type[Channel]], enabled: list[str], config):
        self.classes: dict[str, type[Channel]] = {}
        for cls in classes:
            if not cls.name:
                raise ConfigError(f"Notification channel {cls.__qualname__} has no name.")
            if cls.name in self.classes:
                raise ConfigError(
                    f"Two notification channels are named {cls.name!r} "
                    f"({self.classes[cls.name].__module__} and {cls.__module__}): "
                    "channel names must be unique.")
            self.classes[cls.name] = cls
        unknown = [name for name in enabled if name not in self.classes]
        if unknown:
            raise ConfigError(
                f"NOTIFICATIONS_CHANNELS names unknown channel(s): {', '.join(unknown)}. "
                f"Known: {', '.join(sorted(self.classes))}.")
        self.enabled: dict[str, Channel] = {}
        for name in enabled:
            cls = self.classes[name]
            cls.check_config(config)
            self.enabled[name] = cls(config)

    def __contains__(self, name: str) -> bool:
        return name in self.enabled

    def __getitem__(self, name: str) -> Channel:
        return self.enabled[name]

    def close(self) -> None:
        for channel in self.enabled.values():
            channel.close()


def registry(app=None) -> ChannelRegistry:
    app = app or current_app
    return app.extensions[EXTENSION]
