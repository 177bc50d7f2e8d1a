"""The channels shipped with the plugin, and their settings (their configuration schemas)."""
from __future__ import annotations


def builtin_channels() -> list[type]:
    from plugins.notifications.channels.fax import FaxChannel
    from plugins.notifications.channels.letter import LetterChannel
    from plugins.notifications.channels.mail import MailChannel

    return [MailChannel, LetterChannel, FaxChannel]


def channel_settings() -> list:
    return [setting for cls in builtin_channels() for setting in cls.settings]
