"""Sending mail (Flask-Mailman): one helper for every plugin.

With ``MAIL_SERVER`` set, mail goes to that SMTP relay (``PALIER_MAIL_SERVER``,
``PALIER_MAIL_PORT``, ``PALIER_MAIL_USE_TLS``, ``PALIER_MAIL_USERNAME``, ``PALIER_MAIL_PASSWORD``,
``PALIER_MAIL_DEFAULT_SENDER``). Without a relay nothing is lost: each message is written to
``instance/mailbox/`` and shown to administrators on the mailbox page.
"""
from __future__ import annotations

import email
import email.policy
import logging
import os
import smtplib
from dataclasses import dataclass
from datetime import datetime
from email.utils import make_msgid
from pathlib import Path
from urllib.parse import urlsplit

from flask import current_app, render_template
from flask_babel import force_locale
from flask_mailman import EmailMultiAlternatives, Mail
from jinja2 import TemplateNotFound

from core.config import ConfigError

log = logging.getLogger("palier.mail")
mail = Mail()
_SEPARATOR = b"\n" + b"-" * 79 + b"\n"


def mailbox_folder(app=None) -> Path:
    app = app or current_app
    return Path(app.instance_path) / "mailbox"


def init_mail(app) -> None:
    """Choose the relay or the local mailbox, then bind Flask-Mailman to the app."""
    if app.config.get("MAIL_SERVER"):
        app.config["MAIL_BACKEND"] = "smtp"
    else:
        # Kept mail holds live codes and reset links: in production, only on purpose (a demo).
        if app.config["ENVIRONMENT"] == "production" and not app.config["MAIL_KEEP_LOCALLY"]:
            raise ConfigError(
                "No mail relay: set PALIER_MAIL_SERVER (and PALIER_MAIL_PORT, ..._USERNAME, "
                "..._PASSWORD, ..._USE_TLS) so that tenants receive their codes and links, or "
                "PALIER_MAIL_KEEP_LOCALLY=true for a demonstration, where administrators read "
                "every message (codes and links included) on the Mailbox page.")
        app.config["MAIL_BACKEND"] = "file"
        app.config["MAIL_FILE_PATH"] = str(mailbox_folder(app))
    host = urlsplit(app.config["PUBLIC_URL"]).hostname or "localhost"
    app.config.setdefault("MAIL_DEFAULT_SENDER",
                          f"{app.config['LANDLORD_NAME']} <ne-pas-repondre@{host}>")
    app.config.setdefault("MAIL_TIMEOUT", 30)
    mail.init_app(app)


class MailNotSent(RuntimeError):
    """The relay refused or could not be reached: the caller tells the user to try again."""


def send_mail(to: str | list[str], subject: str, template: str, *, locale: str | None = None,
              **context) -> str:
    """Send ``mail/<template>.txt`` (and ``.html`` when the theme has one) to ``to``.

    ``locale`` is the recipient's language (by default the instance's first one, never the
    language of whoever triggers the message); ``subject`` is translated in it when it is a
    lazy string. Links in mail are built from ``PUBLIC_URL`` by the caller, never from the
    request. Send after the commit that makes the message true. Returns the Message-ID, the key
    by which a receiver can tell a re-sent message from a new one; raises :class:`MailNotSent`.
    """
    with force_locale(locale or current_app.config["LANGUAGES"][0]):
        return _send(to, str(subject), template, **context)


def _send(to, subject: str, template: str, **context) -> str:
    recipients = [to] if isinstance(to, str) else list(to)
    context.setdefault("landlord", current_app.config["LANDLORD_NAME"])
    host = urlsplit(current_app.config["PUBLIC_URL"]).hostname or "localhost"
    message_id = make_msgid(domain=host)
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_template(f"mail/{template}.txt", **context),
        to=recipients,
        headers={"Message-ID": message_id, "Auto-Submitted": "auto-generated"},
    )
    try:
        html = render_template(f"mail/{template}.html", **context)
    except TemplateNotFound:
        html = None
    if html is not None:
        message.attach_alternative(html, "text/html")
    try:
        message.send()
    except (smtplib.SMTPException, OSError) as error:
        log.error("Mail to %d recipient(s) not sent: %s", len(recipients), error)
        raise MailNotSent(str(error)) from error
    return message_id


def forget_mail_to(emails: set[str], names: list[str]) -> int:
    """Remove from the local mailbox every message naming these addresses or names (erasure
    of a person). Returns how many messages went."""
    needles = [n.lower().encode() for n in [*emails, *names] if n]
    removed = 0
    folder = mailbox_folder()
    if not needles or not folder.is_dir():
        return 0
    for path in folder.glob("*.log"):
        messages = [raw for raw in path.read_bytes().split(_SEPARATOR) if raw.strip()]
        kept = [raw for raw in messages
                if not any(needle in _searchable(raw) for needle in needles)]
        removed += len(messages) - len(kept)
        if len(kept) == len(messages):
            continue
        if kept:  # replaced whole, never left half-written
            spare = path.with_suffix(".tmp")
            spare.write_bytes(_SEPARATOR.join(kept) + _SEPARATOR)
            os.replace(spare, path)
        else:
            path.unlink()
    return removed


def _searchable(raw: bytes) -> bytes:
    """A message's headers and decoded text, lower-cased (names are often encoded)."""
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    parts = [str(value) for value in parsed.values()]
    for part in parsed.walk():
        if part.get_content_maintype() == "text":
            parts.append(part.get_content())
    return "\n".join(parts).lower().encode() + raw.lower()


@dataclass(frozen=True)
class MailboxMessage:
    """A message kept in the local mailbox (no relay configured)."""

    received: datetime
    sender: str
    to: str
    subject: str
    text: str


def mailbox_messages(limit: int = 100) -> list[MailboxMessage]:
    """The latest messages of the local mailbox, newest first."""
    folder = mailbox_folder()
    messages = []
    for path in sorted(folder.glob("*.log"), reverse=True):
        for raw in path.read_bytes().split(_SEPARATOR):
            if not raw.strip():
                continue
            parsed = email.message_from_bytes(raw, policy=email.policy.default)
            body = parsed.get_body(preferencelist=("plain",))
            messages.append(MailboxMessage(
                received=datetime.fromtimestamp(path.stat().st_mtime),
                sender=str(parsed["From"]), to=str(parsed["To"]),
                subject=str(parsed["Subject"]),
                text=body.get_content() if body is not None else ""))
        if len(messages) >= limit:
            break
    return messages[:limit]
