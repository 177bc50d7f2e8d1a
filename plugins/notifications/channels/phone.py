"""The phone channel: a call list for customer agents (chargés de clientèle).

Delivering a message puts it on the agents' list: who to call, why, and the script (the
message's short text). It stays ``sent`` until an agent records what happened with
:func:`record_outcome`: reached or message left → ``delivered``; no answer → back on the list
after ``NOTIFICATIONS_CALL_RETRY_SECONDS`` (the worker queues it again, so the quiet hours keep
it off the list at night), until ``NOTIFICATIONS_MAX_ATTEMPTS`` calls; then, or for a wrong
number, ``failed`` and the fallback channel queued. Automated calls are another channel
(``voice``).
"""
from __future__ import annotations

from datetime import timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from core import audit
from core.accounts import utcnow
from core.config import ConfigError, Setting
from core.extensions import db
from plugins.notifications.channels.base import Accepted, Channel, Outgoing
from plugins.notifications.models import Message, MessageEvent, Status

NAME = "phone"


class PhoneChannel(Channel):
    """A call made by an agent, from the call list in the back office."""

    name = NAME
    label = _l("phone call")
    address_kind = "phone"
    quiet_hours = True
    short_text = True
    settings = (
        Setting("NOTIFICATIONS_CALL_RETRY_SECONDS", 2 * 3600,
                "After a call with no answer, how long before it is back on the call list "
                "(the quiet hours push it to the morning)."),
    )

    @classmethod
    def check_config(cls, config: dict) -> None:
        super().check_config(config)
        value = config["NOTIFICATIONS_CALL_RETRY_SECONDS"]
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ConfigError(f"NOTIFICATIONS_CALL_RETRY_SECONDS={value!r}: give a number of "
                              "seconds, 0 or more (7200 for two hours).")

    def deliver(self, outgoing: Outgoing) -> Accepted:
        # Nothing leaves the building: the message now shows on the call list, and an
        # agent's recorded outcome makes it delivered or failed.
        return Accepted(detail="on the call list")


def calls_to_make() -> list[Message]:
    """The call list: phone messages waiting for an agent, urgent first, then oldest."""
    return list(db.session.scalars(
        select(Message).where(Message.channel == NAME, Message.status == Status.SENT)
        .order_by(Message.urgent.desc(), Message.sent_at, Message.id)))


def calls_later() -> list[Message]:
    """Calls queued for later: after a "no answer", or kept for the end of the quiet hours."""
    return list(db.session.scalars(
        select(Message).where(Message.channel == NAME, Message.status == Status.QUEUED)
        .order_by(Message.not_before, Message.id)))


class CallAlreadyRecorded(Exception):
    """Someone recorded this call first (or it left the list): ``message`` is as it is now."""

    def __init__(self, message: Message):
        super().__init__(f"message {message.id} is {message.status.value}")
        self.message = message


OUTCOME_DETAILS = {
    "reached": "reached by {agent}",
    "message_left": "message left on the answering machine by {agent}",
    "no_answer": "no answer (call {call}), recorded by {agent}",
    "wrong_number": "wrong number, reported by {agent}",
}


def record_outcome(message_id: int, outcome: str, attempt: int, agent: str) -> Message:
    """Record what an agent's call gave, in the current transaction (the caller commits).

    The row is locked first (``FOR UPDATE``; on SQLite the write transaction already holds
    the database): of two agents recording the same call at once, the second waits, then
    finds it no longer on the list, or on the list for a later call than the one they made
    (``attempt``), and gets :class:`CallAlreadyRecorded`. Raises LookupError for a message
    that is not a call.
    """
    from plugins.notifications.outbox import first_due
    from plugins.notifications.worker import give_up, record

    if outcome not in OUTCOME_DETAILS:
        raise ValueError(f"unknown call outcome {outcome!r}")
    message = db.session.scalar(select(Message).where(
        Message.id == message_id, Message.channel == NAME).with_for_update()
        .execution_options(populate_existing=True))
    if message is None:
        raise LookupError(f"no call {message_id}")
    if message.status != Status.SENT or message.attempts != attempt:
        raise CallAlreadyRecorded(message)
    call = message.attempts
    detail = OUTCOME_DETAILS[outcome].format(agent=agent, call=call)
    if outcome in ("reached", "message_left"):
        message.last_error = None
        record(message, Status.DELIVERED, detail)
    elif outcome == "wrong_number":
        give_up(message, detail)
    elif call >= current_app.config["NOTIFICATIONS_MAX_ATTEMPTS"]:
        give_up(message, f"{detail}; no answer after {call} calls, the last one")
    else:
        due = first_due(message.channel, message.urgent, utcnow() + timedelta(
            seconds=current_app.config["NOTIFICATIONS_CALL_RETRY_SECONDS"]))
        # Queued again: the worker puts it back on the list when due (and counts the call).
        message.status = Status.QUEUED
        message.not_before = due
        message.lease_until = message.worker = None
        message.last_error = "no answer"
        message.events.append(MessageEvent(status="retry", detail=detail[:500]))
    audit.record("notifications.call", obj=message, person_id=message.person_id,
                 detail={"outcome": outcome, "call": call, "state": message.status.value})
    return message
