"""A real SMTP server on loopback (aiosmtpd) that keeps every message it accepts.

It keeps the raw bytes and parses them only when a test reads ``messages``, so that a test
delivering tens of thousands of mails does not spend its CPU parsing them; ``message_ids()``
and ``count_by_message_id()`` read the Message-ID header straight from the bytes (the key by
which a receiver recognises a re-sent message). ``script`` makes it answer the next DATA
commands with chosen replies (a 451, a 550) instead of accepting them.
"""
from __future__ import annotations

import email
import email.policy
import re
import socket
import threading
import time
from collections import Counter
from email.message import EmailMessage

from aiosmtpd.controller import Controller

_MESSAGE_ID = re.compile(rb"^message-id:[ \t]*(.*?)[ \t]*\r?$", re.IGNORECASE | re.MULTILINE)


def free_port() -> int:
    """A TCP port free on 127.0.0.1 at the time of the call."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def message_id_of(raw: bytes) -> str | None:
    """The Message-ID header of a raw message, read from its header block only."""
    head = raw.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
    match = _MESSAGE_ID.search(head)
    return match.group(1).decode("ascii", "replace") if match else None


class _Keeper:
    def __init__(self, server: SMTPServer):
        self.server = server

    async def handle_DATA(self, server, session, envelope):
        raw = envelope.original_content or envelope.content
        with self.server.lock:
            if self.server.script:
                return self.server.script.pop(0)
            self.server.raw.append(raw)
            self.server.received_at.append(time.monotonic())
            self.server.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        # The reply leaves after the message is kept: what the server holds is what it
        # acknowledged, or more (a client killed before reading the 250 never learns of it).
        return "250 Message accepted for delivery"


class SMTPServer:
    """``start()``, send mail to ``host:port``, read ``messages``, ``stop()``.

    ``raw`` holds the accepted messages' bytes in order of acceptance, ``received_at`` the
    ``time.monotonic()`` of each acceptance, ``envelopes`` their (sender, recipients).
    ``script`` is a list of replies (``"451 4.3.0 try again later"``) used, one each, for the
    next DATA commands instead of accepting them.
    """

    def __init__(self, host: str = "127.0.0.1"):
        self.host = host
        self.port = free_port()
        self.raw: list[bytes] = []
        self.received_at: list[float] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.script: list[str] = []
        self.lock = threading.Lock()
        self._parsed: list[EmailMessage] = []
        self._controller = Controller(_Keeper(self), hostname=host, port=self.port)

    @property
    def messages(self) -> list[EmailMessage]:
        """The accepted messages, parsed (``email.policy.default``), in order of acceptance."""
        with self.lock:
            pending = self.raw[len(self._parsed):]
        self._parsed += [email.message_from_bytes(raw, policy=email.policy.default)
                         for raw in pending]
        return list(self._parsed)

    def message_ids(self) -> list[str | None]:
        """The Message-ID of every accepted message, in order (repeats included)."""
        with self.lock:
            raws = list(self.raw)
        return [message_id_of(raw) for raw in raws]

    def count_by_message_id(self) -> Counter:
        """How many times each Message-ID was accepted: more than once is a re-send."""
        return Counter(self.message_ids())

    def clear(self) -> None:
        """Forget what was received so far."""
        with self.lock:
            self.raw.clear()
            self.received_at.clear()
            self.envelopes.clear()
            self._parsed.clear()

    def start(self) -> None:
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()
