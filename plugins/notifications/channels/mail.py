"""The mail channel: plain text and HTML, attachments, through the core's mail set-up
(Flask-Mailman: the landlord's SMTP relay, or the local mailbox when there is none).

The Message-ID is made from the message's idempotency key, so a message sent again after a
crash carries the same Message-ID and the receiving side can drop the copy. One connection to
the relay is kept open between deliveries and closed when the worker is idle.
"""
from __future__ import annotations

import smtplib
from urllib.parse import urlsplit

from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from flask_mailman import EmailMultiAlternatives

from core.mail import mail
from plugins.notifications.channels.base import (
    Accepted,
    Channel,
    Outgoing,
    PermanentFailure,
    TemporaryFailure,
)


def message_id(outgoing: Outgoing) -> str:
    host = urlsplit(current_app.config["PUBLIC_URL"]).hostname or "localhost"
    return f"<{outgoing.idempotency_key}@{host}>"


class MailChannel(Channel):
    """E-mail, through the relay configured with ``MAIL_SERVER`` (core settings)."""

    name = "mail"
    label = _l("e-mail")
    address_kind = "email"

    def __init__(self, config):
        super().__init__(config)
        self._connection = None

    def build(self, outgoing: Outgoing) -> EmailMultiAlternatives:
        """The e-mail of a message: text, HTML from the theme, attachments."""
        with force_locale(outgoing.locale):
            html = render_template("notifications/mail/message.html", outgoing=outgoing,
                                   paragraphs=[p for p in outgoing.text.split("\n\n") if p.strip()])
        message = EmailMultiAlternatives(
            subject=outgoing.subject, body=outgoing.text, to=[outgoing.address],
            headers={"Message-ID": message_id(outgoing), "Auto-Submitted": "auto-generated"})
        message.attach_alternative(html, "text/html")
        for attachment in outgoing.attachments:
            message.attach(attachment.filename, attachment.content, attachment.media_type)
        return message

    def deliver(self, outgoing: Outgoing) -> Accepted:
        email = self.build(outgoing)
        try:
            if self._connection is None:
                self._connection = mail.get_connection()
                self._connection.open()
            email.connection = self._connection
            email.send()
        except smtplib.SMTPRecipientsRefused as refused:
            codes = [code for code, _ in refused.recipients.values()]
            self.close()
            if all(500 <= code < 600 for code in codes):
                raise PermanentFailure(f"address refused by the relay: {codes}") from None
            raise TemporaryFailure(f"address deferred by the relay: {codes}") from None
        except smtplib.SMTPResponseException as error:
            self.close()
            if 500 <= error.smtp_code < 600:
                raise PermanentFailure(f"relay refused the message: {error.smtp_code} "
                                       f"{error.smtp_error!r}") from None
            raise TemporaryFailure(f"relay deferred: {error.smtp_code}") from None
        except (smtplib.SMTPException, OSError) as error:
            self.close()
            raise TemporaryFailure(f"relay unreachable: {error}") from None
        return Accepted(provider_ref=message_id(outgoing), detail="accepted by the mail relay")

    def close(self) -> None:
        if self._connection is not None:
            try:
                self._connection.close()
            except (smtplib.SMTPException, OSError):
                pass
            self._connection = None
