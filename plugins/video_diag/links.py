"""The tenant's link to an appointment: a secret in the URL, only its hash in the database.

The secret is ``secrets.token_urlsafe(32)``: 256 random bits, beyond guessing. It is shown once,
in the message that carries the link, and stored as its SHA-256 only, so a copy of the database
opens no call. A link is found by the hash of what the visitor presents, with the database's
unique index: no stored secret is ever compared byte by byte in Python, so there is no timing to
measure (a visitor learns only "found" or "not found" for a 256-bit value, and the hash of a
near miss shares nothing with the right one). Hence no ``hmac.compare_digest`` here.

A link works from 15 minutes before the slot to its end plus ``VIDEO_DIAG_GRACE_MINUTES``,
while the appointment is scheduled and the link not revoked.
"""
from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select

from core.accounts import utcnow
from core.extensions import db
from plugins.video_diag.models import Appointment, AppointmentStatus, VideoLink

OPENS_BEFORE = timedelta(minutes=15)
SECRET_BYTES = 32
# What a secret can look like: token_urlsafe's alphabet, a bounded length.
MAX_SECRET_LENGTH = 100


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def issue_link(appointment: Appointment, helper_name: str | None = None) -> str:
    """Create a link to ``appointment`` and return its secret (to be sent, never stored)."""
    secret = secrets.token_urlsafe(SECRET_BYTES)
    db.session.add(VideoLink(appointment=appointment, token_hash=hash_secret(secret),
                             helper_name=helper_name))
    db.session.flush()
    return secret


def window(appointment: Appointment) -> tuple[datetime, datetime]:
    """When the appointment's links work, both ends included (naive UTC)."""
    grace = timedelta(minutes=current_app.config["VIDEO_DIAG_GRACE_MINUTES"])
    return appointment.starts_at - OPENS_BEFORE, appointment.ends_at + grace


def find_link(secret: str, now: datetime | None = None) -> VideoLink | None:
    """The link ``secret`` opens at ``now``, or None (unknown, revoked, too early or late)."""
    if not isinstance(secret, str) or not 0 < len(secret) <= MAX_SECRET_LENGTH:
        return None
    now = now or utcnow()
    link = db.session.scalar(select(VideoLink).where(VideoLink.token_hash == hash_secret(secret)))
    return link if link is not None and is_open(link, now) else None


def is_open(link: VideoLink, now: datetime | None = None) -> bool:
    """Whether ``link`` works at ``now``: not revoked, appointment scheduled, in its window."""
    if link.revoked_at is not None:
        return False
    appointment = link.appointment
    if appointment.status is not AppointmentStatus.SCHEDULED:
        return False
    opens, closes = window(appointment)
    return opens <= (now or utcnow()) <= closes


def revoke(link: VideoLink, now: datetime | None = None) -> None:
    """The link stops working at once (a connected socket is refused at its next message)."""
    if link.revoked_at is None:
        link.revoked_at = now or utcnow()
        db.session.flush()
