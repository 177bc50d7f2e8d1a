"""The channels shipped with the plugin, and their settings (their configuration schemas)."""
from __future__ import annotations


def builtin_channels() -> list[type]:
    from plugins.notifications.channels.fax import FaxChannel
    from plugins.notifications.channels.letter import LetterChannel
    from plugins.notifications.channels.mail import MailChannel
    from plugins.notifications.channels.phone import PhoneChannel
    from plugins.notifications.channels.sms import SmsChannel

    return [MailChannel, LetterChannel, FaxChannel, PhoneChannel, SmsChannel]


def channel_settings() -> list:
    return [setting for cls in builtin_channels() for setting in cls.settings]
