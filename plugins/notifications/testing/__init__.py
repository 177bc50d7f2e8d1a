"""Test doubles that ship with the plugin, so other plugins' tests can use them too.

Only paid outside services get a double, and it speaks their documented protocol over
loopback: :class:`~plugins.notifications.testing.fake_brevo.FakeBrevo` for Brevo's SMS API.
"""
from __future__ import annotations

from plugins.notifications.testing.fake_brevo import FakeBrevo, sms_settings

__all__ = ["FakeBrevo", "sms_settings"]
