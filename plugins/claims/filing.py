"""Checking a claim before it is filed: catalogue choices, location, answers, texts, photos.

Every check runs before anything is written, and every problem found is reported at once
(``ClaimInvalid.errors``: field → message in the user's language), so that the guided entry
shows them all next to their fields.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import or_, select

from core.accounts import Role, User
from core.estate import (
    Building,
    CaretakerAssignment,
    Dwelling,
    Entrance,
    Lease,
    Person,
    current_lease,
)
from core.extensions import db
from plugins.claims.catalogue import Catalogue, Equipment, Place, Problem, Scope
from plugins.claims.models import FilingChannel

MAX_DESCRIPTION = 5000
MAX_FREE_ANSWER = 500
MAX_PHOTOS = 5
TOKEN_PATTERN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")

# The questions of the guided entry: closed answers by their value, or free text.
ANSWER_CHOICES = {
    "since": ("today", "this_week", "this_month", "longer"),
    "urgency": ("cannot_wait", "within_days", "can_wait"),
    "access": ("present", "keys_with_caretaker", "free_access"),
}
FREE_ANSWERS = ("availability",)
REQUIRED_ANSWERS = ("since", "urgency")

# Who may file, and through which channels (the first is the default).
CHANNELS_BY_ROLE = {
    Role.TENANT: (FilingChannel.PORTAL,),
    Role.CARETAKER: (FilingChannel.CARETAKER,),
    Role.AGENT: (FilingChannel.AGENT, FilingChannel.PHONE),
    Role.MANAGER: (FilingChannel.AGENT, FilingChannel.PHONE),
    Role.ADMIN: (FilingChannel.AGENT, FilingChannel.PHONE),
}


class ClaimError(Exception):
    """A claim request that cannot be carried out; ``str(error)`` is for the user."""


class ClaimInvalid(ClaimError):
    """A submission with problems; ``errors`` maps each field to its message."""

    def __init__(self, errors: dict[str, str]):
        self.errors = dict(errors)
        super().__init__(" ".join(self.errors.values()))


class ClaimForbidden(ClaimError):
    """The user may not do this (file a claim, make this change)."""


@dataclass(frozen=True)
class Location:
    """Where a claim is, resolved and checked: the dwelling, or the common parts of an entrance
    or a building, and who it concerns."""

    person: Person | None
    household_id: int | None
    dwelling: Dwelling | None
    entrance: Entrance | None
    building: Building


@dataclass(frozen=True)
class Submission:
    """A checked submission, ready to be written."""

    place: Place
    equipment: Equipment
    problem: Problem
    location: Location
    description: str
    answers: dict
    channel: FilingChannel
    token: str


def clean_text(value, *, limit: int, field: str, errors: dict, required: bool,
               label_empty: str | None = None) -> str:
    """A free text as typed (surrounding blanks removed), or a message in ``errors``.

    Texts the database could not store as given are refused rather than altered: the claim is
    recorded exactly as described.
    """
    if value is None:
        value = ""
    if not isinstance(value, str):
        errors[field] = _("This answer must be text.")
        return ""
    text = value.strip()
    if not text:
        if required:
            errors[field] = label_empty or _("Please fill in this field.")
        return ""
    if len(text) > limit:
        errors[field] = _("%(num)d characters at most, please (there are %(count)d).",
                          num=limit, count=len(text))
    elif "\x00" in text or not _encodable(text):
        errors[field] = _("This text contains characters that cannot be recorded.")
    return text


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate, e.g. from "\ud800" in JSON
        return False
    return True


def check_catalogue_choice(catalogue: Catalogue, place_id, equipment_id, problem_id,
                           errors: dict) -> tuple[Place | None, Equipment | None,
                                                  Problem | None]:
    place = equipment = problem = None
    try:
        place = catalogue.place(place_id) if isinstance(place_id, str) else None
    except KeyError:
        pass
    if place is None:
        errors["place"] = _("Choose where the problem is.")
    try:
        equipment = catalogue.equipment_item(equipment_id) \
            if isinstance(equipment_id, str) else None
    except KeyError:
        pass
    if equipment is None:
        errors["equipment"] = _("Choose the equipment concerned.")
    elif place is not None and place.id not in equipment.places:
        errors["equipment"] = _("This equipment is not found in the place you chose.")
        equipment = None
    try:
        problem = catalogue.problem(problem_id) if isinstance(problem_id, str) else None
    except KeyError:
        pass
    if problem is None:
        errors["problem"] = _("Choose what is wrong.")
    elif isinstance(equipment_id, str) and problem.equipment != equipment_id:
        errors["problem"] = _("This problem does not belong to the chosen equipment.")
        problem = None
    return place, equipment, problem


def check_answers(answers, errors: dict) -> dict:
    if answers is None:
        answers = {}
    if not isinstance(answers, dict):
        errors["answers"] = _("The answers to the questions are missing.")
        return {}
    clean: dict[str, str] = {}
    for key in answers:
        if key not in ANSWER_CHOICES and key not in FREE_ANSWERS:
            errors["answers"] = _("Unknown question: %(name)s.", name=str(key)[:40])
    for key, choices in ANSWER_CHOICES.items():
        value = answers.get(key)
        if value in (None, ""):
            if key in REQUIRED_ANSWERS:
                errors[f"answers.{key}"] = _("Please answer this question.")
            continue
        if not isinstance(value, str) or value not in choices:
            errors[f"answers.{key}"] = _("Choose one of the answers offered.")
            continue
        clean[key] = value
    for key in FREE_ANSWERS:
        text = clean_text(answers.get(key), limit=MAX_FREE_ANSWER, field=f"answers.{key}",
                          errors=errors, required=False)
        if text:
            clean[key] = text
    return clean


def check_channel(filer: User, channel, errors: dict) -> FilingChannel | None:
    allowed = CHANNELS_BY_ROLE.get(filer.role)
    if allowed is None:
        raise ClaimForbidden(_("Your account cannot file claims."))
    if channel is None:
        return allowed[0]
    try:
        chosen = FilingChannel(channel)
    except ValueError:
        chosen = None
    if chosen not in allowed:
        errors["channel"] = _("This way of filing a claim is not available to you.")
        return None
    return chosen


def _as_id(value) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def resolve_location(filer: User, place: Place | None, *, person_id=None, dwelling_id=None,
                     building_id=None, entrance_id=None, today: date | None = None,
                     errors: dict) -> Location | None:
    """Where the claim is and whom it concerns, checked against what the filer may do.

    A tenant files for their own home (the dwelling of their current lease) or the common
    parts of their building; a caretaker for the dwellings and common parts of the buildings
    assigned to them; customer agents, managers and administrators anywhere.
    """
    today = today or date.today()
    given = {name: value for name, value in (("person", person_id), ("dwelling", dwelling_id),
                                              ("building", building_id),
                                              ("entrance", entrance_id)) if value is not None}
    for value in given.values():
        if _as_id(value) is None:
            errors["location"] = _("The place of the problem is not valid.")
            return None

    person = dwelling = entrance = building = None
    household_id = None
    if filer.role is Role.TENANT:
        person = db.session.get(Person, filer.person_id) if filer.person_id else None
        lease = current_lease(person, today) if person is not None else None
        if lease is None:
            errors["location"] = _("We cannot find your current lease: please call your "
                                   "agency.")
            return None
        own = lease.dwelling
        if ("person" in given and person_id != person.id) or \
                ("dwelling" in given and dwelling_id != own.id) or \
                ("building" in given and building_id != own.entrance.building_id):
            errors["location"] = _("You can only report a problem in your own home or "
                                   "building.")
            return None
        dwelling, entrance, building = own, own.entrance, own.entrance.building
        household_id = lease.household_id
    else:
        if "person" in given:
            person = db.session.get(Person, person_id)
            lease = current_lease(person, today) if person is not None else None
            if lease is None:
                errors["person"] = _("This person has no current lease.")
                return None
            household_id = lease.household_id
            if "dwelling" in given and dwelling_id != lease.dwelling_id:
                errors["location"] = _("This person does not live in this dwelling.")
                return None
            dwelling = lease.dwelling
        elif "dwelling" in given:
            dwelling = db.session.get(Dwelling, dwelling_id)
            if dwelling is None:
                errors["location"] = _("This dwelling does not exist.")
                return None
            household_id = db.session.scalar(select(Lease.household_id).where(
                Lease.dwelling_id == dwelling.id, Lease.start_date <= today,
                or_(Lease.end_date.is_(None), Lease.end_date > today)).limit(1))
        if dwelling is not None:
            entrance, building = dwelling.entrance, dwelling.entrance.building
            if "building" in given and building_id != building.id:
                errors["location"] = _("This dwelling is not in this building.")
                return None
        elif "building" in given:
            building = db.session.get(Building, building_id)
        elif "entrance" in given:
            entrance = db.session.get(Entrance, entrance_id)
            building = entrance.building if entrance is not None else None
        if building is None:
            errors["location"] = _("Choose the dwelling or the building concerned.")
            return None
        if filer.role is Role.CARETAKER and not db.session.scalar(
                select(CaretakerAssignment.id).where(
                    CaretakerAssignment.user_id == filer.id,
                    CaretakerAssignment.building_id == building.id)):
            errors["location"] = _("This building is not one of yours.")
            return None

    if "entrance" in given and (entrance is None or entrance.id != entrance_id):
        chosen = db.session.get(Entrance, entrance_id)
        if chosen is None or chosen.building_id != building.id:
            errors["location"] = _("This entrance is not in this building.")
            return None
        entrance = chosen

    if place is not None:
        if place.scope is Scope.DWELLING and dwelling is None:
            errors["location"] = _("Choose the dwelling concerned.")
            return None
        if place.scope is Scope.COMMON:
            dwelling = None  # the common parts: the building, and the entrance when known
    return Location(person, household_id, dwelling, entrance, building)


def check_submission(filer: User, catalogue: Catalogue, *, place_id, equipment_id, problem_id,
                     description, answers, token, photos, channel=None, person_id=None,
                     dwelling_id=None, building_id=None, entrance_id=None) -> Submission:
    """Every check of a submission; :class:`ClaimInvalid` lists what is wrong."""
    errors: dict[str, str] = {}
    if not isinstance(token, str) or not TOKEN_PATTERN.fullmatch(token):
        errors["token"] = _("This confirmation is not valid: please confirm the claim again.")
    chosen_channel = check_channel(filer, channel, errors)
    place, equipment, problem = check_catalogue_choice(catalogue, place_id, equipment_id,
                                                       problem_id, errors)
    location = resolve_location(filer, place, person_id=person_id, dwelling_id=dwelling_id,
                                building_id=building_id, entrance_id=entrance_id,
                                errors=errors)
    text = clean_text(description, limit=MAX_DESCRIPTION, field="description", errors=errors,
                      required=True, label_empty=_("Please describe the problem."))
    clean_answers = check_answers(answers, errors)
    if len(photos) > MAX_PHOTOS:
        errors["photos"] = _("%(num)d photos at most, please.", num=MAX_PHOTOS)
    if errors:
        raise ClaimInvalid(errors)
    return Submission(place, equipment, problem, location, text, clean_answers,
                      chosen_channel, token)


def configured_catalogue(app=None) -> Catalogue:
    """The catalogue new claims are filed against: the version an administrator activated
    last, else the file checked at start-up (see :mod:`plugins.claims.catalogue.store`)."""
    from plugins.claims.catalogue.store import active_catalogue

    return active_catalogue(app or current_app)
