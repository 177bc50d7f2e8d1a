"""Video diagnosis appointments and the tenant's links to them.

Times are naive UTC, like the rest of Palier. An appointment keeps the ``uid`` and the
``ics_sequence`` of its iCalendar invitation, so that an update or a cancellation replaces the
event already in the technician's calendar. A :class:`VideoLink` stores only the SHA-256 of the
secret the tenant receives (:mod:`plugins.video_diag.links`).
"""
from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.accounts import utcnow
from core.extensions import db


class AppointmentStatus(str, enum.Enum):
    SCHEDULED = "scheduled"    # planifié
    CANCELLED = "cancelled"    # annulé
    DONE = "done"              # réalisé


def _new_uid() -> str:
    return f"{uuid.uuid4()}@palier.video_diag"


class Appointment(db.Model):
    """A video diagnosis slot between a technician and the household of a claim."""

    __tablename__ = "video_diag_appointment"
    __table_args__ = (
        # The technician's agenda: their appointments by start time.
        Index("ix_video_diag_appointment_technician_starts", "technician_id", "starts_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims_claim.id"), index=True)
    technician_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    status: Mapped[AppointmentStatus] = mapped_column(
        db.Enum(AppointmentStatus, native_enum=False, length=12,
                values_callable=lambda members: [m.value for m in members]),
        default=AppointmentStatus.SCHEDULED)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # iCalendar: the same UID for every version of the invitation, SEQUENCE counting them.
    ics_sequence: Mapped[int] = mapped_column(default=0)
    uid: Mapped[str] = mapped_column(String(120), unique=True, default=_new_uid)

    links: Mapped[list[VideoLink]] = relationship(back_populates="appointment")

    @property
    def room(self) -> str:
        """The Socket.IO room of the call."""
        return f"video_diag:{self.id}"


class VideoLink(db.Model):
    """A tenant's (or a declared helper's) way into one appointment, without an account."""

    __tablename__ = "video_diag_link"

    id: Mapped[int] = mapped_column(primary_key=True)
    appointment_id: Mapped[int] = mapped_column(
        ForeignKey("video_diag_appointment.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)  # SHA-256, hex
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]
    # Set for the one helper (a relative who interprets) the tenant may bring; None: the tenant.
    helper_name: Mapped[str | None] = mapped_column(String(120))

    appointment: Mapped[Appointment] = relationship(back_populates="links")


MODELS = [Appointment, VideoLink]
