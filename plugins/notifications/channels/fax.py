"""The fax channel (télécopie): the letter's PDF sent to a fax gateway.

Two gateways, chosen by ``NOTIFICATIONS_FAX_GATEWAY``:

- ``mail`` (mail-to-fax): an e-mail with the PDF attached to an address built from
  ``NOTIFICATIONS_FAX_MAIL_ADDRESS`` (``"{number}@fax.example.net"``), through the core's mail
  relay with the mail channel's connection handling;
- ``hylafax``: HylaFAX's ``sendfax -n -d <number> <file.pdf>``; the job's request id it prints
  ("request id is 14 (group id 14) for host localhost (1 file)") is kept as the reference.

People have no fax number on file: faxes go to partners (a contractor, a social worker), with
``notify(None, kind, context, event=..., channel="fax", address="+33 4 68 00 00 00")``.
"""
from __future__ import annotations

import dataclasses
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from flask_babel import lazy_gettext as _l
from flask_mailman import EmailMessage

from core.config import ConfigError, Setting
from core.pdf import PdfError
from plugins.notifications.channels.base import (
    Accepted,
    Attachment,
    Channel,
    Outgoing,
    PermanentFailure,
    TemporaryFailure,
)
from plugins.notifications.channels.mail import MailChannel, message_id
from plugins.notifications.letters import local_today, render_letter

GATEWAYS = ("mail", "hylafax")
# What sendfax prints for each job it submitted (HylaFAX's SendFaxClient::notifyNewJob).
REQUEST_ID = re.compile(r"request id is (\d+) \(group id (\d+)\) for host (\S+)")
_SEPARATORS = re.compile(r"[\s.\-()/]")


@dataclasses.dataclass(frozen=True)
class FaxNumber:
    """A fax number in international form: ``international`` is ``+33468000000``."""

    international: str

    @property
    def digits(self) -> str:
        """Without the plus sign: ``33468000000``."""
        return self.international[1:]

    @property
    def national(self) -> str:
        """The French way of dialling it: ``0468000000`` in France, ``0044...`` abroad."""
        if self.international.startswith("+33"):
            return "0" + self.international[3:]
        return "00" + self.digits


def fax_number(text: str) -> FaxNumber:
    """Read a fax number written ``+33 4 68 00 00 00``, ``04.68.00.00.00`` or
    ``0033 4 68...``; :class:`PermanentFailure` when it is not a number one can dial."""
    compact = _SEPARATORS.sub("", text or "")
    if compact.startswith("00"):
        compact = "+" + compact[2:]
    if re.fullmatch(r"0[1-9]\d{8}", compact):
        compact = "+33" + compact[1:]
    if not re.fullmatch(r"\+[1-9]\d{6,14}", compact):
        raise PermanentFailure(f"{text!r} is not a fax number (write +33 4 68 00 00 00 or "
                               "04 68 00 00 00)")
    return FaxNumber(compact)


class MailToFax(MailChannel):
    """Mail-to-fax: the mail channel's relay connection and error handling, with a message
    that holds nothing but the PDF (most gateways would fax a text body as a cover page)."""

    def build(self, outgoing: Outgoing) -> EmailMessage:
        message = EmailMessage(
            subject=outgoing.subject, body="", to=[outgoing.address],
            headers={"Message-ID": message_id(outgoing), "Auto-Submitted": "auto-generated"})
        for attachment in outgoing.attachments:
            message.attach(attachment.filename, attachment.content, attachment.media_type)
        return message

    def send_fax(self, outgoing: Outgoing, number: FaxNumber, pdf: bytes) -> Accepted:
        address = self.config["NOTIFICATIONS_FAX_MAIL_ADDRESS"].format(
            number=number.digits, national=number.national)
        accepted = self.deliver(dataclasses.replace(
            outgoing, address=address,
            attachments=[Attachment(f"fax-{outgoing.id}.pdf", pdf, "application/pdf")]))
        return Accepted(provider_ref=accepted.provider_ref,
                        detail=f"handed to the mail-to-fax gateway {address.partition('@')[2]}")


class HylaFax:
    """HylaFAX through its ``sendfax`` client (the server and its modems are HylaFAX's job)."""

    def __init__(self, config):
        self.command = config["NOTIFICATIONS_FAX_SENDFAX"]
        self.timeout = float(config["NOTIFICATIONS_FAX_TIMEOUT_SECONDS"])

    def send_fax(self, outgoing: Outgoing, number: FaxNumber, pdf: bytes) -> Accepted:
        with tempfile.TemporaryDirectory(prefix="palier-fax-") as folder:
            document = Path(folder) / f"fax-{outgoing.id}.pdf"
            document.write_bytes(pdf)
            try:
                # -n: no cover page (the letter is the document); -d: the destination.
                done = subprocess.run(
                    [self.command, "-n", "-d", number.international, str(document)],
                    capture_output=True, text=True, timeout=self.timeout,
                    stdin=subprocess.DEVNULL, check=False)
            except subprocess.TimeoutExpired:
                raise TemporaryFailure(f"sendfax did not answer within {self.timeout:g} s") \
                    from None
            except OSError as error:
                raise TemporaryFailure(f"sendfax could not run: {error}") from None
        if done.returncode != 0:
            said = (done.stderr or done.stdout).strip().splitlines()
            raise TemporaryFailure(f"sendfax exited with status {done.returncode}"
                                   + (f": {said[-1][:300]}" if said else ""))
        found = REQUEST_ID.search(done.stdout)
        if found is None:  # submitted, but by a sendfax that words it otherwise
            return Accepted(detail=f"submitted to HylaFAX: {done.stdout.strip()[:300]}")
        job, group, host = found.groups()
        return Accepted(provider_ref=job,
                        detail=f"HylaFAX job {job} (group {group}) on {host}")

    def close(self) -> None:
        """Nothing kept between faxes."""


class FaxChannel(Channel):
    """Fax, through a mail-to-fax gateway or HylaFAX."""

    name = "fax"
    label = _l("fax")
    address_kind = "fax"
    settings = (
        Setting("NOTIFICATIONS_FAX_GATEWAY", "mail",
                "How faxes leave: 'mail' (mail-to-fax through the mail relay) or 'hylafax' "
                "(HylaFAX's sendfax)."),
        Setting("NOTIFICATIONS_FAX_MAIL_ADDRESS", "",
                "Mail-to-fax: the gateway's address for a number, with {number} (33468000000) "
                "or {national} (0468000000), e.g. '{number}@fax.example.net'."),
        Setting("NOTIFICATIONS_FAX_SENDFAX", "sendfax",
                "HylaFAX: the sendfax command (a name on PATH or a full path)."),
        Setting("NOTIFICATIONS_FAX_TIMEOUT_SECONDS", 60,
                "HylaFAX: longest sendfax may take to submit a fax, in seconds."),
    )

    def __init__(self, config):
        super().__init__(config)
        gateway = config["NOTIFICATIONS_FAX_GATEWAY"]
        self.gateway = MailToFax(config) if gateway == "mail" else HylaFax(config)

    @classmethod
    def check_config(cls, config) -> None:
        super().check_config(config)
        gateway = config["NOTIFICATIONS_FAX_GATEWAY"]
        if gateway not in GATEWAYS:
            raise ConfigError(f"NOTIFICATIONS_FAX_GATEWAY={gateway!r}: choose 'mail' "
                              "(mail-to-fax) or 'hylafax' (sendfax).")
        if gateway == "mail":
            pattern = config["NOTIFICATIONS_FAX_MAIL_ADDRESS"]
            try:
                sample = pattern.format(number="33468000000", national="0468000000")
            except (AttributeError, KeyError, IndexError, ValueError):
                sample = ""
            if ("{number}" not in pattern and "{national}" not in pattern) or \
                    not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", sample):
                raise ConfigError(
                    f"NOTIFICATIONS_FAX_MAIL_ADDRESS={pattern!r}: give the mail-to-fax "
                    "gateway's address with the number in it, e.g. "
                    "'{number}@fax.example.net' ({number}: 33468000000, {national}: "
                    "0468000000).")
            if not config.get("MAIL_SERVER"):
                raise ConfigError("The fax channel's mail-to-fax gateway needs a mail relay: "
                                  "set MAIL_SERVER (kept mail would never reach a fax).")
        else:
            command = config["NOTIFICATIONS_FAX_SENDFAX"]
            if not command or shutil.which(command) is None:
                raise ConfigError(
                    f"NOTIFICATIONS_FAX_SENDFAX={command!r}: no such executable. Install "
                    "HylaFAX's client (Debian: hylafax-client) or give sendfax's full path.")
            timeout = config["NOTIFICATIONS_FAX_TIMEOUT_SECONDS"]
            if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
                raise ConfigError(f"NOTIFICATIONS_FAX_TIMEOUT_SECONDS={timeout!r}: give a "
                                  "positive number of seconds.")

    def address_of(self, person, contacts: dict) -> str | None:
        """People have no fax number on file: a fax is always addressed explicitly."""
        return None

    def deliver(self, outgoing: Outgoing) -> Accepted:
        number = fax_number(outgoing.address)
        lines = [line for line in (outgoing.recipient_name, f"Fax {number.international}")
                 if line]
        try:
            pdf = render_letter(recipient_lines=lines, subject=outgoing.subject,
                                text=outgoing.text, day=local_today(self.config),
                                locale=outgoing.locale, reference=str(outgoing.id))
        except PdfError as error:
            raise TemporaryFailure(f"the fax could not be rendered: {error}") from None
        return self.gateway.send_fax(outgoing, number, pdf)

    def close(self) -> None:
        self.gateway.close()
