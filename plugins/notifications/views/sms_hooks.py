"""What SMS providers post back: delivery receipts and replies (STOP).

Receipts: each SMS leaves with the address of its own receipt endpoint,
``/notifications/sms/receipts/<message id>/<signature>``, the signature an HMAC-SHA256 of the
message id under ``NOTIFICATIONS_SMS_RECEIPTS_SECRET`` (Brevo's ``webUrl`` callback carries no
signature of its own, so the address is the proof). The event must also name the provider's
reference of the message's last send, so a late receipt of an earlier send changes nothing.

Receipts arrive late, twice, or out of order (one per segment, "delivered" before "sent"), so a
message only moves forward: sent < delivered < failed or bounced. A recorded failure is never
undone by a later "delivered" (another segment's, or a late one); a replay is a no-op. A bounce
or a rejection queues the fallback channel, as a failure at sending does.

Replies: a reply that says STOP (any case, with or without accents or spaces; ARRET too) records
an opt-out of the number; the worker then sends it no more SMS and uses the fallback channel.
Replies come in on the message's receipt address, or on ``/notifications/sms/inbound/<token>``
for providers that post every reply to one address.

These addresses are public (providers have no account) and exempt from the CSRF check (they
are not forms); refused calls (bad signature, unknown message) are rate-limited per address.
They answer 404 while the SMS channel is switched off.
"""
from __future__ import annotations

import hmac
import re
import unicodedata

from flask import Blueprint, abort, current_app, jsonify, request
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from core.extensions import csrf, db
from core.web.access import public
from plugins.notifications.channels import registry
from plugins.notifications.channels.sms import (
    DELIVERED,
    HARD_BOUNCE,
    REJECTED,
    REPLIED,
    SENT,
    SOFT_BOUNCE,
    UNSUBSCRIBED,
    ProviderEvent,
    mobile_e164,
    receipt_signature,
)
from plugins.notifications.models import PENDING, Message, OptOut, Status
from plugins.notifications.worker import next_fallback, record

bp = Blueprint("notifications_sms", __name__, url_prefix="/notifications/sms")
csrf.exempt(bp)

# Refused calls allowed per minute and per address before every call from it is refused;
# accepted receipts are not counted (a provider posts thousands during a large notice).
REFUSED_PER_MINUTE = "30 per minute"

# How far a message has gone: a receipt may only move it forward.
RANK = {Status.QUEUED: 0, Status.SENDING: 0, Status.SENT: 1, Status.DELIVERED: 2,
        Status.FAILED: 3, Status.BOUNCED: 3, Status.CANCELLED: 4}
OUTCOMES = {SENT: Status.SENT, DELIVERED: Status.DELIVERED, SOFT_BOUNCE: Status.BOUNCED,
            HARD_BOUNCE: Status.BOUNCED, REJECTED: Status.FAILED}
STOP_WORDS = {"STOP", "ARRET", "STOPSMS"}


@bp.record_once
def _rate_limit(state) -> None:
    limiter = state.app.extensions["palier.limiter"]
    limiter.limit(REFUSED_PER_MINUTE, methods=["POST"],
                  deduct_when=lambda response: response.status_code in (400, 403, 404))(bp)


def is_stop(reply: str | None) -> bool:
    """Whether a reply asks for no more SMS: STOP or ARRET as the first word, in any case,
    accented or not, or spelt with spaces ("S T O P")."""
    plain = "".join(c for c in unicodedata.normalize("NFKD", reply or "")
                    if not unicodedata.combining(c)).upper()
    words = re.findall(r"[A-Z]+", plain)
    return bool(words) and (words[0] in STOP_WORDS or "".join(words) in STOP_WORDS)


def _answer(status: int, result: str):
    return jsonify(result=result), status


def _sms_channel():
    channels = registry()
    if "sms" not in channels:
        abort(404)
    return channels["sms"]


def _event_from_request(channel) -> ProviderEvent | None:
    payload = request.get_json(silent=True)
    return channel.adapter.parse_event(payload) if isinstance(payload, dict) else None


def opt_out(address: str) -> bool:
    """Record that ``address`` wants no more SMS; False when it already had."""
    if db.session.scalar(select(OptOut.id).where(OptOut.channel == "sms",
                                                 OptOut.address == address)):
        return False
    try:
        with db.session.begin_nested():
            db.session.add(OptOut(channel="sms", address=address))
    except IntegrityError:  # the same STOP, posted twice at once
        return False
    return True


def apply_receipt(message: Message, event: ProviderEvent) -> bool:
    """Move ``message`` to the status a receipt reports, if that is a step forward.
    Returns whether anything changed."""
    target = OUTCOMES.get(event.event)
    if target is None or RANK[target] <= RANK[message.status]:
        return False
    detail = f"receipt: {event.event}" + (f" ({event.reason})" if event.reason else "")
    if target in (Status.FAILED, Status.BOUNCED):
        message.last_error = detail[:500]
        record(message, target, detail)
        next_fallback(message)
    else:
        record(message, target, detail)
    return True


@bp.route("/receipts/<int:message_id>/<signature>", methods=["POST"])
@public
def receipt(message_id: int, signature: str):
    channel = _sms_channel()
    expected = receipt_signature(current_app.config["NOTIFICATIONS_SMS_RECEIPTS_SECRET"],
                                 message_id)
    if not hmac.compare_digest(signature.encode(), expected.encode()):
        return _answer(403, "bad signature")
    event = _event_from_request(channel)
    if event is None:
        return _answer(400, "a JSON object was expected")
    message = db.session.get(Message, message_id, with_for_update=True)
    if message is None or message.channel != "sms":
        return _answer(404, "unknown message")
    if event.event in (REPLIED, UNSUBSCRIBED):
        if event.event == UNSUBSCRIBED or is_stop(event.reply):
            try:
                address = mobile_e164(message.address)
            except ValueError:
                address = message.address
            created = opt_out(address)
            db.session.commit()
            return _answer(200, "opted out" if created else "already opted out")
        db.session.rollback()
        return _answer(200, "ignored")
    if message.status in PENDING:
        db.session.rollback()
        if message.provider_ref is None:
            # The provider reported before the worker recorded its answer: a provider that
            # retries failed callbacks delivers this one again once the send is recorded.
            return _answer(409, "the send is not recorded yet")
        return _answer(200, "ignored")  # about an earlier send; this one is queued again
    if event.reference is None or event.reference != message.provider_ref:
        db.session.rollback()
        return _answer(404, "unknown reference")
    changed = apply_receipt(message, event)
    db.session.commit()
    return _answer(200, "recorded" if changed else "ignored")


@bp.route("/inbound/<token>", methods=["POST"])
@public
def inbound(token: str):
    channel = _sms_channel()
    expected = current_app.config["NOTIFICATIONS_SMS_INBOUND_TOKEN"]
    if not expected:
        abort(404)
    if not hmac.compare_digest(token.encode(), str(expected).encode()):
        return _answer(403, "bad token")
    event = _event_from_request(channel)
    if event is None:
        return _answer(400, "a JSON object was expected")
    if event.event not in (REPLIED, UNSUBSCRIBED):
        return _answer(200, "ignored")
    try:
        address = mobile_e164(str(event.phone or ""))
    except ValueError:
        return _answer(400, "the reply names no valid phone number")
    if event.event == UNSUBSCRIBED or is_stop(event.reply):
        created = opt_out(address)
        db.session.commit()
        return _answer(200, "opted out" if created else "already opted out")
    return _answer(200, "ignored")
