"""The SMS channel: a short notice and a link, through the landlord's SMS provider.

The provider is reached through an adapter (:class:`SmsAdapter`) chosen by
``NOTIFICATIONS_SMS_PROVIDER``: Brevo's documented transactional SMS API (``brevo``, a French
provider, formerly Sendinblue), or a generic JSON-over-HTTP adapter (``http``) for landlords
whose provider is another one. Every text ends with the opt-out mention
(``NOTIFICATIONS_SMS_STOP_TEXT``), is counted in segments (:mod:`plugins.notifications.sms_text`)
and refused when longer than ``NOTIFICATIONS_SMS_MAX_SEGMENTS``. Each SMS carries the address
of its own delivery-receipt endpoint, signed with ``NOTIFICATIONS_SMS_RECEIPTS_SECRET``
(:mod:`plugins.notifications.views.sms_hooks`), since Brevo's per-message callback is not
signed by Brevo.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import re
import socket
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

from flask_babel import lazy_gettext as _l

from core.config import ConfigError, Setting
from plugins.notifications.channels.base import (
    Accepted,
    Channel,
    Outgoing,
    PermanentFailure,
    TemporaryFailure,
)
from plugins.notifications.sms_text import count_segments, is_gsm7, plain_typography

# -- phone numbers ---------------------------------------------------------------------------

# French overseas mobile ranges dialled as 06 xx but belonging to another country code
# (ARCEP numbering plan): Réunion and Mayotte +262, Guadeloupe and Saint-Martin +590,
# French Guiana +594, Martinique +596.
_OVERSEAS_MOBILE = {"0692": "262", "0693": "262", "0639": "262", "0690": "590", "0691": "590",
                    "0694": "594", "0696": "596", "0697": "596"}


def to_e164(raw: str) -> str:
    """The E.164 form of a phone number (``+33612345678``), French numbers understood in their
    national form (``06 12 34 56 78``, ``0033 6...``, ``33 6...``). Raises ValueError with the
    reason when the number cannot be one."""
    digits = re.sub(r"[\s.\-()/]", "", raw or "")
    if digits.startswith("00"):
        digits = "+" + digits[2:]
    if not re.fullmatch(r"\+?\d+", digits):
        raise ValueError("a phone number holds digits only (and a leading +)")
    if digits.startswith("+"):
        number = digits
    elif len(digits) == 10 and digits.startswith("0"):
        country = _OVERSEAS_MOBILE.get(digits[:4], "33")
        number = f"+{country}{digits[1:]}"
    elif len(digits) == 11 and digits.startswith("33"):
        number = "+" + digits  # as providers write it back: 33612345678
    else:
        raise ValueError("not a French number (10 digits starting with 0) nor an international "
                         "one (+ and the country code)")
    if number.startswith("+33") and not re.fullmatch(r"\+33[1-9]\d{8}", number):
        raise ValueError("a French number has 9 digits after +33")
    if not re.fullmatch(r"\+[1-9]\d{7,14}", number):
        raise ValueError("an international number has 8 to 15 digits after the +")
    return number


def mobile_e164(raw: str) -> str:
    """:func:`to_e164` for a number that can receive an SMS: French numbers must be mobiles
    (06, 07 and the overseas mobile ranges), landlines cannot."""
    number = to_e164(raw)
    if number.startswith("+33") and number[3] not in "67":
        raise ValueError("a French landline cannot receive text messages (mobiles start with 06 "
                         "or 07)")
    return number


# -- receipts' signed addresses --------------------------------------------------------------


def receipt_signature(secret: str, message_id: int) -> str:
    """The token in the receipt address of one message: only whoever was given that address
    (the provider) can report on that message, and on no other."""
    return hmac.new(secret.encode(), f"sms-receipt:{message_id}".encode(),
                    hashlib.sha256).hexdigest()


def receipt_url(config, message_id: int) -> str:
    from core.account_tokens import public_url

    return public_url("notifications_sms.receipt", message_id=message_id,
                      signature=receipt_signature(config["NOTIFICATIONS_SMS_RECEIPTS_SECRET"],
                                                  message_id))


# -- what providers report -------------------------------------------------------------------

SENT, DELIVERED, SOFT_BOUNCE, HARD_BOUNCE, REJECTED, REPLIED, UNSUBSCRIBED = (
    "sent", "delivered", "soft_bounce", "hard_bounce", "rejected", "replied", "unsubscribed")


@dataclass(frozen=True)
class ProviderEvent:
    """One event a provider reported on an SMS, in the channel's words (``event`` is one of
    the constants above, or the provider's own word when unknown)."""

    event: str
    reference: str | None = None
    reason: str = ""
    phone: str | None = None
    reply: str | None = None


# -- adapters --------------------------------------------------------------------------------


def _retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header: a number of seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max((when - datetime.now(timezone.utc)).total_seconds(), 0.0)


def _error_text(body: bytes) -> str:
    """A provider's error in a few words: Brevo answers ``{"code": ..., "message": ...}``."""
    try:
        data = json.loads(body or b"{}")
    except ValueError:
        return body[:200].decode("utf-8", "replace")
    if isinstance(data, dict):
        parts = [str(data[key]) for key in ("code", "message", "error") if data.get(key)]
        return ": ".join(parts)[:300]
    return str(data)[:200]


class SmsAdapter:
    """How the channel talks to one provider.

    ``send`` posts one SMS and returns the provider's message id; it raises
    :class:`TemporaryFailure` (5xx, timeout, unreachable, 429 with the provider's
    ``Retry-After``) or :class:`PermanentFailure` (any other 4xx). ``parse_event`` reads one
    receipt or reply the provider posted back.
    """

    name = ""

    def __init__(self, config):
        self.url = config["NOTIFICATIONS_SMS_API_URL"].rstrip("/")
        self.key = config["NOTIFICATIONS_SMS_API_KEY"]
        self.sender = config["NOTIFICATIONS_SMS_SENDER"]
        self.timeout = float(config["NOTIFICATIONS_SMS_TIMEOUT"])

    def send(self, to: str, text: str, reference: str, *, callback_url: str | None = None,
             tag: str | None = None) -> str | None:
        raise NotImplementedError

    def parse_event(self, payload: dict) -> ProviderEvent:
        raise NotImplementedError

    def post_json(self, url: str, body: dict, headers: dict) -> dict:
        """POST ``body`` as JSON; the decoded JSON answer of a 2xx, else the failure raised."""
        request = urllib.request.Request(
            url, data=json.dumps(body).encode(), method="POST",
            headers={"Content-Type": "application/json", "Accept": "application/json",
                     **headers})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                raw = response.read()
        except urllib.error.HTTPError as error:
            detail = f"{self.name} answered {error.code} {_error_text(error.read())}".strip()
            retry_after = _retry_after(error.headers.get("Retry-After"))
            if error.code == 429 or error.code == 408 or error.code >= 500:
                raise TemporaryFailure(detail, retry_after) from None
            raise PermanentFailure(detail) from None
        except (TimeoutError, socket.timeout):
            raise TemporaryFailure(f"{self.name} did not answer within {self.timeout:g} s") \
                from None
        except (urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            raise TemporaryFailure(f"{self.name} unreachable: {reason}") from None
        try:
            answer = json.loads(raw or b"{}")
        except ValueError:
            answer = {}
        return answer if isinstance(answer, dict) else {}


class BrevoAdapter(SmsAdapter):
    """Brevo's transactional SMS API (``POST /v3/transactionalSMS/send``, header ``api-key``;
    answer ``201 {"messageId": ...}``; errors ``{"code": ..., "message": ...}``), and the
    events Brevo posts to the message's ``webUrl`` (``msg_status``, ``messageId``, ``to``)."""

    name = "brevo"
    PATH = "/v3/transactionalSMS/send"

    def send(self, to, text, reference, *, callback_url=None, tag=None):
        body = {"sender": self.sender, "recipient": to.lstrip("+"), "content": text,
                "type": "transactional", "unicodeEnabled": not is_gsm7(text)}
        if callback_url:
            body["webUrl"] = callback_url
        if tag:
            body["tag"] = tag
        answer = self.post_json(self.url + self.PATH, body, {"api-key": self.key})
        message_id = answer.get("messageId")
        return None if message_id is None else str(message_id)

    EVENTS = {"sent": SENT, "accepted": SENT, "delivered": DELIVERED,
              "softbounce": SOFT_BOUNCE, "hardbounce": HARD_BOUNCE, "rejected": REJECTED,
              "skip": REJECTED, "blocked": REJECTED, "blacklisted": REJECTED, "error": REJECTED,
              "replied": REPLIED, "reply": REPLIED, "unsubscribe": UNSUBSCRIBED,
              "unsubscribed": UNSUBSCRIBED}

    def parse_event(self, payload):
        word = str(payload.get("msg_status") or payload.get("event") or "")
        reference = payload.get("messageId")
        return ProviderEvent(
            event=self.EVENTS.get(word.lower().replace("_", ""), word),
            reference=None if reference is None else str(reference),
            reason=str(payload.get("reason") or payload.get("description") or "")[:200],
            phone=payload.get("to") or payload.get("phoneNumber"),
            reply=payload.get("reply") or payload.get("text"))


class HttpAdapter(SmsAdapter):
    """A generic provider: ``POST NOTIFICATIONS_SMS_API_URL`` with ``Authorization: Bearer
    <key>`` and ``{"to", "text", "reference", "sender", "callback_url"}``; a 2xx answer gives
    ``{"id": ...}``. Receipts it posts back: ``{"id", "status", "reason"}`` with a status among
    sent, delivered, soft_bounce, hard_bounce, rejected; replies ``{"from", "text"}``."""

    name = "http"

    def send(self, to, text, reference, *, callback_url=None, tag=None):
        body = {"to": to, "text": text, "reference": reference, "sender": self.sender,
                "callback_url": callback_url}
        answer = self.post_json(self.url, body, {"Authorization": f"Bearer {self.key}"})
        message_id = answer.get("id")
        return None if message_id is None else str(message_id)

    def parse_event(self, payload):
        status = str(payload.get("status") or "").lower()
        if not status and payload.get("text") is not None:
            status = REPLIED
        reference = payload.get("id")
        return ProviderEvent(
            event={"failed": REJECTED, "bounced": HARD_BOUNCE}.get(status, status),
            reference=None if reference is None else str(reference),
            reason=str(payload.get("reason") or "")[:200],
            phone=payload.get("from") or payload.get("to"), reply=payload.get("text"))


ADAPTERS = {adapter.name: adapter for adapter in (BrevoAdapter, HttpAdapter)}


# -- the channel -----------------------------------------------------------------------------


def stop_text(config, locale: str) -> str:
    """The opt-out mention for a language (the setting may be one text or one per language)."""
    value = config["NOTIFICATIONS_SMS_STOP_TEXT"]
    if isinstance(value, dict):
        return value.get(locale) or value.get(config["LANGUAGES"][0]) or \
            next(iter(value.values()), "")
    return value or ""


class SmsChannel(Channel):
    """Text messages through the provider of ``NOTIFICATIONS_SMS_PROVIDER``."""

    name = "sms"
    label = _l("text message")
    address_kind = "phone"
    quiet_hours = True
    short_text = True
    settings = (
        Setting("NOTIFICATIONS_SMS_PROVIDER", "brevo",
                "SMS provider: brevo (Brevo's transactional SMS API) or http (a generic JSON "
                "API, see docs/notifications.md)."),
        Setting("NOTIFICATIONS_SMS_API_URL", "https://api.brevo.com",
                "Brevo: the API's base address. http: the full address SMS are posted to."),
        Setting("NOTIFICATIONS_SMS_API_KEY", "",
                "The provider's API key (Brevo: api-key header; http: bearer token). From "
                "the environment only: PALIER_NOTIFICATIONS_SMS_API_KEY."),
        Setting("NOTIFICATIONS_SMS_SENDER", "",
                "Sender name shown on phones: 3 to 11 letters or digits, no space (or a "
                "number of up to 15 digits), as registered with the provider."),
        Setting("NOTIFICATIONS_SMS_TIMEOUT", 10.0,
                "Seconds to wait for the provider's answer before trying again later."),
        Setting("NOTIFICATIONS_SMS_RECEIPTS_SECRET", "",
                "Signs the delivery-receipt address given with each SMS (32 random "
                "characters or more). From the environment only."),
        Setting("NOTIFICATIONS_SMS_INBOUND_TOKEN", "",
                "Token in the address where the provider posts replies (STOP); empty: that "
                "address is off and only replies posted to the receipt addresses count."),
        Setting("NOTIFICATIONS_SMS_STOP_TEXT", "",
                'Opt-out mention ending every SMS, with your reply number: "STOP au 36xxx". '
                "One text, or one per language: {\"fr\": ..., \"en\": ...}."),
        Setting("NOTIFICATIONS_SMS_MAX_SEGMENTS", 3,
                "Longest SMS sent, in segments (160 plain characters, 70 with other "
                "characters; 153 and 67 when split); a longer text is refused."),
    )

    def __init__(self, config):
        super().__init__(config)
        self.adapter = ADAPTERS[config["NOTIFICATIONS_SMS_PROVIDER"]](config)

    @classmethod
    def check_config(cls, config) -> None:
        super().check_config(config)
        provider = config["NOTIFICATIONS_SMS_PROVIDER"]
        if provider not in ADAPTERS:
            raise ConfigError(f"NOTIFICATIONS_SMS_PROVIDER={provider!r}: choose "
                              f"{' or '.join(sorted(ADAPTERS))}.")
        url = urlsplit(str(config["NOTIFICATIONS_SMS_API_URL"]))
        if url.scheme not in ("http", "https") or not url.hostname:
            raise ConfigError(f"NOTIFICATIONS_SMS_API_URL={config['NOTIFICATIONS_SMS_API_URL']!r}"
                              " is not an http(s) address.")
        if not config["NOTIFICATIONS_SMS_API_KEY"]:
            raise ConfigError("The sms channel is switched on but NOTIFICATIONS_SMS_API_KEY is "
                              "empty: set the provider's key in the environment "
                              "(PALIER_NOTIFICATIONS_SMS_API_KEY).")
        sender = str(config["NOTIFICATIONS_SMS_SENDER"])
        if provider == "brevo" or sender:
            if len(sender) > 11 and not (sender.isdigit() and len(sender) <= 15):
                raise ConfigError(f"NOTIFICATIONS_SMS_SENDER={sender!r} is too long: a sender "
                                  "name has at most 11 letters or digits (a number, 15 digits).")
            if not re.fullmatch(r"[A-Za-z0-9]{3,15}", sender):
                raise ConfigError(f"NOTIFICATIONS_SMS_SENDER={sender!r}: give 3 to 11 letters "
                                  "or digits, without spaces or accents, as registered with "
                                  "the provider.")
        timeout = config["NOTIFICATIONS_SMS_TIMEOUT"]
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not (
                0 < timeout <= 120):
            raise ConfigError(f"NOTIFICATIONS_SMS_TIMEOUT={timeout!r}: give seconds, more than "
                              "0 and at most 120.")
        if len(config["NOTIFICATIONS_SMS_RECEIPTS_SECRET"] or "") < 32:
            raise ConfigError("NOTIFICATIONS_SMS_RECEIPTS_SECRET is empty or shorter than 32 "
                              "characters: it signs the delivery-receipt addresses; set a long "
                              "random value in the environment.")
        texts = config["NOTIFICATIONS_SMS_STOP_TEXT"]
        texts = list(texts.values()) if isinstance(texts, dict) else [texts]
        if not texts or not all(isinstance(t, str) and "stop" in t.lower() for t in texts):
            raise ConfigError('NOTIFICATIONS_SMS_STOP_TEXT must hold the opt-out mention ending '
                              'every SMS, with the word STOP and your reply number: '
                              '"STOP au 36xxx".')
        segments = config["NOTIFICATIONS_SMS_MAX_SEGMENTS"]
        if isinstance(segments, bool) or not isinstance(segments, int) or not 1 <= segments <= 10:
            raise ConfigError(f"NOTIFICATIONS_SMS_MAX_SEGMENTS={segments!r}: give a whole "
                              "number from 1 to 10.")

    def address_of(self, person, contacts):
        """The person's phone in E.164 when it can receive an SMS; a landline or a malformed
        number gives None, so another channel is chosen."""
        try:
            return mobile_e164(contacts.get("phone") or "")
        except ValueError:
            return None

    def compose(self, text: str, locale: str) -> str:
        """The SMS as sent: the rendered notice in GSM-friendly typography, then the opt-out
        mention on its own line."""
        return plain_typography(text.strip() + "\n" + stop_text(self.config, locale))

    def deliver(self, outgoing: Outgoing) -> Accepted:
        try:
            to = mobile_e164(outgoing.address)
        except ValueError as problem:
            raise PermanentFailure(f"invalid phone number: {problem}") from None
        text = self.compose(outgoing.text, outgoing.locale)
        segments = count_segments(text)
        limit = self.config["NOTIFICATIONS_SMS_MAX_SEGMENTS"]
        if segments.count > limit:
            raise PermanentFailure(f"text too long: {segments.describe()}, at most {limit} "
                                   "allowed (NOTIFICATIONS_SMS_MAX_SEGMENTS)")
        reference = self.adapter.send(to, text, outgoing.idempotency_key,
                                      callback_url=receipt_url(self.config, outgoing.id),
                                      tag=outgoing.kind)
        return Accepted(provider_ref=reference,
                        detail=f"accepted by {self.adapter.name}: {segments.describe()}")
