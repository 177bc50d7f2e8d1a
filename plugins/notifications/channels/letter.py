"""The letter channel (courrier): a PDF printed in house in the day's print batch, or handed
to a postal API (ordinary or registered letter, lettre recommandée) that an integrator plugs in.

The worker hands over a rendered message; the channel lays it out as a French letter (landlord
header and footer from the theme, the recipient block in the window of a DL envelope, place and
date, subject, body), stores the PDF under the letters folder and attaches it to the day's
:class:`~plugins.notifications.models.PrintBatch` (see :mod:`plugins.notifications.letters`).
Unlike the other channels it writes to the database: the batch it joins is part of what
"sent" means for a letter. Delivering the same message again after a crash finds it already
in its batch and does not print it twice.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import ClassVar

from flask_babel import lazy_gettext as _l

from core.config import ConfigError, Setting
from core.pdf import PdfError
from plugins.notifications.channels.base import (
    Accepted,
    Channel,
    Outgoing,
    PermanentFailure,
    TemporaryFailure,
)
from plugins.notifications.letters import (
    AddressProblem,
    attach,
    batch_of,
    letter_path,
    local_today,
    open_batch_day,
    page_count,
    postal_block,
    render_letter,
    write_atomically,
)

# How many times a letter is rendered again when its batch closes while it renders.
BATCH_RACE_ATTEMPTS = 3


@dataclass(frozen=True)
class PostalLetter:
    """What a postal API receives: one letter ready to post."""

    #: The message's key, the same at every attempt: give it to the provider when it takes
    #: one, so that a letter sent again after a crash is posted once.
    idempotency_key: str
    #: The recipient block, as printed in the window (name first, postcode and town last).
    recipient_lines: tuple[str, ...]
    pdf: bytes
    pages: int
    #: A registered letter with proof of delivery (lettre recommandée avec accusé de
    #: réception), for the kinds of message that need proof.
    registered: bool
    locale: str


@dataclass(frozen=True)
class PostalReceipt:
    """What a postal API answers once it took the letter."""

    #: The provider's reference of the sending.
    reference: str
    #: The registered letter's tracking number (numéro de suivi), mandatory when registered.
    tracking_number: str | None = None


class PostalAPI:
    """Interface of a postal API (Maileva, La Poste's Envoi de courrier, a printer's API):
    an integrator subclasses it in their own package and names the class in
    ``NOTIFICATIONS_LETTER_POSTAL_API`` (``"package.module:ClassName"``).

    :meth:`send` posts one letter and returns a :class:`PostalReceipt`; it raises
    :class:`~plugins.notifications.channels.TemporaryFailure` when the service may accept it
    later (a 5xx, a timeout, a 429 with ``retry_after``) and
    :class:`~plugins.notifications.channels.PermanentFailure` when it never will (an address the
    service rejects). ``settings`` declares the adapter's own configuration keys (their names
    start with ``NOTIFICATIONS_``) and :meth:`check_config` checks them at start-up.
    """

    settings: ClassVar[tuple[Setting, ...]] = ()

    def __init__(self, config):
        self.config = config

    @classmethod
    def check_config(cls, config) -> None:
        for setting in cls.settings:
            if not config.get(setting.name):
                raise ConfigError(f"{cls.__qualname__}: set {setting.name} ({setting.doc}).")

    def send(self, letter: PostalLetter) -> PostalReceipt:
        raise NotImplementedError

    def close(self) -> None:
        """Release connections kept between letters."""


def enclose(letter: bytes, documents: list[bytes]) -> bytes:
    """The letter followed by the PDF documents of its message (an acknowledgement), in one
    PDF: they are printed, counted in the batch and posted together."""
    if not documents:
        return letter
    import io

    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter()
    for pdf in (letter, *documents):
        writer.append(PdfReader(io.BytesIO(pdf)))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def postal_api_class(path: str) -> type[PostalAPI]:
    """The class named by ``NOTIFICATIONS_LETTER_POSTAL_API`` (``"module:Class"``)."""
    module_name, _, class_name = path.partition(":")
    if not module_name or not class_name:
        raise ConfigError(f"NOTIFICATIONS_LETTER_POSTAL_API={path!r}: give the adapter class as "
                          "'package.module:ClassName', or leave it empty to print letters in "
                          "house.")
    try:
        found = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError) as error:
        raise ConfigError(f"NOTIFICATIONS_LETTER_POSTAL_API={path!r} cannot be loaded: "
                          f"{error}.") from None
    if not (isinstance(found, type) and issubclass(found, PostalAPI)):
        raise ConfigError(f"NOTIFICATIONS_LETTER_POSTAL_API={path!r} is not a subclass of "
                          "plugins.notifications.channels.letter.PostalAPI.")
    return found


class LetterChannel(Channel):
    """Letters on paper: printed in house in the day's batch, or through a postal API."""

    name = "letter"
    label = _l("letter")
    address_kind = "postal"
    settings = (
        Setting("NOTIFICATIONS_LETTERS_DIR", "",
                "Folder of the rendered letters and the daily print batches (empty: 'letters' "
                "in the instance folder; several machines need a shared one)."),
        Setting("NOTIFICATIONS_LETTER_PLACE", "",
                "Town written before the date of letters ('Carcassonne, le 3 mars 2026'); "
                "empty: the date alone."),
        Setting("NOTIFICATIONS_LETTER_POSTAL_API", "",
                "Postal API adapter posting letters instead of the in-house print batch, as "
                "'package.module:ClassName' (a subclass of "
                "plugins.notifications.channels.letter.PostalAPI); empty: print batch."),
    )

    def __init__(self, config):
        super().__init__(config)
        path = config.get("NOTIFICATIONS_LETTER_POSTAL_API") or ""
        self.postal_api = postal_api_class(path)(config) if path else None

    @classmethod
    def check_config(cls, config) -> None:
        super().check_config(config)
        for key in ("NOTIFICATIONS_LETTERS_DIR", "NOTIFICATIONS_LETTER_PLACE",
                    "NOTIFICATIONS_LETTER_POSTAL_API"):
            if not isinstance(config[key], str):
                raise ConfigError(f"{key}={config[key]!r}: give a text.")
        if config["NOTIFICATIONS_LETTER_POSTAL_API"]:
            postal_api_class(config["NOTIFICATIONS_LETTER_POSTAL_API"]).check_config(config)

    def deliver(self, outgoing: Outgoing) -> Accepted:
        try:
            lines = postal_block(outgoing.recipient_name, outgoing.address)
        except AddressProblem as problem:
            raise PermanentFailure(f"the address cannot be printed for a window envelope: "
                                   f"{problem}") from None
        if self.postal_api is not None:
            return self._post(outgoing, lines)
        already = batch_of(outgoing.id)
        if already is not None:  # delivered before a crash: it is in its batch already
            return Accepted(detail=f"in the print batch of {already.day.isoformat()}")
        for _ in range(BATCH_RACE_ATTEMPTS):
            day = open_batch_day(local_today(self.config))
            write_atomically(letter_path(day, outgoing.id), self._render(outgoing, lines, day))
            if attach(outgoing.id, day):
                return Accepted(detail=f"in the print batch of {day.isoformat()}")
        raise TemporaryFailure("the print batch was closed each time this letter was ready")

    def _render(self, outgoing: Outgoing, lines: list[str], day) -> bytes:
        try:
            letter = render_letter(recipient_lines=lines, subject=outgoing.subject,
                                   text=outgoing.text, day=day, locale=outgoing.locale,
                                   reference=str(outgoing.id))
        except PdfError as error:  # PdfTimeout included: a busy machine, worth another try
            raise TemporaryFailure(f"the letter could not be rendered: {error}") from None
        return enclose(letter, [a.content for a in outgoing.attachments
                                if a.media_type == "application/pdf"])

    def _post(self, outgoing: Outgoing, lines: list[str]) -> Accepted:
        from plugins.notifications.kinds import kind_of

        day = local_today(self.config)
        pdf = self._render(outgoing, lines, day)
        # Kept as proof of what was posted, outside any print batch.
        write_atomically(letter_path(day, outgoing.id), pdf)
        registered = kind_of(outgoing.kind).needs_proof
        receipt = self.postal_api.send(PostalLetter(
            idempotency_key=outgoing.idempotency_key, recipient_lines=tuple(lines), pdf=pdf,
            pages=page_count(pdf), registered=registered, locale=outgoing.locale))
        if registered:
            if not receipt.tracking_number:
                raise PermanentFailure(
                    f"the postal API took the registered letter ({receipt.reference}) but gave "
                    "no tracking number: check with the provider before sending it again")
            return Accepted(provider_ref=receipt.tracking_number,
                            detail=f"registered letter posted, reference {receipt.reference}")
        return Accepted(provider_ref=receipt.reference, detail="posted through the postal API")

    def close(self) -> None:
        if self.postal_api is not None:
            self.postal_api.close()
