"""Versions of the claims catalogue kept in the database, edited by administrators.

An administrator edits the catalogue in the back office (or imports a file with
``palier claims catalogue import``): the text is checked by the same rules as the shipped file
(:func:`plugins.claims.catalogue.check_catalogue_text`) and saved as a new
:class:`~plugins.claims.models.CatalogueVersion`. Saving never changes what tenants see: a
version is used only once it is *activated*, and the active version is simply the one
activated last. With none activated, claims are filed against the file (the shipped one, or
``CLAIMS_CATALOGUE_FILE``).

Versions are never edited nor deleted, and each claim copies the wording, who pays and the
legal reference it was filed with, and names its version: activating a new version changes
new claims only.

Which catalogue is in force is asked of the database, not remembered by the process: every
request runs one query on the index of ``activated_at`` (the newest activation), and the
parsed catalogue is cached in the process under that version's id. A few milliseconds of
parsing happen once per process and activation; the query costs well under a millisecond on a
table of a few dozen rows. So every gunicorn worker (and every host) switches at its next
request after an activation, without signals, restarts or a shared cache to keep in step; a
cache that only expired after a delay would let two workers file claims against two different
versions meanwhile. Within one request (one application context) the first answer is kept,
so that a page never mixes two versions.
"""
from __future__ import annotations

import hashlib
import logging
import re
from collections import Counter
from dataclasses import dataclass, replace
from datetime import timedelta

from flask import current_app, g, has_app_context
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from core import audit
from core.accounts import utcnow
from core.extensions import db
from plugins.claims import CATALOGUE_EXTENSION
from plugins.claims.catalogue import Catalogue, Issue, Problem, check_catalogue_text
from plugins.claims.models import CatalogueVersion

log = logging.getLogger(__name__)

# app.extensions keys: the file's catalogue (checked at start-up) and this process's cache.
FILE_EXTENSION = CATALOGUE_EXTENSION
CACHE_EXTENSION = "palier.claims.catalogue_cache"
_REQUEST_KEY = "_claims_active_catalogue"

# Five times the shipped catalogue; also below the form size Flask accepts (500 kB).
MAX_SOURCE_BYTES = 400_000
MAX_NOTE = 500
VERSION_COLUMN = 40
HASH_CHARS = 8
# The declared version, "+", the start of the text's SHA-256: fits the claims' column.
MAX_DECLARED_VERSION = VERSION_COLUMN - HASH_CHARS - 1
# Shown in lists, copied into every claim and into download file names: plain characters.
VERSION_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")

SAVED_ACTION = "claims.catalogue_saved"
ACTIVATED_ACTION = "claims.catalogue_activated"


class CatalogueRejected(ValueError):
    """A catalogue text or a version that cannot be saved or activated; ``messages`` says
    everything wrong, each with its line or the id of the item concerned."""

    def __init__(self, messages: list[str]):
        self.messages = list(messages)
        super().__init__("\n".join(self.messages))


class VersionNotFound(LookupError):
    pass


@dataclass(frozen=True)
class Checked:
    """A catalogue text as checked: the catalogue it makes (with its stored version string)
    or the messages saying what is wrong."""

    source: str
    catalogue: Catalogue | None
    messages: list[str]

    @property
    def ok(self) -> bool:
        return self.catalogue is not None and not self.messages


def normalise(text: str) -> str:
    """The text as stored and hashed: a browser's textarea sends CRLF line ends, an editor may
    add a byte-order mark; neither is a change of the catalogue."""
    return text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")


def version_string(declared: str, source: str) -> str:
    """``2026.2+1a2b3c4d``: the version the file declares, which people read, and the start of
    the text's SHA-256, which makes two different texts two different versions even when an
    editor forgot to change ``version``, and the same text saved twice one version."""
    digest = hashlib.sha256(source.encode("utf-8")).hexdigest()[:HASH_CHARS]
    return f"{declared}+{digest}"


def issue_message(issue: Issue) -> str:
    text = f"{issue.where}: {issue.message}" if issue.where else issue.message
    return _("Line %(line)d: %(text)s", line=issue.line, text=text) if issue.line else text


def check_source(source) -> Checked:
    """Check a catalogue text as :func:`save_version` would; nothing is written."""
    if not isinstance(source, str):
        return Checked("", None, [_("The catalogue must be text (TOML).")])
    source = normalise(source)
    if not source.strip():
        return Checked(source, None, [_("The catalogue is empty.")])
    try:
        size = len(source.encode("utf-8"))
    except UnicodeEncodeError:
        return Checked(source, None, [_("The catalogue contains characters that cannot be "
                                        "recorded.")])
    if size > MAX_SOURCE_BYTES:
        return Checked(source, None, [_("The catalogue is too large: %(size)d bytes, "
                                        "%(max)d at most.", size=size, max=MAX_SOURCE_BYTES)])
    if "\x00" in source:
        return Checked(source, None, [_("The catalogue contains characters that cannot be "
                                        "recorded.")])
    catalogue, issues = check_catalogue_text(source)
    messages = [issue_message(issue) for issue in issues]
    if catalogue is None or messages:
        return Checked(source, None, messages or [_("The catalogue cannot be used.")])
    if not VERSION_PATTERN.match(catalogue.version):
        return Checked(source, None, [_("Line %(line)d: version “%(version)s” may only use "
                                        "letters, digits, “.”, “_” and “-” (e.g. 2026.2).",
                                        line=_version_line(source), version=catalogue.version)])
    if len(catalogue.version) > MAX_DECLARED_VERSION:
        return Checked(source, None, [_("Line %(line)d: version “%(version)s” is too long "
                                        "(%(max)d characters at most).",
                                        line=_version_line(source), version=catalogue.version,
                                        max=MAX_DECLARED_VERSION)])
    return Checked(source, replace(catalogue, version=version_string(catalogue.version, source)),
                   [])


def _version_line(source: str) -> int:
    for number, line in enumerate(source.splitlines(), 1):
        if line.lstrip().startswith("version"):
            return number
    return 1


def counts_of(catalogue: Catalogue) -> dict:
    return {"places": len(catalogue.places), "equipment": len(catalogue.equipment),
            "problems": len(catalogue.problems),
            "by_responsibility": {key.value: value for key, value in sorted(Counter(
                p.responsibility for p in catalogue.problems).items())}}


# -- saving and activating --------------------------------------------------------------------

def save_version(source_text, note: str | None, user) -> CatalogueVersion:
    """Check ``source_text`` and store it as a new, inactive version; commit and return it.

    :class:`CatalogueRejected` lists every problem and nothing is written. The same text saved
    twice is refused too (it would be the same version): its version is named instead.
    """
    checked = check_source(source_text)
    note = (note or "").strip()
    messages = list(checked.messages)
    if len(note) > MAX_NOTE:
        messages.append(_("The note is too long: %(max)d characters at most.", max=MAX_NOTE))
    if messages:
        raise CatalogueRejected(messages)
    catalogue = checked.catalogue
    already = db.session.scalar(select(CatalogueVersion.version)
                                .where(CatalogueVersion.version == catalogue.version))
    if already:
        raise CatalogueRejected([_("This text is already saved, as version %(version)s.",
                                   version=already)])
    row = CatalogueVersion(version=catalogue.version, source=checked.source,
                           counts=counts_of(catalogue), note=note,
                           created_by_id=getattr(user, "id", None), created_at=utcnow())
    try:
        db.session.add(row)
        db.session.flush()
        audit.record(SAVED_ACTION, obj=row, detail={"version": row.version, "note": note,
                                                    "counts": row.counts})
        db.session.commit()
    except IntegrityError:
        # The same text, saved meanwhile by someone else.
        db.session.rollback()
        raise CatalogueRejected([_("This text is already saved, as version %(version)s.",
                                   version=catalogue.version)]) from None
    except BaseException:
        db.session.rollback()
        raise
    return row


def activate(version_id: int, user) -> CatalogueVersion:
    """Make a saved version the one new claims are filed against; commit and return it.

    The version is checked again first: a pictogram it names may have gone with an upgrade
    of Palier since it was saved. Activating the active version changes nothing.
    """
    row = db.session.get(CatalogueVersion, version_id) if isinstance(version_id, int) else None
    if row is None:
        raise VersionNotFound(_("This catalogue version does not exist."))
    current = _active_row()
    if current is not None and current.id == row.id:
        return row
    checked = check_source(row.source)
    if not checked.ok:
        raise CatalogueRejected(checked.messages)
    now = utcnow()
    if current is not None and current.activated_at >= now:
        # A clock behind the last activation's (another host): still the newest.
        now = current.activated_at + timedelta(microseconds=1)
    try:
        row.activated_at = now
        audit.record(ACTIVATED_ACTION, obj=row, detail={
            "version": row.version, "previous": current.version if current else None,
            "by": getattr(user, "email", None)})
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    _forget_request_cache()
    return row


# -- the catalogue in force -------------------------------------------------------------------

def _active_query():
    return (select(CatalogueVersion.id, CatalogueVersion.version, CatalogueVersion.activated_at)
            .where(CatalogueVersion.activated_at.is_not(None))
            .order_by(CatalogueVersion.activated_at.desc(), CatalogueVersion.id.desc())
            .limit(1))


def _active_row():
    return db.session.execute(_active_query()).first()


def active_version() -> CatalogueVersion | None:
    """The active version's row, or None when claims are filed against the file."""
    row = _active_row()
    return db.session.get(CatalogueVersion, row.id) if row is not None else None


def file_catalogue(app=None) -> Catalogue:
    """The catalogue of the file (shipped, or CLAIMS_CATALOGUE_FILE), checked at start-up."""
    return (app or current_app).extensions[FILE_EXTENSION]


def install(app, file_catalogue_: Catalogue) -> None:
    """At start-up: the file's catalogue (the fallback) and an empty cache for this process."""
    app.extensions[FILE_EXTENSION] = file_catalogue_
    app.extensions[CACHE_EXTENSION] = {}


def active_catalogue(app=None) -> Catalogue:
    """The catalogue new claims are filed against: the active version, else the file."""
    app = app or current_app
    same_context = has_app_context() and current_app._get_current_object() is app
    if same_context and _REQUEST_KEY in g:
        return g.get(_REQUEST_KEY)
    row = _active_row()
    catalogue = file_catalogue(app) if row is None else _cached(app, row.id)
    if same_context:
        setattr(g, _REQUEST_KEY, catalogue)
    return catalogue


def _cached(app, version_id: int) -> Catalogue:
    cache = app.extensions.setdefault(CACHE_EXTENSION, {})
    entry = cache.get("active")
    if entry is not None and entry[0] == version_id:
        return entry[1]
    source = db.session.scalar(select(CatalogueVersion.source)
                               .where(CatalogueVersion.id == version_id))
    checked = check_source(source)
    if checked.ok:
        catalogue = checked.catalogue
    else:
        # Checked when saved and when activated, so only an upgrade that removed a pictogram
        # gets here: tenants keep a working catalogue, the file's, and the log says why.
        log.error("Claims catalogue version %s cannot be loaded, using the file instead: %s",
                  version_id, "; ".join(checked.messages))
        catalogue = file_catalogue(app)
    cache["active"] = (version_id, catalogue)
    return catalogue


def _forget_request_cache() -> None:
    if has_app_context():
        g.pop(_REQUEST_KEY, None)


def catalogue_of(row: CatalogueVersion) -> Checked:
    """A stored version as a catalogue (for browsing and comparing)."""
    return check_source(row.source)


# -- comparing --------------------------------------------------------------------------------

# What a tenant or an agent reads of a problem, as compared between two versions.
COMPARED_FIELDS = {
    "wording_fr": lambda p: p.label.fr,
    "wording_en": lambda p: p.label.en,
    "equipment": lambda p: p.equipment,
    "responsibility": lambda p: p.responsibility.value,
    "legal_reference": lambda p: p.legal_reference,
    "trade": lambda p: p.trade,
    "priority": lambda p: p.priority.value,
    "deadline_hours": lambda p: f"{p.deadline_hours:g}",
    "video_diagnosis": lambda p: "yes" if p.video_diagnosis else "no",
    "safety_fr": lambda p: p.safety_advice.fr if p.safety_advice else "",
    "safety_en": lambda p: p.safety_advice.en if p.safety_advice else "",
    "hazards": lambda p: ", ".join(h.value for h in p.hazards),
}


@dataclass(frozen=True)
class FieldChange:
    field: str
    old: str
    new: str


@dataclass(frozen=True)
class ProblemChange:
    old: Problem
    new: Problem
    fields: tuple[FieldChange, ...]

    @property
    def id(self) -> str:
        return self.new.id


@dataclass(frozen=True)
class CatalogueDiff:
    """What changes for new claims between two catalogues, problem by problem."""

    added: tuple[Problem, ...]
    removed: tuple[Problem, ...]
    changed: tuple[ProblemChange, ...]
    places_added: tuple[str, ...] = ()
    places_removed: tuple[str, ...] = ()
    equipment_added: tuple[str, ...] = ()
    equipment_removed: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed or self.places_added or
                    self.places_removed or self.equipment_added or self.equipment_removed)


def diff(old: Catalogue, new: Catalogue) -> CatalogueDiff:
    """Problems added, removed, and changed (wording, who pays, legal reference, trade,
    priority, deadline, video, safety advice), matched by id: ids are what claims keep."""
    before = {p.id: p for p in old.problems}
    after = {p.id: p for p in new.problems}
    changed = []
    for ident, problem in after.items():
        previous = before.get(ident)
        if previous is None:
            continue
        fields = tuple(FieldChange(name, get(previous), get(problem))
                       for name, get in COMPARED_FIELDS.items() if get(previous) != get(problem))
        if fields:
            changed.append(ProblemChange(previous, problem, fields))
    old_places, new_places = {p.id for p in old.places}, {p.id for p in new.places}
    old_items, new_items = {e.id for e in old.equipment}, {e.id for e in new.equipment}
    return CatalogueDiff(
        added=tuple(p for i, p in after.items() if i not in before),
        removed=tuple(p for i, p in before.items() if i not in after),
        changed=tuple(changed),
        places_added=tuple(sorted(new_places - old_places)),
        places_removed=tuple(sorted(old_places - new_places)),
        equipment_added=tuple(sorted(new_items - old_items)),
        equipment_removed=tuple(sorted(old_items - new_items)))
