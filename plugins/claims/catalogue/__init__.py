"""The claims catalogue: places, equipment and problems, as data.

The catalogue is a TOML file that a landlord can read and edit: ``catalogue.toml`` beside this
module is the one shipped with Palier. It says, for each (equipment, problem), who pays (with
the legal reference shown to the tenant before they confirm), which trade repairs it, how
urgent it is and what the tenant should do first when there is a danger. Because a mistake in
this file reaches tenants as wrong legal advice, :func:`check_catalogue` reports every problem
it finds, each with its line in the file, instead of stopping at the first one.
"""
from __future__ import annotations

import re
import tomllib
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
CATALOGUE_FILE = PACKAGE_DIR / "catalogue.toml"
PICTOGRAM_DIR = PACKAGE_DIR.parent / "static" / "pictograms"

SVG_NAMESPACE = "http://www.w3.org/2000/svg"
ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")
PICTOGRAM_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]*\.svg$")

__all__ = [
    "CATALOGUE_FILE", "PICTOGRAM_DIR", "Catalogue", "CatalogueError", "Equipment", "Hazard",
    "Issue", "Place", "Priority", "Problem", "Responsibility", "Scope", "Text", "Trade",
    "check_catalogue", "check_catalogue_text", "load_catalogue",
]


class Responsibility(StrEnum):
    """Who pays for the repair by default; an agent may override it with a reason."""

    TENANT = "tenant"
    LANDLORD = "landlord"
    MAINTENANCE_CONTRACT = "maintenance_contract"
    TO_BE_ASSESSED = "to_be_assessed"

    @property
    def needs_reference(self) -> bool:
        """A stated charge must be backed by a text the tenant can check on Légifrance."""
        return self is not Responsibility.TO_BE_ASSESSED

    @property
    def description(self) -> str:
        return self.value.replace("_", " ")


class Priority(StrEnum):
    EMERGENCY = "emergency"
    URGENT = "urgent"
    NORMAL = "normal"


class Hazard(StrEnum):
    """A danger to people or property; each one calls for safety advice shown first."""

    GAS = "gas"
    WATER = "water"
    ELECTRICITY = "electricity"
    FIRE = "fire"
    FUMES = "fumes"
    FALL = "fall"
    ENTRAPMENT = "entrapment"


class Scope(StrEnum):
    DWELLING = "dwelling"
    COMMON = "common"


@dataclass(frozen=True)
class Text:
    """A text in French and English: the catalogue is data, translated in the file itself."""

    fr: str
    en: str

    def get(self, locale: str | None) -> str:
        return self.en if (locale or "").lower().startswith("en") else self.fr

    def __str__(self) -> str:
        return self.fr


@dataclass(frozen=True)
class Trade:
    id: str
    label: Text


@dataclass(frozen=True)
class Place:
    id: str
    scope: Scope
    label: Text
    pictogram: str | None = None


@dataclass(frozen=True)
class Equipment:
    id: str
    places: tuple[str, ...]
    label: Text
    pictogram: str


@dataclass(frozen=True)
class Problem:
    id: str
    equipment: str
    label: Text
    responsibility: Responsibility
    legal_reference: str
    trade: str
    priority: Priority
    deadline_hours: float
    video_diagnosis: bool
    safety_advice: Text | None = None
    hazards: tuple[Hazard, ...] = ()
    # A problem of a home that may come from a shared installation (the building's heating,
    # its ventilation, a power cut): several homes reporting it make a collective incident.
    # Problems of the common parts always may.
    collective: bool = False


@dataclass(frozen=True)
class Catalogue:
    """A checked catalogue; build it with :func:`load_catalogue`."""

    version: str
    trades: tuple[Trade, ...]
    places: tuple[Place, ...]
    equipment: tuple[Equipment, ...]
    problems: tuple[Problem, ...]
    source: Path | None = None
    _index: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self):
        self._index.update(
            trades={t.id: t for t in self.trades},
            places={p.id: p for p in self.places},
            equipment={e.id: e for e in self.equipment},
            problems={p.id: p for p in self.problems},
        )

    def place(self, place_id: str) -> Place:
        return self._index["places"][place_id]

    def trade(self, trade_id: str) -> Trade:
        return self._index["trades"][trade_id]

    def equipment_item(self, equipment_id: str) -> Equipment:
        return self._index["equipment"][equipment_id]

    def problem(self, problem_id: str) -> Problem:
        return self._index["problems"][problem_id]

    def places_in(self, scope: Scope) -> list[Place]:
        return [place for place in self.places if place.scope is scope]

    def equipment_in(self, place_id: str) -> list[Equipment]:
        return [item for item in self.equipment if place_id in item.places]

    def problems_of(self, equipment_id: str) -> list[Problem]:
        return [problem for problem in self.problems if problem.equipment == equipment_id]

    def counts(self) -> dict[str, object]:
        """What ``palier claims catalogue check`` prints."""
        return {
            "places": len(self.places),
            "places_by_scope": Counter(place.scope for place in self.places),
            "equipment": len(self.equipment),
            "problems": len(self.problems),
            "by_responsibility": Counter(p.responsibility for p in self.problems),
            "by_priority": Counter(p.priority for p in self.problems),
        }


@dataclass(frozen=True)
class Issue:
    """One thing wrong in a catalogue file, where it is and what to write instead."""

    where: str
    message: str
    line: int | None = None

    def format(self, filename: str) -> str:
        position = f"{filename}:{self.line}" if self.line else filename
        return f"{position}: {self.where}: {self.message}" if self.where else \
            f"{position}: {self.message}"


class CatalogueError(ValueError):
    """A catalogue file that cannot be used; ``issues`` lists everything wrong with it."""

    def __init__(self, path: Path, issues: list[Issue]):
        self.path = path
        self.issues = issues
        lines = "\n".join(issue.format(path.name) for issue in issues)
        super().__init__(f"The claims catalogue {path} has {len(issues)} problem(s):\n{lines}")


# Keys each table may hold; anything else is most likely a misspelt key (``responsability``)
# whose value would silently be lost.
_TOP_KEYS = {"version", "trades", "places", "equipment", "problems"}
_TEXT_KEYS = {"fr", "en"}
_TRADE_KEYS = {"id", "label"}
_PLACE_KEYS = {"id", "scope", "label", "pictogram"}
_EQUIPMENT_KEYS = {"id", "places", "label", "pictogram"}
_PROBLEM_KEYS = {"id", "equipment", "label", "responsibility", "legal_reference", "trade",
                 "priority", "deadline_hours", "video_diagnosis", "safety", "hazards",
                 "collective"}
# An emergency is handled within hours; a longer deadline is a typing mistake.
EMERGENCY_MAX_HOURS = 24


class _Locator:
    """Line numbers of the tables and keys of a TOML text (tomllib does not keep them)."""

    _HEADER = re.compile(r"^\s*\[\[\s*([A-Za-z0-9_-]+)\s*\]\]")
    _TABLE = re.compile(r"^\s*\[\s*([A-Za-z0-9_.-]+)\s*\]")

    def __init__(self, text: str):
        self.lines = text.splitlines()
        self.blocks: dict[tuple[str, int], tuple[int, int]] = {}
        counters: Counter = Counter()
        current: tuple[str, int] | None = None
        start = 0
        for number, line in enumerate(self.lines, 1):
            header = self._HEADER.match(line)
            table = None if header else self._TABLE.match(line)
            if header or (table and table.group(1).split(".")[0] != (current or ("",))[0]):
                if current is not None:
                    self.blocks[current] = (start, number - 1)
                current = None
            if header:
                name = header.group(1)
                current = (name, counters[name])
                counters[name] += 1
                start = number
        if current is not None:
            self.blocks[current] = (start, len(self.lines))

    def line(self, array: str | None, index: int | None, key: str | None = None) -> int | None:
        if array is None:
            first, last = 1, len(self.lines)
        elif (array, index) in self.blocks:
            first, last = self.blocks[(array, index)]
        else:
            return None
        if key:
            parts = key.split(".")
            for depth in range(len(parts), 0, -1):
                dotted = r"\s*\.\s*".join(re.escape(p) for p in parts[:depth])
                pattern = re.compile(rf"^\s*{dotted}\s*[=.]")
                subtable = re.compile(rf"^\s*\[\s*{array}\s*\.\s*{dotted}\s*\]") if array else None
                for number in range(first, last + 1):
                    text = self.lines[number - 1]
                    if pattern.match(text) or (subtable and subtable.match(text)):
                        return number
        return first if array is not None else None


class _Checker:
    def __init__(self, text: str, pictogram_dirs: list[Path]):
        self.locator = _Locator(text)
        self.pictogram_dirs = pictogram_dirs
        self.issues: list[Issue] = []
        self._pictograms_seen: dict[str, str | None] = {}

    # -- reporting -------------------------------------------------------------------------
    def report(self, where: str, message: str, array: str | None = None,
               index: int | None = None, key: str | None = None) -> None:
        self.issues.append(Issue(where, message, self.locator.line(array, index, key)))

    @staticmethod
    def name(array: str, index: int, entry: dict) -> str:
        ident = entry.get("id") if isinstance(entry, dict) else None
        return f"{array}[{index + 1}] {ident!r}" if isinstance(ident, str) and ident else \
            f"{array}[{index + 1}]"

    # -- fields ----------------------------------------------------------------------------
    def text(self, entry: dict, key: str, where: str, array: str, index: int,
             what: str, required: bool = True) -> Text | None:
        value = entry.get(key)
        if value is None:
            if required:
                self.report(where, f"missing {what}: write {key}.fr = \"...\" and "
                                   f"{key}.en = \"...\"", array, index)
            return None
        if not isinstance(value, dict):
            self.report(where, f"{key} must give a French and an English text "
                               f"({key}.fr and {key}.en)", array, index, key)
            return None
        for extra in sorted(set(value) - _TEXT_KEYS):
            self.report(where, f"unknown key {key}.{extra} (only fr and en)", array, index,
                        f"{key}.{extra}")
        ok = True
        for language, name in (("fr", "French"), ("en", "English")):
            text = value.get(language)
            if not isinstance(text, str) or not text.strip():
                self.report(where, f"missing {name} {what} ({key}.{language})", array, index,
                            f"{key}.{language}" if language in value else key)
                ok = False
        return Text(value["fr"].strip(), value["en"].strip()) if ok else None

    def ident(self, entry: dict, where: str, array: str, index: int,
              seen: dict[str, int]) -> str | None:
        value = entry.get("id")
        if not isinstance(value, str) or not value:
            self.report(where, "missing id", array, index)
            return None
        if not ID_PATTERN.match(value):
            self.report(where, f"id {value!r} must use lower-case letters, digits, '.', '_' or "
                               "'-' (ids are stored with every claim: keep them stable)",
                        array, index, "id")
            return None
        if value in seen:
            self.report(where, f"duplicate id {value!r} (already used by {array}[{seen[value]}])",
                        array, index, "id")
            return None
        seen[value] = index + 1
        return value

    def unknown_keys(self, entry: dict, allowed: set[str], where: str, array: str,
                     index: int) -> None:
        for key in sorted(set(entry) - allowed):
            self.report(where, f"unknown key {key!r} (allowed: {', '.join(sorted(allowed))})",
                        array, index, key)

    def choice(self, entry: dict, key: str, enum: type[StrEnum], where: str, array: str,
               index: int):
        value = entry.get(key)
        choices = ", ".join(member.value for member in enum)
        if value is None:
            self.report(where, f"missing {key} (one of: {choices})", array, index)
            return None
        try:
            return enum(value)
        except ValueError:
            self.report(where, f"unknown {key} {value!r} (one of: {choices})", array, index, key)
            return None

    def pictogram(self, value, where: str, array: str, index: int, required: bool) -> str | None:
        if value is None:
            if required:
                self.report(where, "missing pictogram (an SVG file name, e.g. \"tap.svg\")",
                            array, index)
            return None
        if not isinstance(value, str) or not PICTOGRAM_PATTERN.match(value):
            self.report(where, f"pictogram {value!r} must be a plain SVG file name such as "
                               "\"tap.svg\" (lower case, no folder)", array, index, "pictogram")
            return None
        if value not in self._pictograms_seen:
            self._pictograms_seen[value] = self._svg_problem(value)
        problem = self._pictograms_seen[value]
        if problem:
            self.report(where, problem, array, index, "pictogram")
            return None
        return value

    def _svg_problem(self, name: str) -> str | None:
        for folder in self.pictogram_dirs:
            path = folder / name
            if path.is_file():
                break
        else:
            folders = ", ".join(str(folder) for folder in self.pictogram_dirs)
            return f"pictogram file {name!r} not found (looked in {folders})"
        try:
            root = ET.parse(path).getroot()
        except ET.ParseError as error:
            return f"pictogram {name!r} is not well-formed SVG ({error})"
        if root.tag != f"{{{SVG_NAMESPACE}}}svg":
            return f"pictogram {name!r} is not an SVG image (root element {root.tag!r})"
        title = root.find(f"{{{SVG_NAMESPACE}}}title")
        if title is None or not (title.text or "").strip():
            return f"pictogram {name!r} has no <title> (screen readers announce it)"
        return None

    # -- tables ----------------------------------------------------------------------------
    def array(self, data: dict, key: str) -> list:
        value = data.get(key)
        if value is None:
            self.report("", f"no [[{key}]] tables: the catalogue needs at least one", None,
                        None)
            return []
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            self.report("", f"{key} must be written as [[{key}]] tables", None, None, key)
            return []
        return value

    def check(self, data: dict, source: Path | None) -> Catalogue | None:
        for key in sorted(set(data) - _TOP_KEYS):
            self.report("", f"unknown top-level key {key!r} (allowed: "
                            f"{', '.join(sorted(_TOP_KEYS))})", None, None, key)
        version = data.get("version")
        if isinstance(version, bool) or not isinstance(version, (str, int)) or \
                not str(version).strip():
            self.report("", "missing version: write version = \"2026.1\" at the top and change "
                            "it at every edit (claims keep the version they were filed with)",
                        None, None, "version")

        trades = []
        seen: dict[str, int] = {}
        for index, entry in enumerate(self.array(data, "trades")):
            where = self.name("trades", index, entry)
            self.unknown_keys(entry, _TRADE_KEYS, where, "trades", index)
            ident = self.ident(entry, where, "trades", index, seen)
            label = self.text(entry, "label", where, "trades", index, "label")
            if ident and label:
                trades.append(Trade(ident, label))
        trade_ids = set(seen)

        places = []
        seen = {}
        for index, entry in enumerate(self.array(data, "places")):
            where = self.name("places", index, entry)
            self.unknown_keys(entry, _PLACE_KEYS, where, "places", index)
            ident = self.ident(entry, where, "places", index, seen)
            scope = self.choice(entry, "scope", Scope, where, "places", index)
            label = self.text(entry, "label", where, "places", index, "label")
            pictogram = self.pictogram(entry.get("pictogram"), where, "places", index,
                                       required=False)
            if ident and scope and label:
                places.append(Place(ident, scope, label, pictogram))
        place_ids = set(seen)

        equipment = []
        seen = {}
        equipment_index: dict[str, int] = {}
        for index, entry in enumerate(self.array(data, "equipment")):
            where = self.name("equipment", index, entry)
            self.unknown_keys(entry, _EQUIPMENT_KEYS, where, "equipment", index)
            ident = self.ident(entry, where, "equipment", index, seen)
            label = self.text(entry, "label", where, "equipment", index, "label")
            pictogram = self.pictogram(entry.get("pictogram"), where, "equipment", index,
                                       required=True)
            where_list = entry.get("places")
            valid_places: tuple[str, ...] = ()
            if not isinstance(where_list, list) or not where_list or \
                    not all(isinstance(p, str) for p in where_list):
                self.report(where, "places must list the ids of the places where this equipment "
                                   "is found, e.g. places = [\"kitchen\", \"bathroom\"]",
                            "equipment", index, "places")
            else:
                for place in where_list:
                    if place not in place_ids:
                        self.report(where, f"unknown place {place!r}", "equipment", index,
                                    "places")
                valid_places = tuple(p for p in where_list if p in place_ids)
            if ident:
                equipment_index[ident] = index
            if ident and label and pictogram and valid_places and \
                    len(valid_places) == len(where_list):
                equipment.append(Equipment(ident, valid_places, label, pictogram))
        equipment_ids = set(seen)

        problems = []
        seen = {}
        for index, entry in enumerate(self.array(data, "problems")):
            problem = self.problem(entry, index, seen, equipment_ids, trade_ids)
            if problem:
                problems.append(problem)

        # Every place offers equipment and every equipment offers problems: an empty step
        # would leave the tenant stuck in the guided entry.
        used_places = {p for item in data.get("equipment") or [] if isinstance(item, dict)
                       for p in (item.get("places") or []) if isinstance(p, str)}
        for place in places:
            if place.id not in used_places:
                index = next(i for i, e in enumerate(data["places"]) if e.get("id") == place.id)
                self.report(self.name("places", index, data["places"][index]),
                            "no equipment is found in this place", "places", index)
        used_equipment = {entry.get("equipment") for entry in data.get("problems") or []
                          if isinstance(entry, dict)}
        for item in equipment:
            if item.id not in used_equipment:
                index = equipment_index[item.id]
                self.report(self.name("equipment", index, data["equipment"][index]),
                            "no problem is listed for this equipment", "equipment", index)

        if self.issues:
            return None
        return Catalogue(str(version).strip(), tuple(trades), tuple(places), tuple(equipment),
                         tuple(problems), source)

    def problem(self, entry: dict, index: int, seen: dict[str, int], equipment_ids: set[str],
                trade_ids: set[str]) -> Problem | None:
        array = "problems"
        where = self.name(array, index, entry)
        before = len(self.issues)
        self.unknown_keys(entry, _PROBLEM_KEYS, where, array, index)
        ident = self.ident(entry, where, array, index, seen)
        label = self.text(entry, "label", where, array, index, "label")

        equipment = entry.get("equipment")
        if not isinstance(equipment, str) or not equipment:
            self.report(where, "missing equipment (the id of an [[equipment]] table)", array,
                        index)
        elif equipment not in equipment_ids:
            self.report(where, f"unknown equipment {equipment!r}", array, index, "equipment")

        trade = entry.get("trade")
        if not isinstance(trade, str) or not trade:
            self.report(where, "missing trade (the id of a [[trades]] table)", array, index)
        elif trade not in trade_ids:
            self.report(where, f"unknown trade {trade!r} (one of: "
                               f"{', '.join(sorted(trade_ids))})", array, index, "trade")

        responsibility = self.choice(entry, "responsibility", Responsibility, where, array,
                                     index)
        reference = entry.get("legal_reference", "")
        if not isinstance(reference, str):
            self.report(where, "legal_reference must be a text", array, index,
                        "legal_reference")
            reference = ""
        reference = reference.strip()
        if responsibility and responsibility.needs_reference and not reference:
            self.report(where, f"missing legal_reference: a {responsibility.description} "
                               "responsibility is shown to the tenant with the text it rests "
                               "on (e.g. \"Décret 87-712, annexe, IV-a ; loi 89-462, art. 7 d\")",
                        array, index, "responsibility")

        priority = self.choice(entry, "priority", Priority, where, array, index)
        deadline = entry.get("deadline_hours")
        if isinstance(deadline, bool) or not isinstance(deadline, (int, float)) or \
                not deadline > 0 or deadline != deadline or deadline == float("inf"):
            self.report(where, f"deadline_hours must be a positive number of hours, got "
                               f"{deadline!r}", array, index,
                        "deadline_hours" if "deadline_hours" in entry else None)
            deadline = None
        elif priority is Priority.EMERGENCY and deadline > EMERGENCY_MAX_HOURS:
            self.report(where, f"an emergency must be handled within {EMERGENCY_MAX_HOURS} hours "
                               f"at most, not {deadline:g}", array, index, "deadline_hours")
            deadline = None

        video = entry.get("video_diagnosis")
        if not isinstance(video, bool):
            self.report(where, f"video_diagnosis must be true or false, got {video!r}", array,
                        index, "video_diagnosis" if "video_diagnosis" in entry else None)

        collective = entry.get("collective", False)
        if not isinstance(collective, bool):
            self.report(where, f"collective must be true or false, got {collective!r}", array,
                        index, "collective")

        hazards: list[Hazard] = []
        raw_hazards = entry.get("hazards", [])
        if not isinstance(raw_hazards, list):
            self.report(where, "hazards must be a list, e.g. hazards = [\"water\"]", array,
                        index, "hazards")
            raw_hazards = []
        for value in raw_hazards:
            try:
                hazards.append(Hazard(value))
            except ValueError:
                self.report(where, f"unknown hazard {value!r} (one of: "
                                   f"{', '.join(h.value for h in Hazard)})", array, index,
                            "hazards")

        safety = self.text(entry, "safety", where, array, index, "safety advice",
                           required=False)
        if "safety" not in entry and (priority is Priority.EMERGENCY or hazards):
            reasons = []
            if priority is Priority.EMERGENCY:
                reasons.append("the emergency priority")
            if hazards:
                reasons.append(f"the {', '.join(h.value for h in hazards)} hazard")
            self.report(where, f"missing safety advice, required by {' and '.join(reasons)}: "
                               "tell the tenant what to do first (safety.fr and safety.en)",
                        array, index, "priority" if priority is Priority.EMERGENCY else "hazards")

        if len(self.issues) > before:
            return None
        return Problem(ident, equipment, label, responsibility, reference, trade, priority,
                       float(deadline), video, safety, tuple(hazards), collective)


def check_catalogue(path: Path | str | None = None,
                    pictogram_dirs: list[Path] | None = None
                    ) -> tuple[Catalogue | None, list[Issue]]:
    """Read and check a catalogue file; return it (or None) and every issue found.

    Pictograms are looked up in ``pictogram_dirs`` (by default the plugin's own folder).
    """
    path = Path(path) if path else CATALOGUE_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None, [Issue("", "file not found")]
    except UnicodeDecodeError as error:
        return None, [Issue("", f"not UTF-8 text ({error.reason} at byte {error.start})")]
    return check_catalogue_text(text, pictogram_dirs, source=path)


def check_catalogue_text(text: str, pictogram_dirs: list[Path] | None = None,
                         source: Path | None = None) -> tuple[Catalogue | None, list[Issue]]:
    """Check a catalogue given as TOML text (an edit typed in the back office, a version kept
    in the database); same rules and same issues as :func:`check_catalogue`."""
    dirs = list(pictogram_dirs) if pictogram_dirs else [PICTOGRAM_DIR]
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        match = re.search(r"\(at line (\d+), column \d+\)", str(error))
        return None, [Issue("", f"not valid TOML: {error}",
                            int(match.group(1)) if match else None)]
    checker = _Checker(text, dirs)
    catalogue = checker.check(data, source)
    # In the order of the file, so that an editor fixes them from top to bottom.
    return catalogue, sorted(checker.issues, key=lambda issue: issue.line or 0)


def load_catalogue(path: Path | str | None = None,
                   pictogram_dirs: list[Path] | None = None) -> Catalogue:
    """The catalogue at ``path`` (by default the shipped one); :class:`CatalogueError` if wrong."""
    catalogue, issues = check_catalogue(path, pictogram_dirs)
    if issues or catalogue is None:
        raise CatalogueError(Path(path) if path else CATALOGUE_FILE, issues)
    return catalogue

