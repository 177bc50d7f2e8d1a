"""The signaling wire format of ``/video``: every message a participant may send, checked.

A message is a dict ``{"type": ..., ...}``. :func:`validate` returns a clean copy holding only
the known keys, or raises :class:`WireError` with a short reason in English (sent back to the
sender only). Sizes are bounded so that one participant cannot make the server relay megabytes.

==========  =================================================================================
type        keys
==========  =================================================================================
join        ``role``: "tenant", "technician" or "helper" (what the page says it is; the server
            decides who is who from the credential, this is informative only)
offer       ``sdp``: str ≤ 64 kB
answer      ``sdp``: str ≤ 64 kB
candidate   ``candidate``: str ≤ 2 kB (empty: end of candidates); ``sdpMid``: str ≤ 64 or
            null; ``sdpMLineIndex``: int 0–64 or null
bye         ``reason``: optional str ≤ 200
pointer     ``x``, ``y``: numbers in [0, 1] (fractions of the video's width and height)
snapshot    ``caption``: optional str ≤ 500 (the image itself is uploaded over HTTP)
chat        ``text``: str of 1–2,000 characters
==========  =================================================================================

The whole message, as JSON, is at most 128 kB.
"""
from __future__ import annotations

import json
import math

MAX_MESSAGE_BYTES = 128 * 1024
MAX_SDP_BYTES = 64 * 1024
MAX_CANDIDATE_BYTES = 2 * 1024
MAX_CHAT_CHARS = 2000
MAX_CAPTION_CHARS = 500
MAX_REASON_CHARS = 200
MAX_MID_CHARS = 64

TYPES = ("join", "offer", "answer", "candidate", "bye", "pointer", "snapshot", "chat")
ROLES = ("tenant", "technician", "helper")


class WireError(ValueError):
    """A message refused, with why."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def _string(message: dict, key: str, *, max_bytes: int | None = None,
            max_chars: int | None = None, required: bool = True, empty: bool = True):
    if key not in message or message[key] is None:
        if required:
            raise WireError(f"{key}: missing")
        return None
    value = message[key]
    if not isinstance(value, str):
        raise WireError(f"{key}: not a string")
    if not empty and not value.strip():
        raise WireError(f"{key}: empty")
    if max_chars is not None and len(value) > max_chars:
        raise WireError(f"{key}: longer than {max_chars} characters")
    if max_bytes is not None and len(value.encode("utf-8")) > max_bytes:
        raise WireError(f"{key}: larger than {max_bytes} bytes")
    return value


def _fraction(message: dict, key: str) -> float:
    value = message.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise WireError(f"{key}: not a number")
    value = float(value)
    if not math.isfinite(value) or not 0.0 <= value <= 1.0:
        raise WireError(f"{key}: not between 0 and 1")
    return value


def _size(message) -> int:
    try:
        return len(json.dumps(message, ensure_ascii=False, allow_nan=False).encode("utf-8"))
    except (TypeError, ValueError):
        raise WireError("not JSON") from None


def validate(message) -> dict:
    """A clean copy of ``message``, or :class:`WireError`."""
    if not isinstance(message, dict):
        raise WireError("not an object")
    if _size(message) > MAX_MESSAGE_BYTES:
        raise WireError(f"message larger than {MAX_MESSAGE_BYTES} bytes")
    kind = message.get("type")
    if kind not in TYPES:
        raise WireError("unknown type")
    clean: dict = {"type": kind}
    if kind == "join":
        role = message.get("role")
        if role not in ROLES:
            raise WireError("role: unknown")
        clean["role"] = role
    elif kind in ("offer", "answer"):
        clean["sdp"] = _string(message, "sdp", max_bytes=MAX_SDP_BYTES, empty=False)
    elif kind == "candidate":
        clean["candidate"] = _string(message, "candidate", max_bytes=MAX_CANDIDATE_BYTES)
        clean["sdpMid"] = _string(message, "sdpMid", max_chars=MAX_MID_CHARS, required=False)
        index = message.get("sdpMLineIndex")
        if index is not None and (isinstance(index, bool) or not isinstance(index, int)
                                  or not 0 <= index <= 64):
            raise WireError("sdpMLineIndex: not a whole number between 0 and 64")
        clean["sdpMLineIndex"] = index
    elif kind == "bye":
        clean["reason"] = _string(message, "reason", max_chars=MAX_REASON_CHARS,
                                  required=False) or ""
    elif kind == "pointer":
        clean["x"] = _fraction(message, "x")
        clean["y"] = _fraction(message, "y")
    elif kind == "snapshot":
        clean["caption"] = _string(message, "caption", max_chars=MAX_CAPTION_CHARS,
                                   required=False) or ""
    elif kind == "chat":
        clean["text"] = _string(message, "text", max_chars=MAX_CHAT_CHARS, empty=False)
    return clean
