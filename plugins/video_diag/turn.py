"""Time-limited TURN credentials, as coturn's ``use-auth-secret`` checks them.

The "TURN REST API" scheme (draft-uberti-behave-turn-rest): Palier and the TURN server share a
secret (``VIDEO_DIAG_TURN_SECRET``, coturn's ``static-auth-secret``). The username is
``"<expiry as a Unix time>:<user key>"``, the password ``base64(HMAC-SHA1(secret, username))``.
coturn recomputes the HMAC and refuses a username whose time has passed, so the credentials
given to a browser expire by themselves and reveal nothing of the secret.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime, timedelta

from flask import current_app

from core.accounts import utcnow

# Credentials never outlive this, whatever the appointment's length.
MAX_TTL = timedelta(hours=2)


def turn_credentials(secret: str, user_key: str, expires_at: datetime) -> tuple[str, str]:
    """(username, credential) valid until ``expires_at`` (naive UTC)."""
    expiry = int(expires_at.replace(tzinfo=UTC).timestamp())
    username = f"{expiry}:{user_key}"
    digest = hmac.new(secret.encode("utf-8"), username.encode("utf-8"), hashlib.sha1).digest()
    return username, base64.b64encode(digest).decode("ascii")


def credential_expiry(appointment, now: datetime | None = None) -> datetime:
    """A lifetime no longer than the appointment's length (nor ``MAX_TTL``), from ``now``.

    Asked when a participant joins, at most 15 minutes early or during the grace period: a call
    that overruns joins again (a reconnection asks anew) rather than holding long-lived keys.
    """
    now = now or utcnow()
    return now + min(appointment.ends_at - appointment.starts_at, MAX_TTL)


def ice_servers(appointment, user_key: str, now: datetime | None = None) -> list[dict]:
    """The RTCPeerConnection ``iceServers`` for one participant of ``appointment``."""
    urls = list(current_app.config["VIDEO_DIAG_ICE_SERVERS"])
    if not urls:
        return []
    stun = [url for url in urls if url.startswith(("stun:", "stuns:"))]
    turn = [url for url in urls if url.startswith(("turn:", "turns:"))]
    servers = [{"urls": stun}] if stun else []
    secret = current_app.config["VIDEO_DIAG_TURN_SECRET"]
    if turn and secret:
        username, credential = turn_credentials(
            secret, user_key, credential_expiry(appointment, now))
        servers.append({"urls": turn, "username": username, "credential": credential})
    return servers
