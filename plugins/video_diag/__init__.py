"""Video diagnosis: a technician sees the tenant's problem through the tenant's phone camera.

Off by default: not among the built-in plugins a new instance enables, until its pages (the
tenant's link page and the technician's console) exist. This first part holds the appointments,
the tenant's link (a secret stored hashed, valid around the slot), time-limited TURN
credentials, the signaling wire format and the ``/video`` Socket.IO namespace that relays it
within one appointment's room. See ``docs/video_diag.md``.
"""
from __future__ import annotations

from pathlib import Path

from core import Plugin, hookimpl
from core.config import ConfigError, Setting

PACKAGE_DIR = Path(__file__).resolve().parent

__all__ = ["VideoDiagPlugin"]

SETTINGS = [
    Setting("VIDEO_DIAG_GRACE_MINUTES", 30,
            "Video diagnosis: how many minutes after the end of the slot the tenant's link "
            "still works (it works from 15 minutes before the start)."),
    Setting("VIDEO_DIAG_ICE_SERVERS", [],
            "Video diagnosis: STUN/TURN server URLs given to both browsers, e.g. "
            "[\"stun:turn.example.org:3478\", \"turn:turn.example.org:3478?transport=udp\"]."),
    Setting("VIDEO_DIAG_TURN_SECRET", "",
            "Video diagnosis: the shared secret of the TURN server (coturn's "
            "static-auth-secret with use-auth-secret); empty: no TURN credentials are given."),
]


def check_settings(config) -> None:
    """Stop start-up on a wrong video diagnosis setting."""
    grace = config["VIDEO_DIAG_GRACE_MINUTES"]
    if isinstance(grace, bool) or not isinstance(grace, int) or not 0 <= grace <= 24 * 60:
        raise ConfigError(f"VIDEO_DIAG_GRACE_MINUTES={grace!r}: give a whole number of "
                          "minutes between 0 and 1440 (PALIER_VIDEO_DIAG_GRACE_MINUTES=30).")
    servers = config["VIDEO_DIAG_ICE_SERVERS"]
    if not isinstance(servers, list | tuple) or not all(
            isinstance(url, str) and url.split(":", 1)[0] in ("stun", "stuns", "turn", "turns")
            for url in servers):
        raise ConfigError(f"VIDEO_DIAG_ICE_SERVERS={servers!r}: give a list of stun:, stuns:, "
                          "turn: or turns: URLs.")
    if not isinstance(config["VIDEO_DIAG_TURN_SECRET"], str):
        raise ConfigError("VIDEO_DIAG_TURN_SECRET: give a string.")


class VideoDiagPlugin(Plugin):
    """Video diagnosis: appointments where a technician sees the problem through the tenant's phone.

    Off by default (not a built-in plugin a new instance enables) until its pages exist: this
    part gives appointments, the tenant's link without an account, TURN credentials and the
    ``/video`` signaling namespace. Needs claims.
    """

    name = "video_diag"
    requires = ("claims",)

    @hookimpl
    def register_settings(self):
        return SETTINGS

    @hookimpl
    def register_models(self):
        from plugins.video_diag.models import MODELS

        return MODELS

    @hookimpl
    def register_migrations(self):
        return str(PACKAGE_DIR / "migrations" / "versions")

    @hookimpl
    def register_blueprints(self, app):
        check_settings(app.config)
        return []

    @hookimpl
    def register_socketio_namespaces(self):
        from plugins.video_diag.signaling import VideoNamespace

        return [VideoNamespace("/video")]
