"""Fixtures of the notifications tests: an app with the plugin and a loopback SMTP relay."""
from __future__ import annotations

import pytest


@pytest.fixture
def notif_app(make_app, smtp_server):
    """An app with the notifications plugin whose mail goes to a real loopback SMTP server."""
    return make_app(plugins=["notifications"], MAIL_SERVER=smtp_server.host,
                    MAIL_PORT=smtp_server.port, NOTIFICATIONS_CHANNELS=["mail"])


def run_worker(app, **options):
    """Deliver every due message, in this process, and return how many were handled."""
    from plugins.notifications.worker import Worker

    options.setdefault("poll_seconds", 0)
    return Worker(app, name="test-worker", **options).run(until_idle=True)
