"""``palier worker``: delivering the outbox.

A worker claims due messages in a short transaction (``FOR UPDATE SKIP LOCKED`` on
PostgreSQL, so several workers never take the same row; on SQLite a lock file lets one worker
run at a time), marks them ``sending`` with a lease, commits, then delivers them one by one,
committing each outcome as soon as the channel answers. Killed at any point, it loses nothing:
a message whose lease ran out is claimed again, and it leaves with the same idempotency key
(the mail's Message-ID), so the only possible double is the one message in flight between the
receiver's acceptance and the commit, which the receiver can recognise.

Outcomes: accepted → ``sent`` (or ``delivered``); a temporary failure → queued again after an
exponential backoff with jitter (or the provider's ``Retry-After``); a permanent failure or the
last attempt → ``failed`` (the dead letter staff see, with a retry button) and the next channel
of the fallback chain queued.
"""
from __future__ import annotations

import fcntl
import logging
import os
import random
import signal
import socket
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.engine import make_url

from core.accounts import utcnow
from core.estate import Person
from core.extensions import db
from core.pdf import PdfError
from core.plugins import registry as plugin_registry
from plugins.notifications.channels import (
    Accepted,
    Outgoing,
    PermanentFailure,
    TemporaryFailure,
    registry,
)
from plugins.notifications.kinds import kind_of
from plugins.notifications.models import Message, MessageEvent, OptOut, Status
from plugins.notifications.outbox import contacts_of, first_due, idempotency_key, quiet_until
from plugins.notifications.texts import TemplateProblem, edited_texts, render

log = logging.getLogger("palier.notifications.worker")

# Channels that carry a kind's documents: attached to the mail, enclosed after the letter.
DOCUMENT_CHANNELS = ("mail", "letter")


class WorkerBusy(RuntimeError):
    """Another worker already delivers from this SQLite database."""


def backoff_delay(attempt: int, base: float, cap: float, rng=random) -> float:
    """Seconds before attempt ``attempt + 1``: exponential, capped, with "full jitter" (a
    random share of the exponential delay, at least half of it) so that a provider's recovery
    is not met by every message at once."""
    ceiling = min(cap, base * (2 ** max(attempt - 1, 0)))
    return rng.uniform(ceiling / 2, ceiling)


def record(message: Message, status: Status, detail: str = "") -> None:
    """Move a message to ``status`` and keep the step in its history (same transaction)."""
    message.status = status
    # Added to the session beside the message rather than appended to ``message.events``,
    # which would first load the whole history: one SELECT per delivery for nothing.
    db.session.add(MessageEvent(message=message, status=status.value, detail=detail[:500]))
    plugin_registry().hook.notification_status_changed(message=message, status=status.value)


def next_fallback(message: Message) -> Message | None:
    """Queue the next channel of the fallback chain for a failed message, if any fits."""
    if message.person_id is None:
        return None
    person = db.session.get(Person, message.person_id)
    if person is None or person.erased_at is not None:
        return None
    kind = kind_of(message.kind)
    channels = registry()
    contacts = contacts_of(person)
    recipient = f"person:{person.id}"
    chain = current_app.config["NOTIFICATIONS_FALLBACKS"].get(message.channel, [])
    for name in chain:
        if name not in channels or name not in kind.channels:
            continue
        address = channels[name].address_of(person, contacts)
        if not address:
            continue
        key = idempotency_key(message.event, recipient, name)
        if db.session.scalar(select(Message.id).where(Message.idempotency_key == key)):
            continue  # that channel was already used for this event
        fallback = Message(
            idempotency_key=key, event=message.event, kind=message.kind, channel=name,
            person_id=person.id, address=address, recipient_name=message.recipient_name,
            locale=message.locale, context=dict(message.context), urgent=message.urgent,
            status=Status.QUEUED, not_before=first_due(name, message.urgent),
            fallback_of_id=message.id,
            object_type=message.object_type, object_id=message.object_id)
        fallback.events.append(MessageEvent(
            status=Status.QUEUED.value, detail=f"fallback after {message.channel}"))
        db.session.add(fallback)
        return fallback
    return None


def give_up(message: Message, reason: str) -> None:
    """Dead letter: ``failed``, visible to staff, and the fallback channel queued."""
    message.lease_until = None
    message.last_error = reason[:500]
    record(message, Status.FAILED, reason)
    fallback = next_fallback(message)
    if fallback is not None:
        log.info("message %s failed on %s; fallback %s queued", message.id, message.channel,
                 fallback.channel)


def retry_from_dead_letter(message: Message, by: str) -> None:
    """Staff's retry button: a failed message goes back to the queue with fresh attempts."""
    if message.status not in (Status.FAILED, Status.BOUNCED):
        raise ValueError("Only a failed message can be sent again.")
    message.attempts = 0
    message.not_before = utcnow()
    message.lease_until = None
    message.last_error = None
    record(message, Status.QUEUED, f"retry asked by {by}")


@dataclass
class _Batch:
    rows: dict
    edited: dict
    opted_out: set


class Worker:
    """Delivers due messages until told to stop (or until idle, for tests and commands)."""

    def __init__(self, app, *, name: str | None = None, batch_size: int | None = None,
                 lease_seconds: float | None = None, poll_seconds: float | None = None,
                 clock=utcnow):
        self.app = app
        config = app.config
        self.name = name or f"{socket.gethostname()}:{os.getpid()}"
        self.batch_size = batch_size or config["NOTIFICATIONS_BATCH_SIZE"]
        self.lease = timedelta(seconds=lease_seconds or config["NOTIFICATIONS_LEASE_SECONDS"])
        self.poll_seconds = poll_seconds if poll_seconds is not None else \
            config["NOTIFICATIONS_POLL_SECONDS"]
        self.clock = clock
        self.stopping = False
        self._lock_file = None

    # -- running -------------------------------------------------------------------------

    def run(self, *, until_idle: bool = False, max_batches: int | None = None) -> int:
        """Deliver until stopped (SIGTERM/SIGINT finish the current message first), or until
        no message is due when ``until_idle``. Returns how many messages were handled."""
        handled = batches = 0
        with self.app.app_context():
            try:
                self._take_sqlite_lock()
                while not self.stopping:
                    done = self.run_once()
                    handled += done
                    batches += 1
                    if max_batches is not None and batches >= max_batches:
                        break
                    if done == 0:
                        registry().close()
                        if until_idle:
                            break
                        time.sleep(self.poll_seconds)
            finally:
                registry().close()
                db.session.remove()
                self._release_sqlite_lock()
        return handled

    def install_signal_handlers(self) -> None:
        def stop(_signum, _frame):
            self.stopping = True

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)

    def run_once(self) -> int:
        """Claim one batch and deliver it. Returns how many messages were claimed."""
        ids = self.claim()
        if not ids:
            return 0
        batch = self._snapshot(ids)
        for position, message_id in enumerate(ids):
            if self.stopping:
                self._release(ids[position:])
                break
            self._deliver_claimed(batch, message_id)
        return len(ids)

    def _snapshot(self, ids: list[int]) -> _Batch:
        """What delivering a claimed batch needs, read in one short transaction: the messages'
        fields, the edited texts and the opt-outs of their addresses. No row is read again
        before its outcome is written."""
        rows = {row.id: row for row in db.session.execute(
            select(Message.id, Message.kind, Message.channel, Message.address,
                   Message.recipient_name, Message.locale, Message.context, Message.urgent,
                   Message.idempotency_key, Message.status, Message.worker)
            .where(Message.id.in_(ids)))}
        addresses = {row.address for row in rows.values()}
        opted_out = {(channel, address) for channel, address in db.session.execute(
            select(OptOut.channel, OptOut.address).where(OptOut.address.in_(addresses)))
            } if addresses else set()
        batch = _Batch(rows, edited_texts(), opted_out)
        db.session.commit()
        return batch

    # -- claiming ------------------------------------------------------------------------

    def claim(self) -> list[int]:
        now = self.clock()
        expired = select(Message.id).where(
            Message.status == Status.SENDING, Message.lease_until < now)
        due = select(Message.id).where(Message.status == Status.QUEUED, Message.not_before <= now)
        ids: list[int] = []
        for query in (expired, due):
            room = self.batch_size - len(ids)
            if room <= 0:
                break
            ids += db.session.scalars(
                query.order_by(Message.not_before, Message.id).limit(room)
                .with_for_update(skip_locked=True)).all()
        if ids:
            db.session.execute(
                update(Message).where(Message.id.in_(ids))
                .values(status=Status.SENDING, lease_until=now + self.lease, worker=self.name))
        db.session.commit()
        return ids

    def _release(self, ids: list[int]) -> None:
        """Give back claimed messages not started (the worker is stopping)."""
        db.session.execute(
            update(Message).where(Message.id.in_(ids), Message.status == Status.SENDING,
                                  Message.worker == self.name)
            .values(status=Status.QUEUED, lease_until=None, worker=None))
        db.session.commit()

    # -- delivering ----------------------------------------------------------------------

    def deliver(self, message_id: int) -> Status | None:
        """Deliver one claimed message and commit its outcome."""
        return self._deliver_claimed(self._snapshot([message_id]), message_id)

    def _deliver_claimed(self, batch: _Batch, message_id: int) -> Status | None:
        row = batch.rows.get(message_id)
        if row is None or row.status != Status.SENDING or row.worker != self.name:
            return None
        channels = registry()
        if row.channel not in channels:
            return self._settle(message_id, f"the {row.channel} channel is switched off")
        channel = channels[row.channel]
        if channel.quiet_hours and not row.urgent:
            resume = quiet_until(self.clock())
            if resume is not None:
                message = db.session.get(Message, message_id)
                message.status, message.not_before = Status.QUEUED, resume
                message.lease_until = message.worker = None
                db.session.commit()
                return Status.QUEUED
        if (row.channel, row.address) in batch.opted_out:
            return self._settle(message_id,
                                "the recipient asked for no more messages on this channel")
        try:
            outgoing = self.outgoing(row, batch.edited)
        except (TemplateProblem, LookupError) as problem:
            return self._settle(message_id, f"text could not be prepared: {problem}")
        try:
            outgoing.attachments = self.attachments(outgoing)
            accepted = channel.deliver(outgoing)
        except PermanentFailure as failure:
            return self._fail(message_id, str(failure), permanent=True)
        except TemporaryFailure as failure:
            return self._fail(message_id, str(failure), retry_after=failure.retry_after)
        except Exception as error:  # a bug or an unforeseen error: retried, and logged
            log.exception("message %s: %s channel crashed", message_id, row.channel)
            return self._fail(message_id, f"{type(error).__name__}: {error}")
        # The outcome's status is returned as recorded: reading it back from the committed
        # row would cost one more query and transaction per message.
        return self._succeed(message_id, accepted, outgoing)

    def _settle(self, message_id: int, reason: str) -> Status | None:
        """Give a claimed message up before it left (no channel, opt-out, no text)."""
        message = self._mine(message_id)
        if message is None:
            return None
        give_up(message, reason)
        db.session.commit()
        return Status.FAILED

    def outgoing(self, message, edited: dict | None = None) -> Outgoing:
        """The rendered message, from a ``Message`` or a row of its columns."""
        kind = kind_of(message.kind)
        context = dict(message.context)
        context.setdefault("recipient_name", message.recipient_name)
        text = render(kind, message.channel, message.locale, context, edited)
        return Outgoing(
            id=message.id, idempotency_key=message.idempotency_key, kind=message.kind,
            channel=message.channel, address=message.address,
            recipient_name=message.recipient_name, locale=message.locale, subject=text.subject,
            text=text.body, urgent=message.urgent, context=context)

    def attachments(self, outgoing: Outgoing) -> list:
        """The kind's documents for a long text (an acknowledgement's PDF), made now."""
        kind = kind_of(outgoing.kind)
        if kind.attachments is None or outgoing.channel not in DOCUMENT_CHANNELS:
            return []
        try:
            documents = list(kind.attachments(dict(outgoing.context), outgoing.locale))
        except PdfError as error:  # PdfTimeout included: a busy machine, worth another try
            db.session.rollback()
            raise TemporaryFailure(f"the attached document could not be made: {error}") from None
        except BaseException:
            db.session.rollback()
            raise
        db.session.commit()  # end whatever the function read: the channel holds no transaction
        return documents

    def _mine(self, message_id: int) -> Message | None:
        message = db.session.get(Message, message_id, with_for_update=True)
        if message is None or message.status != Status.SENDING or message.worker != self.name:
            log.warning("message %s was taken over while delivering (lease too short?)",
                        message_id)
            db.session.rollback()
            return None
        return message

    def _succeed(self, message_id: int, accepted: Accepted, outgoing: Outgoing
                 ) -> Status | None:
        if not plugin_registry().hook.notification_status_changed.get_hookimpls():
            return self._succeed_quickly(message_id, accepted, outgoing)
        message = self._mine(message_id)
        if message is None:
            return None
        message.attempts += 1
        message.lease_until = None
        message.sent_at = self.clock()
        message.provider_ref = accepted.provider_ref
        message.sent_subject = outgoing.subject[:300] or None
        message.sent_text = outgoing.text
        message.last_error = None
        record(message, Status.SENT, accepted.detail)
        if accepted.delivered:
            record(message, Status.DELIVERED, "")
        status = message.status
        db.session.commit()
        return status

    def _succeed_quickly(self, message_id: int, accepted: Accepted, outgoing: Outgoing
                         ) -> Status | None:
        """The outcome of a sent message in two statements, when no plugin listens to status
        changes (nothing needs the message as an object). The UPDATE's condition does what
        :meth:`_mine`'s row lock does: it applies only while this worker holds the message."""
        now = self.clock()
        status = Status.DELIVERED if accepted.delivered else Status.SENT
        # Core statements on the tables: nothing of the ORM's per-statement work is needed.
        table = Message.__table__
        result = db.session.execute(
            table.update()
            .where(table.c.id == message_id, table.c.status == Status.SENDING,
                   table.c.worker == self.name)
            .values(status=status, attempts=table.c.attempts + 1, lease_until=None,
                    sent_at=now, provider_ref=accepted.provider_ref,
                    sent_subject=outgoing.subject[:300] or None, sent_text=outgoing.text,
                    last_error=None, updated_at=now))
        if result.rowcount != 1:
            log.warning("message %s was taken over while delivering (lease too short?)",
                        message_id)
            db.session.rollback()
            return None
        steps = [{"message_id": message_id, "status": Status.SENT.value,
                  "detail": accepted.detail[:500], "at": now}]
        if accepted.delivered:
            steps.append({"message_id": message_id, "status": Status.DELIVERED.value,
                          "detail": "", "at": now})
        db.session.execute(MessageEvent.__table__.insert(), steps)
        db.session.commit()
        return status

    def _fail(self, message_id: int, reason: str, *, permanent: bool = False,
              retry_after: float | None = None) -> Status | None:
        message = self._mine(message_id)
        if message is None:
            return None
        message.attempts += 1
        config = current_app.config
        if permanent or message.attempts >= config["NOTIFICATIONS_MAX_ATTEMPTS"]:
            give_up(message, reason if permanent else
                    f"{reason} (attempt {message.attempts}, the last)")
        else:
            if retry_after is not None:
                delay = retry_after + random.uniform(0, max(1.0, retry_after * 0.1))
            else:
                delay = backoff_delay(message.attempts, config["NOTIFICATIONS_BACKOFF_SECONDS"],
                                      config["NOTIFICATIONS_BACKOFF_MAX_SECONDS"])
            message.status = Status.QUEUED
            message.not_before = self.clock() + timedelta(seconds=delay)
            message.lease_until = message.worker = None
            message.last_error = reason[:500]
            db.session.add(MessageEvent(message=message, status="retry",
                                        detail=f"attempt {message.attempts}: {reason}"[:500]))
        status = message.status
        db.session.commit()
        return status

    # -- one worker at a time on SQLite ----------------------------------------------------

    def _take_sqlite_lock(self) -> None:
        url = make_url(str(db.engine.url))
        if url.get_backend_name() != "sqlite" or not url.database:
            return
        path = Path(url.database + ".worker.lock")
        handle = open(path, "a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            raise WorkerBusy(
                "Another worker already delivers from this SQLite database: SQLite allows "
                "one worker at a time (use PostgreSQL for several).") from None
        self._lock_file = handle
        # No other worker runs: whatever is still "sending" was left by a dead one.
        db.session.execute(update(Message).where(Message.status == Status.SENDING)
                           .values(status=Status.QUEUED, lease_until=None, worker=None))
        db.session.commit()

    def _release_sqlite_lock(self) -> None:
        if self._lock_file is not None:
            fcntl.flock(self._lock_file, fcntl.LOCK_UN)
            self._lock_file.close()
            self._lock_file = None
