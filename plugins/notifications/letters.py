"""Letters on paper: the rendered PDFs kept under the instance folder, and the day's print
batch (courrier du jour) that staff print, fold and post.

A letter is rendered once, when the worker delivers it, to
``<letters folder>/YYYY-MM-DD/<message id>.pdf`` (written whole or not at all), and attached to
that day's :class:`~plugins.notifications.models.PrintBatch`. ``palier notify print-batch``
closes a day's batch and assembles it into one PDF: a cover sheet (landlord, date, number of
letters, total pages, each recipient with the pages of their letter) followed by every letter,
concatenated with pypdf rather than rendered again, so that a thousand letters take seconds.
A letter delivered after its day's batch was closed goes to the next day's batch.
"""
from __future__ import annotations

import io
import logging
import re
import textwrap
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from core.accounts import utcnow
from core.attachments import write_atomically  # noqa: F401 (used and re-exported)
from core.extensions import db
from core.pdf import render_pdf
from plugins.notifications.models import Message, PrintBatch

log = logging.getLogger("palier.notifications.letters")

LETTER_TEMPLATE = "notifications/pdf/letter.html"
COVER_TEMPLATE = "notifications/pdf/batch_cover.html"

# La Poste's rule for the recipient block (AFNOR NF Z10-011): at most six lines of at most
# 38 characters, the name first, the postcode and town last.
MAX_ADDRESS_LINES = 6
MAX_LINE_LENGTH = 38
# Recipients per part of the cover sheet rendered at once (about a second's work), and a
# first guess of the cover's length with the default theme (rows per page, and the rows the
# summary takes): a right guess saves rendering it twice, a wrong one costs only that.
COVER_PART_ROWS = 250
COVER_ROWS_PER_PAGE = 32
COVER_SUMMARY_ROWS = 12


class AddressProblem(ValueError):
    """A postal address that cannot be printed in the window of an envelope as it stands."""


# -- where letters live -------------------------------------------------------------------

def letters_folder(app=None) -> Path:
    """The folder of rendered letters and batches (``NOTIFICATIONS_LETTERS_DIR``, by default
    ``letters`` in the instance folder)."""
    app = app or current_app
    configured = app.config.get("NOTIFICATIONS_LETTERS_DIR") or ""
    return Path(configured) if configured else Path(app.instance_path) / "letters"


def letter_path(day: date, message_id: int, app=None) -> Path:
    return letters_folder(app) / day.isoformat() / f"{int(message_id)}.pdf"


def batch_filename(day: date) -> str:
    """The batch PDF's name, relative to the letters folder (kept in ``PrintBatch.filename``)."""
    return f"{day.isoformat()}/print-batch-{day.isoformat()}.pdf"


def local_today(config=None) -> date:
    """Today in the landlord's time zone (``NOTIFICATIONS_TIMEZONE``): the day of the batch."""
    config = config or current_app.config
    zone = ZoneInfo(config["NOTIFICATIONS_TIMEZONE"])
    return utcnow().replace(tzinfo=ZoneInfo("UTC")).astimezone(zone).date()


# -- the recipient block ------------------------------------------------------------------

def _plain_capitals(text: str) -> str:
    """Capitals without accents, as La Poste's sorting machines read the town line best."""
    decomposed = unicodedata.normalize("NFD", text.upper())
    return "".join(c for c in decomposed if unicodedata.category(c) != "Mn")


def postal_block(name: str, address: str) -> list[str]:
    """The lines of the recipient block: the name, the address lines, then the postcode and
    town in capitals, at most 6 lines of 38 characters (AFNOR NF Z10-011).

    Lines too long are wrapped at spaces while the block keeps to six lines; otherwise
    :class:`AddressProblem` says what is wrong (the letter would not be delivered).
    """
    lines = [" ".join(line.split()) for line in address.splitlines()]
    lines = [line for line in lines if line]
    if not lines:
        raise AddressProblem("the postal address is empty")
    town = _plain_capitals(lines[-1])
    if not re.match(r"^\d{5} \S", town):
        raise AddressProblem(f"the last address line {lines[-1]!r} is not a postcode and a town")
    if len(town) > MAX_LINE_LENGTH:
        raise AddressProblem(f"the town line {town!r} is longer than {MAX_LINE_LENGTH} "
                             "characters")
    block: list[str] = []
    for line in [" ".join(name.split()), *lines[:-1]]:
        if line:
            block += textwrap.wrap(line, MAX_LINE_LENGTH, break_long_words=True,
                                   break_on_hyphens=False)
    block.append(town)
    if len(block) > MAX_ADDRESS_LINES:
        raise AddressProblem(f"the address takes {len(block)} lines once wrapped to "
                             f"{MAX_LINE_LENGTH} characters; a window envelope shows "
                             f"{MAX_ADDRESS_LINES}")
    return block


# -- rendering ----------------------------------------------------------------------------

def paragraphs(text: str) -> list[str]:
    """The body's paragraphs (blank-line separated); line breaks inside one are kept."""
    return [part.strip("\n") for part in re.split(r"\n\s*\n", text) if part.strip()]


def render_letter(*, recipient_lines: list[str], subject: str, text: str, day: date,
                  locale: str, reference: str = "") -> bytes:
    """The letter's PDF: landlord header and footer from the theme, the recipient block in
    the envelope's window, place and date, subject, body."""
    return render_pdf(LETTER_TEMPLATE, locale=locale, recipient_lines=recipient_lines,
                      subject=subject, paragraphs=paragraphs(text), day=day,
                      place=current_app.config.get("NOTIFICATIONS_LETTER_PLACE") or "",
                      reference=reference)


def page_count(pdf: bytes | Path) -> int:
    from pypdf import PdfReader

    source = io.BytesIO(pdf) if isinstance(pdf, bytes) else pdf
    return len(PdfReader(source).pages)


# -- the day's batch ----------------------------------------------------------------------

def open_batch_day(day: date) -> date:
    """The day of the batch that takes a letter delivered on ``day``: that day's, or the first
    later one not yet closed. The batch is created when missing (one per day: the unique day
    decides a race between workers) and committed, so that no transaction stays open while
    the letter renders."""
    while True:
        batch = db.session.scalar(select(PrintBatch).where(PrintBatch.day == day))
        if batch is None:
            try:
                db.session.add(PrintBatch(day=day))
                db.session.commit()
            except IntegrityError:
                db.session.rollback()  # another worker created it meanwhile: read theirs
                continue
            return day
        closed = batch.assembled_at is not None
        db.session.commit()
        if not closed:
            return day
        day += timedelta(days=1)


def attach(message_id: int, day: date) -> bool:
    """Put a stored letter in ``day``'s batch and commit; False when that batch was closed
    meanwhile (the caller renders it again for the next one).

    The batch row is locked while the message is attached, and :func:`close_batch` locks it
    to close: a letter is either in the batch when it is assembled, or in a later one.
    """
    batch = db.session.scalar(select(PrintBatch).where(PrintBatch.day == day)
                              .with_for_update())
    if batch is None or batch.assembled_at is not None:
        db.session.rollback()
        return False
    db.session.execute(update(Message).where(Message.id == message_id)
                       .values(batch_id=batch.id))
    db.session.commit()
    return True


def batch_of(message_id: int) -> PrintBatch | None:
    return db.session.scalar(select(PrintBatch).join(Message, Message.batch_id == PrintBatch.id)
                             .where(Message.id == message_id))


@dataclass(frozen=True)
class BatchLetter:
    """One letter of a batch, as listed on the cover sheet."""

    number: int
    message_id: int
    recipient_name: str
    town: str
    first_page: int
    last_page: int


def close_batch(day: date) -> PrintBatch | None:
    """Close ``day``'s batch (later letters go to the next day's) and commit. None when no
    letter was ever queued for that day."""
    batch = db.session.scalar(select(PrintBatch).where(PrintBatch.day == day)
                              .with_for_update())
    if batch is None:
        db.session.rollback()
        return None
    if batch.assembled_at is None:
        batch.assembled_at = utcnow()
    db.session.commit()
    return batch


def assemble(day: date, *, landlord: str | None = None) -> PrintBatch | None:
    """Close ``day``'s batch and write its PDF: cover sheet, then every letter in the order
    they were queued. Safe to run again (a crash half-way, a letter re-rendered): the PDF is
    rebuilt from the stored letters and replaced whole. Returns the batch, or None when there
    was no letter that day. Meant for a command or a background job, not a web request."""
    from pypdf import PdfReader, PdfWriter

    batch = close_batch(day)
    if batch is None:
        return None
    rows = db.session.execute(
        select(Message.id, Message.recipient_name, Message.address)
        .where(Message.batch_id == batch.id).order_by(Message.id)).all()
    readers, letters = [], []
    for message_id, name, address in rows:
        path = letter_path(day, message_id)
        if not path.is_file():
            log.error("letter %s is in the batch of %s but its PDF %s is missing",
                      message_id, day, path)
            continue
        reader = PdfReader(path)
        readers.append(reader)
        town = address.splitlines()[-1] if address else ""
        letters.append((message_id, name, town, len(reader.pages)))
    cover, cover_pages, listed = _cover(day, letters, landlord)
    writer = PdfWriter()
    writer.append(PdfReader(io.BytesIO(cover)))
    for reader in readers:
        writer.append(reader)
    out = io.BytesIO()
    writer.write(out)
    filename = batch_filename(day)
    write_atomically(letters_folder() / filename, out.getvalue())
    batch = db.session.get(PrintBatch, batch.id)
    batch.letters = len(listed)
    batch.pages = cover_pages + sum(pages for *_, pages in letters)
    batch.filename = filename
    db.session.commit()
    return batch


def _cover(day, letters, landlord, attempts: int = 4):
    """Render the cover sheet, in parts of :data:`COVER_PART_ROWS` recipients rendered side by
    side (a long table is slow to lay out, and one render must stay within
    ``PDF_TIMEOUT_SECONDS``), then joined.

    The page ranges it lists, and its own page numbers, depend on its length, which is known
    once rendered: it is rendered again with the numbers it really has until they agree. Each
    row is one line whatever the numbers in it, so a second pass, when the first guess was
    wrong, settles it."""
    from pypdf import PdfReader, PdfWriter

    landlord = landlord or current_app.config["LANDLORD_NAME"]
    parts = max(1, -(-len(letters) // COVER_PART_ROWS))
    sizes = [len(letters[k * COVER_PART_ROWS:(k + 1) * COVER_PART_ROWS]) for k in range(parts)]
    sizes[0] += COVER_SUMMARY_ROWS
    guessed = [max(1, -(-rows // COVER_ROWS_PER_PAGE)) for rows in sizes]
    for _ in range(attempts):
        cover_pages = sum(guessed)
        listed, page = [], cover_pages + 1
        for number, (message_id, name, town, pages) in enumerate(letters, start=1):
            listed.append(BatchLetter(number, message_id, name, town, page, page + pages - 1))
            page += pages
        starts = [1 + sum(guessed[:k]) for k in range(parts)]
        rendered = _render_parts([
            dict(day=day, letters=listed[k * COVER_PART_ROWS:(k + 1) * COVER_PART_ROWS],
                 total_letters=len(listed), total_pages=page - 1, cover_pages=cover_pages,
                 landlord=landlord, first_part=k == 0, first_page=starts[k])
            for k in range(parts)])
        actual = [page_count(pdf) for pdf in rendered]
        if actual == guessed:
            writer = PdfWriter()
            for pdf in rendered:
                writer.append(PdfReader(io.BytesIO(pdf)))
            out = io.BytesIO()
            writer.write(out)
            return out.getvalue(), cover_pages, listed
        guessed = actual
    raise RuntimeError(f"the cover sheet of {day} does not settle on a page count")


def _render_parts(contexts: list[dict]) -> list[bytes]:
    """Render the cover's parts on the warm WeasyPrint workers, several at once."""
    from concurrent.futures import ThreadPoolExecutor

    app = current_app._get_current_object()

    def render(context):
        with app.app_context():
            return render_pdf(COVER_TEMPLATE, **context)

    if len(contexts) == 1:
        return [render_pdf(COVER_TEMPLATE, **contexts[0])]
    with ThreadPoolExecutor(max_workers=int(app.config["PDF_WORKERS"])) as pool:
        return list(pool.map(render, contexts))


def batches_with_counts():
    """Every batch, newest first, with its letters counted (open batches are still filling)."""
    counts = (select(Message.batch_id, func.count(Message.id).label("n"))
              .where(Message.batch_id.is_not(None)).group_by(Message.batch_id).subquery())
    return db.session.execute(
        select(PrintBatch, func.coalesce(counts.c.n, 0))
        .outerjoin(counts, counts.c.batch_id == PrintBatch.id)
        .order_by(PrintBatch.day.desc())).all()


def as_local(moment: datetime | None, config=None) -> datetime | None:
    """A stored UTC time in the landlord's time zone, for display."""
    if moment is None:
        return None
    zone = ZoneInfo((config or current_app.config)["NOTIFICATIONS_TIMEZONE"])
    return moment.replace(tzinfo=ZoneInfo("UTC")).astimezone(zone)
