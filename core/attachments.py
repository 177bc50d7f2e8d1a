"""Attachments (pièces jointes): tenants' photos and the documents the platform generates.

An uploaded photo is checked before any decoding (size, type found from its content, pixel
count read from its header), decoded by Pillow, turned upright, shrunk to a reasonable size and
re-encoded as a fresh JPEG (PNG when it is transparent) that carries no EXIF, XMP, GPS, comment
or colour profile. Files live under generated names in ``instance/attachments/`` (or
``ATTACHMENTS_DIR``), never under a static folder, and are served only by
:mod:`core.web.attachments`, which asks :func:`visible_attachments` who may see what.

A file is written before its row and belongs to the database transaction that adds the row: if
that transaction is rolled back (or never committed) the file is removed; a deleted
attachment's file is removed once the deletion is committed. Nothing is half-written.
"""
from __future__ import annotations

import hashlib
import io
import logging
import os
import re
import secrets
import tempfile
import unicodedata
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

import pillow_heif
from flask import current_app
from flask_babel import lazy_gettext as _l
from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy import ForeignKey, Index, String, event, false, or_, select
from sqlalchemy.orm import Mapped, Session, SessionTransaction, mapped_column
from sqlalchemy.sql import Select
from werkzeug.datastructures import FileStorage

from core.accounts import User, utcnow
from core.extensions import db
from core.plugins import hook

log = logging.getLogger(__name__)

# HEIC/HEIF photos (iPhones) are opened by pillow-heif's Pillow plugin, format name "HEIF".
pillow_heif.register_heif_opener()

# Formats accepted from uploads, by Pillow's format name. A JPEG that carries extra pictures
# (portrait mode, some cameras) opens as "MPO": its first picture is a plain JPEG.
ACCEPTED_IMAGE_FORMATS = ("JPEG", "PNG", "WEBP", "HEIF")
# Types a stored image can have (every photo is re-encoded to one of them); only these are
# ever shown inline.
IMAGE_TYPES = {"image/jpeg": ".jpg", "image/png": ".png"}
# Documents the platform itself generates, with the signature their content must start with.
DOCUMENT_TYPES = {"application/pdf": (".pdf", b"%PDF-")}
# Markers of active content (PDF, HTML, SVG, XML) where readers and browsers look for them, the
# first kilobyte: a photo carrying one is a polyglot. Re-encoding would drop the payload anyway;
# refusing the file also tells the sender.
_POLYGLOT_MARKERS = (b"%pdf-", b"<html", b"<script", b"<svg", b"<?xml", b"<!doctype")
_JPEG_QUALITY = 85
_STORAGE_NAME = re.compile(r"[0-9a-f]{48}")
_OWNER_TYPE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
_UNSAFE_IN_NAMES = re.compile(r'[<>:"|?*]')


class AttachmentRejected(ValueError):
    """A file a user sent that cannot be kept; ``message`` says why, in the user's language.

    Views turn it into a 400 answer showing the message. Nothing was written when it is raised.
    """

    def __init__(self, message):
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return str(self.message)


def _wrong_type():
    return AttachmentRejected(_l(
        "This file type is not accepted: please send a photo in JPEG, PNG, WebP or HEIC format."))


def _damaged():
    return AttachmentRejected(_l(
        "This file is damaged or incomplete: please send it again."))


def _too_large(max_bytes: int):
    return AttachmentRejected(_l("This file is too large: %(limit)s MB at most.",
                                 limit=_megabytes(max_bytes)))


def _too_many_pixels(max_pixels: int):
    return AttachmentRejected(_l("This image has too many pixels: %(limit)s megapixels at most.",
                                 limit=_megabytes(max_pixels, unit=1_000_000)))


def _megabytes(value: int, unit: int = 1024 * 1024) -> str:
    figure = value / unit
    return f"{figure:.0f}" if figure == int(figure) else f"{figure:.1f}"


class Attachment(db.Model):
    """A stored file: a re-encoded photo or a generated document, and whose it is.

    ``storage_name`` is random (192 bits) and is the only name on disk and in URLs;
    ``original_name`` is the sender's file name, cleaned, for display and downloads only.
    ``person_id`` is the person the file is about (data export and erasure find files through
    it); ``owner_type`` and ``owner_id`` name the object the file belongs to (``"claim"``, 42).
    """

    __tablename__ = "attachment"
    __table_args__ = (Index("ix_attachment_owner", "owner_type", "owner_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    storage_name: Mapped[str] = mapped_column(String(64), unique=True)
    original_name: Mapped[str] = mapped_column(String(255))
    media_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int]
    width: Mapped[int | None]
    height: Mapped[int | None]
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    uploaded_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"))
    # No cascade: a person is erased only after their files, so no file is left behind.
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"), index=True)
    owner_type: Mapped[str] = mapped_column(String(40))
    owner_id: Mapped[int]

    @property
    def is_image(self) -> bool:
        return self.media_type in IMAGE_TYPES


@dataclass
class _Photo:
    data: bytes
    media_type: str
    width: int
    height: int


@dataclass(frozen=True)
class PreparedImage:
    """A photo checked and re-encoded by :func:`prepare_image`, not stored yet."""

    photo: _Photo
    name: str | None


def prepare_image(source: FileStorage | bytes | BinaryIO) -> PreparedImage:
    """Check and re-encode a photo without touching the database: the slow part of
    :func:`store_image`, done before a write transaction starts (SQLite's write lock is
    held for the whole transaction)."""
    config = current_app.config
    data, sent_name = _read_capped(source, int(config["ATTACHMENTS_MAX_BYTES"]))
    return PreparedImage(_reencode(data, int(config["ATTACHMENTS_MAX_PIXELS"]),
                                   int(config["ATTACHMENTS_MAX_DIMENSION"])), sent_name)


def store_image(source: FileStorage | bytes | BinaryIO | PreparedImage, *, owner_type: str,
                owner_id: int, person_id: int | None, uploaded_by: User | int | None,
                filename: str | None = None) -> Attachment:
    """Check, clean and store a photo a user sent; return its new :class:`Attachment`.

    ``source`` is an uploaded file (``request.files[...]``), bytes or a binary file object;
    ``filename`` overrides the uploaded file's name, which is kept for display only. The row is
    added to the session and flushed: commit it with the rest of the request's work (a rollback
    removes the file). Raises :class:`AttachmentRejected` with a message for the user when the
    file is too large, not an accepted image, too many pixels or damaged.
    """
    _check_owner(owner_type, owner_id)
    prepared = source if isinstance(source, PreparedImage) else prepare_image(source)
    photo, sent_name = prepared.photo, prepared.name
    return _store(photo.data, photo.media_type, _display_name(
        filename or sent_name, IMAGE_TYPES[photo.media_type], "photo"),
        width=photo.width, height=photo.height, owner_type=owner_type, owner_id=owner_id,
        person_id=person_id, uploaded_by=uploaded_by)


def store_document(data: bytes, *, filename: str, owner_type: str, owner_id: int,
                   person_id: int | None, uploaded_by: User | int | None = None,
                   media_type: str = "application/pdf") -> Attachment:
    """Store a document the platform generated (a letter, a report, minutes as PDF).

    Documents are always served as downloads, never shown in the browser. The content must
    match ``media_type`` (one of :data:`DOCUMENT_TYPES`); a mismatch is a programming error
    (``ValueError``). Like :func:`store_image`, the row is flushed and commits with the session.
    """
    _check_owner(owner_type, owner_id)
    if media_type not in DOCUMENT_TYPES:
        raise ValueError(f"Documents of type {media_type!r} are not stored; "
                         f"known types: {', '.join(DOCUMENT_TYPES)}.")
    extension, signature = DOCUMENT_TYPES[media_type]
    if not data.startswith(signature):
        raise ValueError(f"This content is not {media_type}.")
    return _store(data, media_type, _display_name(filename, extension, "document"),
                  width=None, height=None, owner_type=owner_type, owner_id=owner_id,
                  person_id=person_id, uploaded_by=uploaded_by)


def open_attachment(attachment: Attachment) -> BinaryIO:
    """Open the stored file of ``attachment`` for reading (binary); close it after use."""
    return open(file_path(attachment), "rb")


def file_path(attachment: Attachment) -> Path:
    """Where the file of ``attachment`` lives: ``<root>/<first 2 characters>/<storage name>``."""
    return _path_for(attachment.storage_name)


def delete_attachment(attachment: Attachment) -> None:
    """Delete ``attachment``: its row now, its file once the session commits.

    A rollback keeps both. The caller commits.
    """
    session = db.session()
    session.delete(attachment)
    session.flush()
    _ledger(session).remember(file_path(attachment), deleted=True, session=session)


def visible_attachments(user) -> Select:
    """The attachments ``user`` may see, as a query to refine (``.where(...)``).

    Each plugin's ``attachments_visible_to`` hook adds what it allows; an anonymous user, or a
    user nobody allows anything, sees nothing.
    """
    query = select(Attachment)
    if not getattr(user, "is_authenticated", False):
        return query.where(false())
    criteria = hook().attachments_visible_to(user=user)
    return query.where(or_(*criteria) if criteria else false())


def is_storage_name(value: str) -> bool:
    """Whether ``value`` has the shape of a generated storage name."""
    return bool(_STORAGE_NAME.fullmatch(value))


def storage_root(app=None) -> Path:
    """The folder holding every stored file (``ATTACHMENTS_DIR`` or the instance's)."""
    app = app or current_app
    return Path(app.config["ATTACHMENTS_DIR"] or Path(app.instance_path) / "attachments")


# --- checking and re-encoding photos -------------------------------------------------------

def _read_capped(source, max_bytes: int) -> tuple[bytes, str | None]:
    """The bytes of ``source``, never reading more than one byte past the cap."""
    name = None
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
    else:
        if isinstance(source, FileStorage):
            name, source = source.filename, source.stream
        data = source.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise _too_large(max_bytes)
    if not data:
        raise AttachmentRejected(_l("The file is empty."))
    return data, name


def _reencode(data: bytes, max_pixels: int, max_dimension: int) -> _Photo:
    """Decode an accepted photo and encode it again, upright and without metadata."""
    if any(marker in data[:1024].lower() for marker in _POLYGLOT_MARKERS):
        raise _wrong_type()
    try:
        # Only the header is read here; ``formats`` keeps Pillow from trying other decoders.
        image = Image.open(io.BytesIO(data), formats=ACCEPTED_IMAGE_FORMATS)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        # Pillow's own bomb check runs on the header: the size alone gives it away.
        raise _too_many_pixels(max_pixels) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError):
        raise _wrong_type() from None
    with image:
        width, height = image.size
        if width * height > max_pixels:
            raise _too_many_pixels(max_pixels)
        try:
            if image.format in ("JPEG", "MPO"):
                # Decode at a reduced scale when the photo is far larger than what is kept.
                image.draft("RGB", (max_dimension, max_dimension))
            image.load()
            upright = ImageOps.exif_transpose(image)
            clean = _flatten(upright)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise _too_many_pixels(max_pixels) from None
        except (OSError, SyntaxError, ValueError, EOFError, TypeError, IndexError, KeyError):
            raise _damaged() from None
    clean.thumbnail((max_dimension, max_dimension), Image.Resampling.LANCZOS)
    # Pillow carries some of ``info`` into the file it writes (comments, colour profile): a
    # stored photo keeps nothing but its pixels.
    clean.info = {}
    output = io.BytesIO()
    if clean.mode == "RGBA":
        clean.save(output, "PNG", optimize=False)
        media_type = "image/png"
    else:
        clean.save(output, "JPEG", quality=_JPEG_QUALITY)
        media_type = "image/jpeg"
    return _Photo(output.getvalue(), media_type, clean.width, clean.height)


def _flatten(image: Image.Image) -> Image.Image:
    """The pixels as RGB, or RGBA when some are actually transparent."""
    has_alpha = image.mode in ("RGBA", "LA", "PA") or (
        image.mode == "P" and "transparency" in image.info)
    if has_alpha:
        rgba = image.convert("RGBA")
        if rgba.getchannel("A").getextrema() != (255, 255):
            return rgba
        return rgba.convert("RGB")
    return image.convert("RGB")


# --- names ---------------------------------------------------------------------------------

def _display_name(raw: str | None, extension: str, default: str) -> str:
    """The sender's file name made harmless for display: last path part only, no control or
    direction characters, at most 100 characters, with the extension of what is stored."""
    name = unicodedata.normalize("NFC", raw or "")
    name = re.split(r"[/\\]", name)[-1]
    # Category C: controls (NUL...), format characters (the right-to-left override U+202E and
    # other direction marks, zero-width spaces), surrogates, private use, unassigned.
    name = "".join(ch for ch in name if not unicodedata.category(ch).startswith("C"))
    name = _UNSAFE_IN_NAMES.sub("_", name)
    stem = name.rsplit(".", 1)[0] if "." in name else name
    stem = stem.strip(" .")[:100].strip(" .")
    return (stem or default) + extension


def ascii_file_name(display_name: str) -> str:
    """An ASCII-only version of a display name, for the plain ``filename`` of downloads."""
    # Accents go (é → e); any other non-ASCII character becomes a separator.
    simple = "".join(
        ch if ch.isascii() else "_"
        for ch in unicodedata.normalize("NFKD", display_name) if not unicodedata.combining(ch))
    stem, dot, extension = simple.rpartition(".")
    stem = re.sub(r"[^A-Za-z0-9-]+", "_", stem if dot else simple).strip("_")
    extension = re.sub(r"[^A-Za-z0-9]+", "", extension) if dot else ""
    return (stem or "file") + ("." + extension if extension else "")


# --- storage -------------------------------------------------------------------------------

def _check_owner(owner_type: str, owner_id: int) -> None:
    if not isinstance(owner_type, str) or not _OWNER_TYPE.match(owner_type):
        raise ValueError(f"owner_type must be a short lower-case word, not {owner_type!r}.")
    if not isinstance(owner_id, int):
        raise ValueError(f"owner_id must be the owning object's integer id, not {owner_id!r}.")


def _path_for(storage_name: str) -> Path:
    if not is_storage_name(storage_name):
        raise ValueError(f"Not a storage name: {storage_name!r}.")
    return storage_root() / storage_name[:2] / storage_name


def _store(data: bytes, media_type: str, display_name: str, *, width, height, owner_type,
           owner_id, person_id, uploaded_by) -> Attachment:
    storage_name = secrets.token_hex(24)
    path = _path_for(storage_name)
    write_atomically(path, data)
    attachment = Attachment(
        storage_name=storage_name, original_name=display_name, media_type=media_type,
        size=len(data), width=width, height=height, sha256=hashlib.sha256(data).hexdigest(),
        uploaded_by_id=getattr(uploaded_by, "id", uploaded_by), person_id=person_id,
        owner_type=owner_type, owner_id=owner_id)
    session = db.session()
    try:
        session.add(attachment)
        session.flush()
    except BaseException:
        _unlink(path)
        raise
    _ledger(session).remember(path, deleted=False, session=session)
    return attachment


def write_atomically(path: Path, data: bytes) -> None:
    """Write through a temporary file in the same folder, then rename: a reader never sees a
    partial file, and a crash leaves at most a temporary file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".incoming-")
    try:
        with os.fdopen(descriptor, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        _unlink(Path(temporary))
        raise


def _unlink(path: Path) -> None:
    with suppress(FileNotFoundError):
        path.unlink()


# --- files follow the transaction of their rows --------------------------------------------

@dataclass
class _FileLedger:
    """Files written or to delete, each tied to the session transaction that owns its row."""

    written: list[tuple[Path, SessionTransaction]] = field(default_factory=list)
    doomed: list[tuple[Path, SessionTransaction]] = field(default_factory=list)
    committing: bool = False

    def remember(self, path: Path, *, deleted: bool, session: Session) -> None:
        transaction = session.get_nested_transaction() or session.get_transaction()
        (self.doomed if deleted else self.written).append((path, transaction))

    def transaction_ended(self, transaction: SessionTransaction) -> None:
        committed, self.committing = self.committing, False
        written = [path for path, owner in self.written if owner is transaction]
        doomed = [path for path, owner in self.doomed if owner is transaction]
        if not (written or doomed):
            return
        self.written = [entry for entry in self.written if entry[1] is not transaction]
        self.doomed = [entry for entry in self.doomed if entry[1] is not transaction]
        if committed and transaction.parent is not None:
            # A savepoint released: its files now depend on the enclosing transaction.
            self.written += [(path, transaction.parent) for path in written]
            self.doomed += [(path, transaction.parent) for path in doomed]
        elif committed:
            for path in doomed:
                _unlink(path)
        else:
            for path in written:
                _unlink(path)


_LEDGER_KEY = "palier_attachment_files"


def _ledger(session: Session) -> _FileLedger:
    return session.info.setdefault(_LEDGER_KEY, _FileLedger())


@event.listens_for(Session, "after_commit")
def _on_commit(session: Session) -> None:
    # Fired just before the committed transaction (or released savepoint) ends.
    ledger = session.info.get(_LEDGER_KEY)
    if ledger is not None:
        ledger.committing = True


@event.listens_for(Session, "after_transaction_end")
def _on_transaction_end(session: Session, transaction: SessionTransaction) -> None:
    ledger = session.info.get(_LEDGER_KEY)
    if ledger is not None:
        ledger.transaction_ended(transaction)
