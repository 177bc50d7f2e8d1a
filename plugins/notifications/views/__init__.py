"""The plugin's pages, one blueprint per area (each module owns its routes and templates)."""
from __future__ import annotations


def blueprints() -> list:
    from plugins.notifications.views import backoffice, calls, letters, portal, sms_hooks, texts

    return [backoffice.bp, texts.bp, letters.bp, portal.bp, calls.bp, sms_hooks.bp]
