"""The outbox and what surrounds it: messages, their status history, preferences, opt-outs and
the templates administrators edited.

A :class:`Message` is one notification to one recipient on one channel. It is written in the
transaction of the event that causes it (a claim acknowledged, a notice posted), so the event
and its message exist together or not at all; ``palier worker`` then delivers it.
"""
from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.accounts import utcnow
from core.extensions import db


class Status(str, enum.Enum):
    """Where a message stands. ``failed`` is the dead letter: staff see it and may retry."""

    QUEUED = "queued"          # waiting for a worker, or for its time (``not_before``)
    SENDING = "sending"        # claimed by a worker until ``lease_until``
    SENT = "sent"              # accepted by the channel (relay, provider, print batch, call list)
    DELIVERED = "delivered"    # the recipient got it (receipt, call answered)
    FAILED = "failed"          # given up: refused, or the last attempt failed
    BOUNCED = "bounced"        # accepted, then reported undeliverable
    CANCELLED = "cancelled"    # withdrawn before it left (e.g. the person was erased)

    @property
    def is_final(self) -> bool:
        return self in (Status.DELIVERED, Status.FAILED, Status.BOUNCED, Status.CANCELLED)


# Statuses a worker may still act on.
PENDING = (Status.QUEUED, Status.SENDING)


class Message(db.Model):
    """One notification to one recipient on one channel (the outbox row)."""

    __tablename__ = "notifications_message"
    # Not in the audit log: a message keeps its own history (MessageEvent), and its payload
    # and text are personal data that an append-only, hash-chained log could only blank.
    # Staff actions on messages (a retry, a call outcome) are audited explicitly.
    __audit__ = False
    __table_args__ = (
        # The workers' claim: due rows of one status, oldest first.
        Index("ix_notifications_message_due", "status", "not_before"),
        Index("ix_notifications_message_object", "object_type", "object_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # One message per (event, recipient, channel): queuing it twice is a no-op, and the key
    # travels with the message (the mail's Message-ID) so a receiver can drop a re-send.
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    event: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(80))
    channel: Mapped[str] = mapped_column(String(20))
    person_id: Mapped[int | None] = mapped_column(
        ForeignKey("person.id", ondelete="SET NULL"), index=True)
    # Where it goes, fixed when queued: an e-mail address, a phone or fax number, or the
    # postal address lines joined by newlines.
    address: Mapped[str] = mapped_column(String(400))
    recipient_name: Mapped[str] = mapped_column(String(250), default="")
    locale: Mapped[str] = mapped_column(String(8))
    context: Mapped[dict] = mapped_column(JSON, default=dict)
    urgent: Mapped[bool] = mapped_column(default=False)
    status: Mapped[Status] = mapped_column(
        db.Enum(Status, native_enum=False, length=12,
                values_callable=lambda members: [m.value for m in members]),
        default=Status.QUEUED)
    attempts: Mapped[int] = mapped_column(default=0)
    not_before: Mapped[datetime] = mapped_column(default=utcnow)
    lease_until: Mapped[datetime | None] = mapped_column()
    worker: Mapped[str | None] = mapped_column(String(80))
    last_error: Mapped[str | None] = mapped_column(String(500))
    # The provider's or relay's reference (Message-ID, SMS id), for receipts.
    provider_ref: Mapped[str | None] = mapped_column(String(200), index=True)
    # What was sent, kept as proof once it left: subject and text.
    sent_subject: Mapped[str | None] = mapped_column(String(300))
    sent_text: Mapped[str | None] = mapped_column(Text)
    fallback_of_id: Mapped[int | None] = mapped_column(
        ForeignKey("notifications_message.id", ondelete="SET NULL"), index=True)
    # The object the message is about (a claim, an appointment), for its page.
    object_type: Mapped[str | None] = mapped_column(String(60))
    object_id: Mapped[int | None] = mapped_column()
    # Letters: the daily print batch that holds this one.
    batch_id: Mapped[int | None] = mapped_column(
        ForeignKey("notifications_print_batch.id", ondelete="SET NULL"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column()
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    events: Mapped[list[MessageEvent]] = relationship(
        back_populates="message", order_by="MessageEvent.id", cascade="all, delete-orphan",
        passive_deletes=True)
    fallback_of: Mapped[Message | None] = relationship(remote_side=[id])

    def __repr__(self) -> str:
        return f"<Message {self.id} {self.kind} {self.channel} {self.status.value}>"


class MessageEvent(db.Model):
    """One step of a message's history: queued, sent, delivered, failed... with a detail."""

    __tablename__ = "notifications_message_event"
    __audit__ = False  # the message's own history (see Message)

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(
        ForeignKey("notifications_message.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    status: Mapped[str] = mapped_column(String(12))
    detail: Mapped[str] = mapped_column(String(500), default="")

    message: Mapped[Message] = relationship(back_populates="events")


class Preference(db.Model):
    """The channel a person chose for one kind of message."""

    __tablename__ = "notifications_preference"
    __table_args__ = (UniqueConstraint("person_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(80))
    channel: Mapped[str] = mapped_column(String(20))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Profile(db.Model):
    """What steers a person's messages whatever their kind: accessibility needs."""

    __tablename__ = "notifications_profile"

    person_id: Mapped[int] = mapped_column(
        ForeignKey("person.id", ondelete="CASCADE"), primary_key=True)
    # No smartphone: no links to follow, so no SMS nor mail by default; letter or voice.
    no_smartphone: Mapped[bool] = mapped_column(default=False)
    # Visual impairment: voice first when the voice channel is on, else letter in large type.
    visual_impairment: Mapped[bool] = mapped_column(default=False)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class OptOut(db.Model):
    """An address that asked for no more messages on a channel (an SMS "STOP")."""

    __tablename__ = "notifications_opt_out"
    __table_args__ = (UniqueConstraint("channel", "address"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(20))
    address: Mapped[str] = mapped_column(String(400))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class PrintBatch(db.Model):
    """A day's letters in one PDF, with a cover sheet, that staff print and post."""

    __tablename__ = "notifications_print_batch"

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(unique=True)
    letters: Mapped[int] = mapped_column(default=0)
    pages: Mapped[int] = mapped_column(default=0)
    # File name of the batch PDF under the instance's letters folder, once assembled.
    filename: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    assembled_at: Mapped[datetime | None] = mapped_column()
    downloaded_at: Mapped[datetime | None] = mapped_column()
    downloaded_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"))


class TemplateText(db.Model):
    """A message template an administrator edited (the files give the defaults)."""

    __tablename__ = "notifications_template"
    __table_args__ = (UniqueConstraint("kind", "channel", "locale"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(80))
    channel: Mapped[str] = mapped_column(String(20))
    locale: Mapped[str] = mapped_column(String(8))
    subject: Mapped[str] = mapped_column(String(300), default="")
    body: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"))


MODELS = [PrintBatch, Message, MessageEvent, Preference, Profile, OptOut, TemplateText]
