"""Estate import (import du patrimoine): the landlord's ERP export, one CSV file, into Palier.

One line per occupant of a dwelling (or one line for a vacant dwelling): the line repeats the
dwelling's place in the estate (agency → residence → building → entrance → dwelling) and names
the household, its lease and the person. ``docs/estate-import.md`` documents every column.

Two passes over the file, streamed (the file is never held in memory):

1. every line is checked — required values, formats, and consistency: a reference seen on
   several lines must carry the same data each time. Problems are collected with their line
   number and column; if there is any, nothing is written.
2. the lines are written in batches, in one transaction (all or nothing), idempotently on the
   references: new rows are inserted, changed rows updated, identical rows left untouched.
   Writes are bulk statements of SQLAlchemy Core, parents' ids kept in reference → id maps.

Nothing is ever deleted, except caretaker assignments when the file has the ``email_gardien``
column: the file then gives the complete list of each building's caretakers.
"""
from __future__ import annotations

import codecs
import csv
import itertools
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from operator import itemgetter
from pathlib import Path
from typing import NamedTuple

from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, delete, insert, select, text, update

from core import audit
from core.accounts import Role, User
from core.estate import (
    Agency,
    Building,
    CaretakerAssignment,
    Dwelling,
    Entrance,
    Household,
    Lease,
    Person,
    Residence,
)
from core.extensions import db

# Problems kept for the report; the check goes on to count them all.
MAX_REPORTED_PROBLEMS = 500
# Lines written per batch: bounds the memory of pass 2 and the size of each IN (...) list.
BATCH_LINES = 4000
# Progress is reported every so many lines (a callback per line would cost more than the line).
PROGRESS_EVERY = 2000
# A transaction-level lock shared by every estate import on PostgreSQL, so that two imports
# never interleave their inserts ("palier" in ASCII, then 1).
POSTGRES_LOCK_KEY = 0x70616C6965720001
SURFACE_MAX = 1000
FLOOR_RANGE = (-5, 99)
# Separates the e-mails of several caretakers of one building.
CARETAKER_SEPARATOR = "|"


@dataclass(frozen=True)
class Column:
    """A column of the file: ``required`` values must be filled on every line; ``in_header``
    columns must be present in the first line (the others may be left out)."""

    name: str
    required: bool
    in_header: bool
    max_length: int | None = None


COLUMNS = (
    Column("code_agence", True, True, 40),
    Column("agence", True, True, 200),
    Column("code_residence", True, True, 40),
    Column("residence", True, True, 200),
    Column("code_postal", True, True),
    Column("commune", True, True, 120),
    Column("code_batiment", True, True, 40),
    Column("batiment", True, True, 120),
    Column("adresse", True, True, 200),
    Column("code_entree", True, True, 40),
    Column("entree", True, True, 60),
    Column("code_logement", True, True, 40),
    Column("etage", True, True),
    Column("porte", True, True, 20),
    Column("typologie", True, True),
    Column("surface_m2", True, True),
    Column("code_menage", False, False, 40),
    Column("code_bail", False, False, 40),
    Column("date_debut_bail", False, False),
    Column("date_fin_bail", False, False),
    Column("code_personne", False, False, 40),
    Column("civilite", False, False),
    Column("prenom", False, False, 120),
    Column("nom", False, False, 120),
    Column("email", False, False, 254),
    Column("telephone", False, False),
    Column("email_gardien", False, False),
)
COLUMN_NAMES = tuple(column.name for column in COLUMNS)

# What each message says; ``Problem.message`` fills in the parameters in the reader's language.
MESSAGES = {
    "not_utf8": _l("The file is not encoded in UTF-8: save it as “CSV UTF-8” and send it "
                   "again."),
    "empty": _l("The file is empty: its first line must name the columns."),
    "no_lines": _l("The file holds no line after the column names."),
    "unknown_column": _l("Unknown column “%(name)s”."),
    "missing_column": _l("The column “%(name)s” is missing."),
    "duplicate_column": _l("The column “%(name)s” appears twice."),
    "unreadable": _l("This line cannot be read (a quotation mark left open?)."),
    "field_count": _l("This line has %(found)s values where the first line names %(expected)s "
                      "columns."),
    "required": _l("A value is required."),
    "too_long": _l("Too long: at most %(max)s characters."),
    "bad_floor": _l("Expected a floor number (0 or RDC for the ground floor), found "
                    "“%(value)s”."),
    "floor_range": _l("The floor must lie between %(min)s and %(max)s."),
    "bad_surface": _l("Expected a surface such as 64,5, found “%(value)s”."),
    "surface_range": _l("The surface must be more than 0 and less than %(max)s m²."),
    "bad_date": _l("Expected a date such as 01/03/2019 or 2019-03-01, found “%(value)s”."),
    "end_before_start": _l("The lease must end after it starts (%(start)s)."),
    "bad_kind": _l("Expected a type from T1 to T9 (or T1bis), found “%(value)s”."),
    "bad_postcode": _l("Expected a postcode of 5 digits, found “%(value)s”."),
    "bad_civility": _l("Expected M., Mme, Mx or nothing, found “%(value)s”."),
    "bad_email": _l("Expected an e-mail address, found “%(value)s”."),
    "bad_phone": _l("Expected a phone number such as 01 23 45 67 89, found “%(value)s”."),
    "needs_household": _l("A lease or a person needs a household code (code_menage)."),
    "needs_lease": _l("Lease dates need a lease code (code_bail)."),
    "needs_person": _l("A name, e-mail or phone number needs a person code (code_personne)."),
    "unknown_caretaker": _l("No active caretaker account has the e-mail “%(value)s”."),
    "conflict": _l("“%(new)s” contradicts line %(first)s, where %(reference)s has “%(old)s”."),
}


@dataclass(frozen=True)
class Problem:
    """Something wrong in the file: where (line, column) and what (a key of ``MESSAGES``)."""

    line: int
    column: str
    code: str
    params: dict = field(default_factory=dict)

    def message(self) -> str:
        """The problem in the current language."""
        template = str(MESSAGES[self.code])
        return template % self.params if self.params else template

    def to_json(self) -> list:
        return [self.line, self.column, self.code, self.params]

    @classmethod
    def from_json(cls, data: list) -> Problem:
        return cls(*data)


# Kinds of rows, in the order they are written (parents first).
KINDS = ("agency", "residence", "building", "entrance", "dwelling", "household", "lease",
         "person")


# How people call each kind of row, in reports.
KIND_LABELS = {
    "agency": _l("Agencies"),
    "residence": _l("Residences"),
    "building": _l("Buildings"),
    "entrance": _l("Entrances"),
    "dwelling": _l("Dwellings"),
    "household": _l("Households"),
    "lease": _l("Leases"),
    "person": _l("People"),
    "caretaker": _l("Caretaker assignments"),
}


def _empty_counts() -> dict[str, dict[str, int]]:
    counts = {kind: {"created": 0, "updated": 0, "unchanged": 0} for kind in KINDS}
    counts["caretaker"] = {"created": 0, "removed": 0, "unchanged": 0}
    return counts


@dataclass
class ImportResult:
    """What an import did (or would do, for a dry run), or why it wrote nothing."""

    lines: int = 0
    problems: list[Problem] = field(default_factory=list)
    problem_count: int = 0
    counts: dict[str, dict[str, int]] = field(default_factory=_empty_counts)
    dry_run: bool = False
    written: bool = False

    @property
    def ok(self) -> bool:
        return self.problem_count == 0

    def add_problem(self, problem: Problem) -> None:
        self.problem_count += 1
        if len(self.problems) < MAX_REPORTED_PROBLEMS:
            self.problems.append(problem)

    def to_json(self) -> dict:
        return {"lines": self.lines, "problems": [p.to_json() for p in self.problems],
                "problem_count": self.problem_count, "counts": self.counts,
                "dry_run": self.dry_run, "written": self.written}

    @classmethod
    def from_json(cls, data: dict) -> ImportResult:
        return cls(lines=data["lines"],
                   problems=[Problem.from_json(p) for p in data["problems"]],
                   problem_count=data["problem_count"], counts=data["counts"],
                   dry_run=data["dry_run"], written=data["written"])


# Progress callback: (stage, lines done, lines in all) with stage "check" or "write".
Progress = Callable[[str, int, int], None]


def _no_progress(stage: str, done: int, total: int) -> None:
    """Progress is optional."""


# -- reading the file --------------------------------------------------------------------------

class _NotUtf8(Exception):
    def __init__(self, line: int):
        self.line = line


def _decoded(raw_lines: Iterable[bytes]) -> Iterator[str]:
    # Decoding line by line gives the exact line of a bad byte, and drops a byte order mark.
    for number, raw in enumerate(raw_lines, 1):
        if number == 1 and raw.startswith(codecs.BOM_UTF8):
            raw = raw[len(codecs.BOM_UTF8):]
        try:
            yield raw.decode("utf-8")
        except UnicodeDecodeError:
            raise _NotUtf8(number) from None


def count_lines(path: str | Path) -> int:
    """Physical lines after the header: the expected total before the check has read them."""
    lines = 0
    last = b"\n"
    with open(path, "rb") as raw:
        while chunk := raw.read(1 << 20):
            lines += chunk.count(b"\n")
            last = chunk[-1:]
    if last != b"\n":
        lines += 1
    return max(lines - 1, 0)


class _Source:
    """The records of a file with their first line number, the header mapped to positions."""

    def __init__(self, raw_file):
        self.lines = _decoded(raw_file)
        self.header: list[str] = []
        self.positions: dict[str, int] = {}
        self.reader = None

    def open(self, result: ImportResult) -> bool:
        """Read the header; record its problems; tell whether the lines can be read."""
        first = next(self.lines, None)
        if first is None or not first.strip():
            result.add_problem(Problem(1, "", "empty"))
            return False
        delimiter = ";" if first.count(";") >= first.count(",") else ","
        self.reader = csv.reader(itertools.chain([first], self.lines), delimiter=delimiter)
        self.header = [name.strip().lower() for name in next(self.reader)]
        for position, name in enumerate(self.header):
            if name not in COLUMN_NAMES:
                if name:
                    result.add_problem(Problem(1, name, "unknown_column", {"name": name}))
            elif name in self.positions:
                result.add_problem(Problem(1, name, "duplicate_column", {"name": name}))
            else:
                self.positions[name] = position
        for column in COLUMNS:
            if column.in_header and column.name not in self.positions:
                result.add_problem(Problem(1, column.name, "missing_column",
                                           {"name": column.name}))
        return result.ok

    def records(self, result: ImportResult) -> Iterator[tuple[int, list[str]]]:
        """(line number, values) of each non-blank record; a record of the wrong width is a
        problem (trailing empty values, as spreadsheets write them, are forgiven)."""
        reader = self.reader
        width = len(self.header)
        previous_end = reader.line_num
        while True:
            try:
                values = next(reader)
            except StopIteration:
                return
            except csv.Error:
                result.add_problem(Problem(previous_end + 1, "", "unreadable"))
                return
            line = previous_end + 1
            previous_end = reader.line_num
            if not any(values):
                continue
            if len(values) != width:
                if len(values) < width or any(v.strip() for v in values[width:]):
                    result.add_problem(Problem(line, "", "field_count",
                                               {"found": len(values), "expected": width}))
                    continue
            yield line, values


# -- checking and normalising one line -------------------------------------------------------

_DECIMAL = re.compile(r"\d{1,6}(?:[.,]\d+)?")
_POSTCODE = re.compile(r"\d{4,5}")
_KIND = re.compile(r"T[1-9]")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_PHONE = re.compile(r"\+?\d{6,15}")
_PHONE_SEPARATORS = re.compile(r"[\s.\-()/]")
_CIVILITIES = {"m": "M.", "m.": "M.", "mr": "M.", "mr.": "M.", "monsieur": "M.",
               "mme": "Mme", "mme.": "Mme", "madame": "Mme", "mx": "Mx", "mx.": "Mx"}


class Line(NamedTuple):
    """One line of the file, normalised: the values as they will be stored."""

    # The dwelling and its place in the estate (the same on every line of its occupants).
    agency: str
    agency_name: str
    residence: str
    residence_name: str
    postcode: str
    city: str
    building: str
    building_name: str
    street: str
    entrance: str
    entrance_name: str
    dwelling: str
    floor: int
    door: str
    kind: str
    surface: float
    caretakers: tuple[str, ...] | None  # None: the file has no email_gardien column
    # The occupant.
    household: str
    lease: str
    lease_start: date | None
    lease_end: date | None
    person: str
    civility: str
    first_name: str
    last_name: str
    email: str
    phone: str


ESTATE_COLUMNS = COLUMN_NAMES[:16] + ("email_gardien",)
OCCUPANT_COLUMNS = COLUMN_NAMES[16:26]
_BY_NAME = {column.name: column for column in COLUMNS}
_ESTATE = tuple(_BY_NAME[name] for name in ESTATE_COLUMNS)
_OCCUPANT = tuple(_BY_NAME[name] for name in OCCUPANT_COLUMNS)


def parse_date(value: str) -> date | None:
    """01/03/2019 or 2019-03-01 (None when it is neither)."""
    try:
        if len(value) == 10 and value[2] == "/" and value[5] == "/":
            return date(int(value[6:]), int(value[3:5]), int(value[:2]))
        if len(value) == 10 and value[4] == "-" and value[7] == "-":
            return date(int(value[:4]), int(value[5:7]), int(value[8:]))
    except ValueError:
        return None
    return None


def format_date(value: date | None) -> str:
    """French form, 01/03/2019 (empty for no date)."""
    return "%02d/%02d/%04d" % (value.day, value.month, value.year) if value else ""


class _LineChecker:
    """Turns the raw values of a line into a :class:`Line`, reporting what is wrong.

    The occupants of a dwelling come on consecutive lines that repeat the dwelling's columns:
    those are checked once and the outcome (values or problems) reused while they repeat,
    which halves the work on a real export.
    """

    def __init__(self, positions: dict[str, int], width: int, caretakers: dict[str, int]):
        self.width = width
        self.caretakers = caretakers
        self.has_caretakers = "email_gardien" in positions
        # Absent columns read the empty value appended after the last one (see ``check``).
        self.estate_values = itemgetter(*(positions.get(n, width) for n in ESTATE_COLUMNS))
        self.occupant_values = itemgetter(*(positions.get(n, width) for n in OCCUPANT_COLUMNS))
        self.last_estate_raw = None
        self.last_estate = None  # (values, problems as (column, code, params))
        self.estate_is_new = True

    def check(self, line: int, values: list[str], result: ImportResult) -> Line | None:
        if len(values) == self.width:
            values.append("")
        problems: list[tuple[str, str, dict]] = []
        raw = self.estate_values(values)
        self.estate_is_new = raw != self.last_estate_raw
        if self.estate_is_new:
            self.last_estate_raw = raw
            self.last_estate = self._estate(raw, problems)
        else:
            problems.extend(self.last_estate[1])
        occupant = self._occupant(self.occupant_values(values), problems)
        if problems:
            for column, code, params in problems:
                result.add_problem(Problem(line, column, code, params))
            return None
        return Line._make(self.last_estate[0] + occupant)

    @staticmethod
    def _stripped(columns: tuple[Column, ...], raw, problems) -> list[str]:
        values = [value.strip() for value in raw]
        if not all(values):
            problems.extend((c.name, "required", {})
                            for c, value in zip(columns, values, strict=True)
                            if c.required and not value)
        for c, value in zip(columns, values, strict=True):
            if c.max_length and len(value) > c.max_length:
                problems.append((c.name, "too_long", {"max": c.max_length}))
        return values

    def _estate(self, raw: tuple[str, ...], problems: list) -> tuple[tuple, list]:
        own: list[tuple[str, str, dict]] = []
        (agency, agency_name, residence, residence_name, postcode, city, building,
         building_name, street, entrance, entrance_name, dwelling, floor, door, kind, surface,
         caretakers) = self._stripped(_ESTATE, raw, own)
        if postcode and not _POSTCODE.fullmatch(postcode):
            own.append(("code_postal", "bad_postcode", {"value": postcode}))
        postcode = postcode.zfill(5)  # a spreadsheet drops the leading zero of 01000
        given_kind, kind = kind, kind.upper().replace(" ", "")
        if kind == "T1BIS":
            kind = "T1bis"
        elif kind and not _KIND.fullmatch(kind):
            own.append(("typologie", "bad_kind", {"value": given_kind}))
        values = (agency, agency_name, residence, residence_name, postcode, city, building,
                  building_name, street, entrance, entrance_name, dwelling,
                  self._floor(floor, own), door, kind, self._surface(surface, own),
                  self._caretakers(caretakers, own))
        problems.extend(own)
        return values, own

    def _occupant(self, raw: tuple[str, ...], problems: list) -> tuple:
        (household, lease, start_text, end_text, person, given_civility, first_name, last_name,
         given_email, given_phone) = self._stripped(_OCCUPANT, raw, problems)
        start = self._date("date_debut_bail", start_text, problems)
        end = self._date("date_fin_bail", end_text, problems)
        if lease and not start_text:
            problems.append(("date_debut_bail", "required", {}))
        if not lease and (start_text or end_text):
            problems.append(("code_bail", "needs_lease", {}))
        if start and end and end <= start:
            problems.append(("date_fin_bail", "end_before_start", {"start": format_date(start)}))
        if (lease or person) and not household:
            problems.append(("code_menage", "needs_household", {}))
        civility = ""
        if given_civility:
            civility = _CIVILITIES.get(given_civility.lower(), "")
            if not civility:
                problems.append(("civilite", "bad_civility", {"value": given_civility}))
        email = given_email.lower()
        if email and not _EMAIL.fullmatch(email):
            problems.append(("email", "bad_email", {"value": given_email}))
        phone = _PHONE_SEPARATORS.sub("", given_phone) if given_phone else ""
        if phone and not _PHONE.fullmatch(phone):
            problems.append(("telephone", "bad_phone", {"value": given_phone}))
        if person:
            if not first_name:
                problems.append(("prenom", "required", {}))
            if not last_name:
                problems.append(("nom", "required", {}))
        elif civility or first_name or last_name or email or phone:
            problems.append(("code_personne", "needs_person", {}))
        return (household, lease, start, end, person, civility, first_name, last_name, email,
                phone)

    @staticmethod
    def _floor(value: str, problems: list) -> int:
        if not value or value.lower() == "rdc":
            return 0
        try:
            floor = int(value)
        except ValueError:
            problems.append(("etage", "bad_floor", {"value": value}))
            return 0
        if not FLOOR_RANGE[0] <= floor <= FLOOR_RANGE[1]:
            problems.append(("etage", "floor_range", {"min": FLOOR_RANGE[0],
                                                      "max": FLOOR_RANGE[1]}))
        return floor

    @staticmethod
    def _surface(value: str, problems: list) -> float:
        if not value:
            return 0.0
        if not _DECIMAL.fullmatch(value):
            problems.append(("surface_m2", "bad_surface", {"value": value}))
            return 0.0
        surface = round(float(value.replace(",", ".")), 2)
        if not 0 < surface < SURFACE_MAX:
            problems.append(("surface_m2", "surface_range", {"max": SURFACE_MAX}))
        return surface

    @staticmethod
    def _date(name: str, value: str, problems: list) -> date | None:
        if not value:
            return None
        parsed = parse_date(value)
        if parsed is None:
            problems.append((name, "bad_date", {"value": value}))
        return parsed

    def _caretakers(self, value: str, problems: list) -> tuple[str, ...] | None:
        if not self.has_caretakers:
            return None
        emails = sorted({e.strip().lower() for e in value.split(CARETAKER_SEPARATOR)
                         if e.strip()})
        for email in emails:
            if email not in self.caretakers:
                problems.append(("email_gardien", "unknown_caretaker", {"value": email}))
        return tuple(emails)


# -- consistency of references across lines ---------------------------------------------------

# For each kind: the reference, then the (column, value) pairs the same reference must repeat.
def _estate_signatures(line: Line) -> list[tuple[str, str, tuple[tuple[str, str], ...]]]:
    return [
        ("agency", line.agency, (("agence", line.agency_name),)),
        ("residence", line.residence, (
            ("code_agence", line.agency), ("residence", line.residence_name),
            ("code_postal", line.postcode), ("commune", line.city))),
        ("building", line.building, (
            ("code_residence", line.residence), ("batiment", line.building_name),
            ("adresse", line.street),
            ("email_gardien", CARETAKER_SEPARATOR.join(line.caretakers or ())))),
        ("entrance", line.entrance, (
            ("code_batiment", line.building), ("entree", line.entrance_name))),
        ("dwelling", line.dwelling, (
            ("code_entree", line.entrance), ("etage", str(line.floor)), ("porte", line.door),
            ("typologie", line.kind), ("surface_m2", f"{line.surface:g}".replace(".", ",")))),
    ]


def _occupant_signatures(line: Line) -> list[tuple[str, str, tuple[tuple[str, str], ...]]]:
    signatures = []
    if line.household:
        signatures.append(("household", line.household, ()))
    if line.lease:
        signatures.append(("lease", line.lease, (
            ("code_logement", line.dwelling), ("code_menage", line.household),
            ("date_debut_bail", format_date(line.lease_start)),
            ("date_fin_bail", format_date(line.lease_end)))))
    if line.person:
        signatures.append(("person", line.person, (
            ("code_menage", line.household), ("civilite", line.civility),
            ("prenom", line.first_name), ("nom", line.last_name), ("email", line.email),
            ("telephone", line.phone))))
    return signatures


_SEP = "\x1f"  # a character no export contains: joins the values kept per reference


class _Seen:
    """The references met so far, each with the first line and the values it carried.

    Kept as one joined string per reference: a few hundred thousand people fit in tens of
    megabytes. Pass 2 pops each reference when it writes it, so the memory goes down as it
    goes.
    """

    def __init__(self):
        self.kinds: dict[str, dict[str, str]] = {kind: {} for kind in KINDS}

    def check(self, line_number: int, line: Line, estate_is_new: bool,
              result: ImportResult) -> None:
        """Compare the line's references with their first line; ``estate_is_new`` is false
        when the line repeats the previous line's dwelling columns (compared already)."""
        signatures = _occupant_signatures(line)
        if estate_is_new:
            signatures = _estate_signatures(line) + signatures
        for kind, reference, pairs in signatures:
            values = _SEP.join(value for _, value in pairs)
            seen = self.kinds[kind]
            first = seen.get(reference)
            if first is None:
                seen[reference] = f"{line_number}{_SEP}{values}"
                continue
            first_line, _, first_values = first.partition(_SEP)
            if first_values == values:
                continue
            for (column, value), old in zip(pairs, first_values.split(_SEP), strict=True):
                if value != old:
                    result.add_problem(Problem(line_number, column, "conflict", {
                        "new": value, "old": old, "first": int(first_line),
                        "reference": reference}))

    def first_time(self, kind: str, reference: str) -> bool:
        """Pass 2: true the first time a reference is met (then it is forgotten)."""
        return self.kinds[kind].pop(reference, None) is not None


# -- the import --------------------------------------------------------------------------------

def _caretaker_accounts() -> dict[str, int]:
    rows = db.session.execute(select(User.email, User.id).where(
        User.role == Role.CARETAKER, User.active))
    return {email.lower(): user_id for email, user_id in rows}


def import_estate(path: str | Path, *, dry_run: bool = False,
                  progress: Progress = _no_progress, file_name: str | None = None,
                  actor: tuple[int, str] | None = None) -> ImportResult:
    """Check a file, then write it unless it has problems (or ``dry_run`` asks not to).

    A dry run goes through the writing pass too, inside a transaction rolled back at the end,
    so that its counts say exactly what a real import would change. Needs an app context.
    ``file_name`` and ``actor`` (user id, e-mail) go to the audit log when the import runs
    away from the request that asked for it (a back-office upload).
    """
    result = ImportResult(dry_run=dry_run)
    caretakers = _caretaker_accounts()
    db.session.commit()  # the write transaction below uses its own connection
    seen = _Seen()
    total = count_lines(path)
    positions = _check(path, caretakers, seen, result, progress, total)
    if not result.ok:
        return result
    if result.lines == 0:
        result.add_problem(Problem(2, "", "no_lines"))
        return result
    progress("write", 0, result.lines)
    with db.engine.connect() as connection:
        transaction = connection.begin()
        try:
            _Writer(connection, result, seen, caretakers).write(
                _lines(path, positions, caretakers), progress)
        except BaseException:
            transaction.rollback()
            raise
        if dry_run:
            transaction.rollback()
        else:
            # Rows written in bulk escape the per-row change records: one event sums them up.
            audit.record_summary(connection, "estate_import",
                                 {"file": file_name or Path(path).name, "lines": result.lines,
                                  "counts": result.counts}, actor=actor)
            transaction.commit()
            result.written = True
    return result


def _check(path, caretakers, seen: _Seen, result: ImportResult, progress: Progress,
           total: int) -> dict[str, int]:
    """Pass 1: every line checked; returns the header's column positions."""
    progress("check", 0, total)
    with open(path, "rb") as raw:
        source = _Source(raw)
        try:
            if not source.open(result):
                return source.positions
            checker = _LineChecker(source.positions, len(source.header), caretakers)
            for line_number, values in source.records(result):
                line = checker.check(line_number, values, result)
                if line is not None:
                    seen.check(line_number, line, checker.estate_is_new, result)
                result.lines += 1
                if result.lines % PROGRESS_EVERY == 0:
                    progress("check", result.lines, max(total, result.lines))
        except _NotUtf8 as error:
            result.add_problem(Problem(error.line, "", "not_utf8"))
    progress("check", result.lines, result.lines)
    return source.positions


def _lines(path, positions, caretakers) -> Iterator[Line]:
    """Pass 2 reads the checked file again, line by line."""
    ignored = ImportResult()
    with open(path, "rb") as raw:
        source = _Source(raw)
        source.open(ignored)
        checker = _LineChecker(positions, len(source.header), caretakers)
        for line_number, values in source.records(ignored):
            yield checker.check(line_number, values, ignored)


def _batches(items: Iterator, size: int) -> Iterator[list]:
    while batch := list(itertools.islice(items, size)):
        yield batch


class _Writer:
    """Pass 2: upserts the lines batch by batch on one connection (one transaction)."""

    def __init__(self, connection, result: ImportResult, seen: _Seen,
                 caretakers: dict[str, int]):
        self.connection = connection
        self.result = result
        self.seen = seen
        self.caretakers = caretakers
        # reference → id of the parents met so far (children need their ids).
        self.ids: dict[str, dict[str, int]] = {
            kind: {} for kind in ("agency", "residence", "building", "entrance", "dwelling",
                                  "household")}

    def write(self, lines: Iterator[Line], progress: Progress) -> None:
        if self.connection.dialect.name == "postgresql":
            self.connection.execute(text("SELECT pg_advisory_xact_lock(:key)"),
                                    {"key": POSTGRES_LOCK_KEY})
        done = 0
        for batch in _batches(lines, BATCH_LINES):
            self._write_batch(batch)
            done += len(batch)
            progress("write", done, self.result.lines)

    def _new(self, kind: str, batch: list[Line], reference) -> list[Line]:
        first_time = self.seen.first_time
        return [line for line in batch if reference(line) and first_time(kind, reference(line))]

    def _write_batch(self, batch: list[Line]) -> None:
        ids = self.ids
        self._upsert("agency", Agency.__table__, [
            {"reference": ln.agency, "name": ln.agency_name}
            for ln in self._new("agency", batch, lambda ln: ln.agency)])
        self._upsert("residence", Residence.__table__, [
            {"reference": ln.residence, "name": ln.residence_name,
             "agency_id": ids["agency"][ln.agency], "postcode": ln.postcode, "city": ln.city}
            for ln in self._new("residence", batch, lambda ln: ln.residence)])
        buildings = self._new("building", batch, lambda ln: ln.building)
        self._upsert("building", Building.__table__, [
            {"reference": ln.building, "name": ln.building_name, "street": ln.street,
             "residence_id": ids["residence"][ln.residence]} for ln in buildings])
        self._upsert("entrance", Entrance.__table__, [
            {"reference": ln.entrance, "name": ln.entrance_name,
             "building_id": ids["building"][ln.building]}
            for ln in self._new("entrance", batch, lambda ln: ln.entrance)])
        self._upsert("dwelling", Dwelling.__table__, [
            {"reference": ln.dwelling, "entrance_id": ids["entrance"][ln.entrance],
             "floor": ln.floor, "door": ln.door, "kind": ln.kind, "surface_m2": ln.surface}
            for ln in self._new("dwelling", batch, lambda ln: ln.dwelling)])
        self._upsert("household", Household.__table__, [
            {"reference": ln.household}
            for ln in self._new("household", batch, lambda ln: ln.household)])
        self._upsert("lease", Lease.__table__, [
            {"reference": ln.lease, "dwelling_id": ids["dwelling"][ln.dwelling],
             "household_id": ids["household"][ln.household], "start_date": ln.lease_start,
             "end_date": ln.lease_end}
            for ln in self._new("lease", batch, lambda ln: ln.lease)])
        self._upsert("person", Person.__table__, [
            {"reference": ln.person, "household_id": ids["household"][ln.household],
             "civility": ln.civility, "first_name": ln.first_name, "last_name": ln.last_name,
             "email": ln.email or None, "phone": ln.phone or None}
            for ln in self._new("person", batch, lambda ln: ln.person)])
        if buildings and buildings[0].caretakers is not None:
            self._caretakers(buildings)

    def _upsert(self, kind: str, table, rows: list[dict]) -> None:
        """Insert the new references, update the changed rows, leave the others alone."""
        if not rows:
            return
        counts = self.result.counts[kind]
        if table is Person.__table__:
            # A person erased in Palier stays erased, whatever the ERP still says.
            erased = set(self.connection.scalars(select(Person.reference).where(
                Person.reference.in_([row["reference"] for row in rows]),
                Person.erased_at.isnot(None))))
            counts["unchanged"] += sum(row["reference"] in erased for row in rows)
            rows = [row for row in rows if row["reference"] not in erased]
            if not rows:
                return
        columns = [name for name in rows[0] if name != "reference"]
        existing = {
            row[0]: row for row in self.connection.execute(
                select(table.c.reference, table.c.id, *(table.c[name] for name in columns))
                .where(table.c.reference.in_([row["reference"] for row in rows])))}
        keep_ids = self.ids.get(kind)
        inserts, updates = [], []
        for row in rows:
            old = existing.get(row["reference"])
            if old is None:
                inserts.append(row)
                continue
            if keep_ids is not None:
                keep_ids[row["reference"]] = old[1]
            if any(_differs(old[i], row[name]) for i, name in enumerate(columns, 2)):
                updates.append({"b_id": old[1], **{"b_" + name: row[name] for name in columns}})
            else:
                counts["unchanged"] += 1
        if inserts:
            self._insert(table, inserts, keep_ids)
            counts["created"] += len(inserts)
        if updates:
            self.connection.execute(
                update(table).where(table.c.id == bindparam("b_id"))
                .values({name: bindparam("b_" + name) for name in columns}), updates)
            counts["updated"] += len(updates)

    def _insert(self, table, rows: list[dict], keep_ids: dict[str, int] | None) -> None:
        """Insert new rows; keep the ids of parents' rows, which children refer to."""
        if self.connection.dialect.name != "postgresql":
            if keep_ids is None:
                self.connection.execute(insert(table), rows)
            else:
                statement = insert(table).returning(table.c.reference, table.c.id)
                returned = self.connection.execute(statement, rows)
                keep_ids.update((reference, id_) for reference, id_ in returned)
            return
        # PostgreSQL: COPY loads rows several times faster than multi-row INSERTs, on the same
        # connection and in the same transaction.
        names = list(rows[0])
        cursor = self.connection.connection.driver_connection.cursor()
        with cursor, cursor.copy(f"COPY {table.name} ({', '.join(names)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row([row[name] for name in names])
        if keep_ids is not None:
            keep_ids.update((reference, id_) for reference, id_ in self.connection.execute(
                select(table.c.reference, table.c.id)
                .where(table.c.reference.in_([row["reference"] for row in rows]))))

    def _caretakers(self, buildings: list[Line]) -> None:
        """Make each building's caretakers exactly those the file lists."""
        table = CaretakerAssignment.__table__
        counts = self.result.counts["caretaker"]
        wanted = {(self.caretakers[email], self.ids["building"][ln.building])
                  for ln in buildings for email in ln.caretakers}
        building_ids = [self.ids["building"][ln.building] for ln in buildings]
        current = {(user_id, building_id): assignment_id
                   for assignment_id, user_id, building_id in self.connection.execute(
                       select(table.c.id, table.c.user_id, table.c.building_id)
                       .where(table.c.building_id.in_(building_ids)))}
        added = wanted - current.keys()
        removed = [current[pair] for pair in current.keys() - wanted]
        counts["unchanged"] += len(wanted & current.keys())
        if added:
            self.connection.execute(insert(table), [
                {"user_id": user_id, "building_id": building_id}
                for user_id, building_id in sorted(added)])
            counts["created"] += len(added)
        if removed:
            self.connection.execute(delete(table).where(table.c.id.in_(removed)))
            counts["removed"] += len(removed)


def _differs(old, new) -> bool:
    if isinstance(new, float):
        return old is None or round(float(old), 2) != new
    return old != new
