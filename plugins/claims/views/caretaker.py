"""Caretaker pages (gardien), made for the phone during rounds.

A caretaker finds a tenant of their buildings (by name, lease or dwelling reference), reads the
claims of a dwelling or a building, and files a claim for a tenant or for the common parts
with the same catalogue steps as the tenant (where → equipment → problem → questions →
summary with who pays → description, photos, confirmation). Everything is limited to the
buildings assigned to them (core.estate.CaretakerAssignment): claims through
:func:`plugins.claims.queries.claims_visible_to`, people through
:func:`core.estate.people_visible_to`; another building's dwelling, tenant or claim is not
found (404).

Pages are plain server-rendered HTML, one column, without scripts, and the read-only ones are
GET pages under one prefix, so that they can be kept for offline use later. The pictograms and
the stylesheet are served under the same prefix for the same reason.

Who the claim is for is part of each step's address (``/new/tenant/<person id>/...`` or
``/new/building/<building id>/...``); the choices and answers made so far are kept in the
session (``claims_caretaker_draft``), as on the tenant's pages. The confirmation carries every
choice again and files the claim on its own; its idempotency token makes a second sending
return the claim already filed.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date

from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import joinedload
from werkzeug.exceptions import NotFound
from wtforms import (
    RadioField,
    SelectChoice,
    StringField,
)
from wtforms.validators import DataRequired, Length

from core import audit
from core.accounts import Role, utcnow
from core.attachments import Attachment, visible_attachments
from core.db import writes
from core.estate import (
    Building,
    CaretakerAssignment,
    Dwelling,
    Entrance,
    Lease,
    Person,
    Residence,
    current_lease,
    lease_runs_on,
    people_visible_to,
)
from core.extensions import db
from core.web.access import roles_required
from core.web.forms import SearchForm
from core.web.tenant_files import people_matching
from plugins.claims import PACKAGE_DIR
from plugins.claims.catalogue import Scope
from plugins.claims.filing import (
    ANSWER_CHOICES,
    MAX_DESCRIPTION,
    MAX_FREE_ANSWER,
    MAX_PHOTOS,
    ClaimError,
    ClaimInvalid,
    check_answers,
    configured_catalogue,
)
from plugins.claims.models import PHOTO_OWNER_TYPE, Claim, FilingChannel
from plugins.claims.queries import claims_visible_to, visible_claims
from plugins.claims.queue import OPEN_STATUSES
from plugins.claims.views.portal import (
    ConfirmForm,
    _add_errors,
    _deadline,
    _entries,
    _label,
    _locale,
)
from plugins.claims.wording import CHANNEL_LABELS, responsibility_label, status_label

bp = Blueprint("claims_caretaker", __name__, url_prefix="/caretaker/claims",
               static_folder=str(PACKAGE_DIR / "static"), static_url_path="/static")

caretaker_required = roles_required(Role.CARETAKER)

DRAFT_KEY = "claims_caretaker_draft"
# A search shows at most this many dwellings and people: past that, the caretaker narrows it.
SEARCH_LIMIT = 30
# Closed claims shown under a building's or a dwelling's open ones.
CLOSED_SHOWN = 20

# The questions, worded for someone who files for another person (the tenant's pages say
# "I" and "my home"); the values are those of plugins.claims.filing.ANSWER_CHOICES.
ANSWER_LABELS = {
    "since": _l("Since when?"),
    "urgency": _l("How urgent is it?"),
    "access": _l("How can the technician get in?"),
    "availability": _l("When can the technician come?"),
}
CHOICE_LABELS = {
    "since": {"today": _l("Since today"), "this_week": _l("Since this week"),
              "this_month": _l("Since this month"), "longer": _l("For longer")},
    "urgency": {"cannot_wait": _l("It cannot wait: the place cannot be used normally"),
                "within_days": _l("Within a few days"),
                "can_wait": _l("It can wait a little")},
    "access": {"present": _l("The tenant will be there to open the door"),
               "keys_with_caretaker": _l("The caretaker has the keys"),
               "free_access": _l("Free access (no door to open)")},
}
# The common parts have no tenant to open the door.
COMMON_ACCESS = ("keys_with_caretaker", "free_access")


def _choices(question, values=None):
    return [SelectChoice(value, CHOICE_LABELS[question][value])
            for value in values or ANSWER_CHOICES[question]]


class FindForm(SearchForm):
    """The search box: a tenant's name, a lease reference or a dwelling reference."""

    q = StringField(_l("Tenant's name, lease or dwelling reference"), validators=[
        DataRequired(_l("Enter a name or a reference.")),
        Length(min=2, max=120, message=_l("Enter from 2 to 120 characters."))])


class QuestionsForm(FlaskForm):
    """Step 4; the answers are checked by :func:`plugins.claims.filing.check_answers`."""

    since = RadioField(ANSWER_LABELS["since"], choices=_choices("since"), validate_choice=False)
    urgency = RadioField(ANSWER_LABELS["urgency"], choices=_choices("urgency"),
                         validate_choice=False)
    access = RadioField(ANSWER_LABELS["access"], choices=_choices("access"),
                        validate_choice=False)
    availability = StringField(ANSWER_LABELS["availability"])


# -- the caretaker's buildings ---------------------------------------------------------------

def _my_buildings():
    """The ids of the buildings assigned to the current caretaker, as a subquery."""
    return select(CaretakerAssignment.building_id).where(
        CaretakerAssignment.user_id == current_user.id)


def _building(building_id: int) -> Building:
    building = db.session.scalar(
        select(Building).where(Building.id == building_id, Building.id.in_(_my_buildings()))
        .options(joinedload(Building.residence)))
    if building is None:
        abort(404)
    return building


def _dwelling(dwelling_id: int) -> Dwelling:
    dwelling = db.session.scalar(
        select(Dwelling).join(Entrance, Entrance.id == Dwelling.entrance_id)
        .where(Dwelling.id == dwelling_id, Entrance.building_id.in_(_my_buildings()))
        .options(joinedload(Dwelling.entrance).joinedload(Entrance.building)
                 .joinedload(Building.residence)))
    if dwelling is None:
        abort(404)
    return dwelling


def _claim_rows(query, *, open_only: bool):
    """Claims of a list, the open ones by deadline, the closed ones newest first."""
    if open_only:
        query = query.where(Claim.status.in_(OPEN_STATUSES)).order_by(Claim.due_at, Claim.id)
    else:
        query = (query.where(Claim.status.not_in(OPEN_STATUSES))
                 .order_by(Claim.created_at.desc(), Claim.id.desc()).limit(CLOSED_SHOWN))
    return db.session.scalars(query.options(joinedload(Claim.dwelling))).all()


def _list_context() -> dict:
    return {"locale": _locale(), "status_label": status_label, "now": utcnow()}


@bp.route("/")
@caretaker_required
def home():
    """The caretaker's buildings with their open claims, and the search box."""
    return _home_page()


def _home_page(extra=(), status=200):
    open_claims = (select(Claim.building_id, func.count(Claim.id).label("open"))
                   .where(claims_visible_to(current_user), Claim.status.in_(OPEN_STATUSES))
                   .group_by(Claim.building_id).subquery())
    rows = db.session.execute(
        select(Building, func.coalesce(open_claims.c.open, 0))
        .join(Residence, Residence.id == Building.residence_id)
        .outerjoin(open_claims, open_claims.c.building_id == Building.id)
        .where(Building.id.in_(_my_buildings()))
        .order_by(Residence.name, Building.name, Building.id)
        .options(joinedload(Building.residence))).all()
    return render_template("claims/caretaker/home.html", buildings=rows, form=FindForm(),
                           extra=list(extra)), status


@bp.route("/search")
@caretaker_required
def search():
    """Tenants and dwellings of the caretaker's buildings matching a name or a reference."""
    form = FindForm(request.args)
    if not form.validate():
        return render_template("claims/caretaker/search.html", form=form, dwellings=None,
                               people=None), 400
    text = form.q.data.strip()
    dwellings = db.session.scalars(
        select(Dwelling).join(Entrance, Entrance.id == Dwelling.entrance_id)
        .where(Entrance.building_id.in_(_my_buildings()),
               or_(Dwelling.reference.icontains(text, autoescape=True),
                   func.lower(Dwelling.door) == text.lower()))
        .order_by(Dwelling.reference).limit(SEARCH_LIMIT)
        .options(joinedload(Dwelling.entrance).joinedload(Entrance.building))).all()
    # people_matching filters through core.estate.people_visible_to: a caretaker finds only
    # the current occupants of their buildings.
    people = people_matching(text, current_user, limit=SEARCH_LIMIT)
    homes = _homes_of([person.id for person in people])
    return render_template("claims/caretaker/search.html", form=form, dwellings=dwellings,
                           people=[(person, homes.get(person.id)) for person in people
                                   if person.id in homes],
                           limit=SEARCH_LIMIT)


def _homes_of(person_ids: list[int]) -> dict[int, Dwelling]:
    """Each person's dwelling today, among the caretaker's buildings, in one query."""
    if not person_ids:
        return {}
    rows = db.session.execute(
        select(Person.id, Dwelling)
        .join(Lease, Lease.household_id == Person.household_id)
        .join(Dwelling, Dwelling.id == Lease.dwelling_id)
        .join(Entrance, Entrance.id == Dwelling.entrance_id)
        .where(Person.id.in_(person_ids), *lease_runs_on(date.today()),
               Entrance.building_id.in_(_my_buildings()))
        .options(joinedload(Dwelling.entrance).joinedload(Entrance.building))).all()
    return {person_id: dwelling for person_id, dwelling in rows}


@bp.route("/dwellings/<int:dwelling_id>")
@caretaker_required
@writes
def dwelling(dwelling_id: int):
    """A dwelling: its current occupants (to file a claim for one) and its claims.

    It names the occupants: each view is recorded as the core's tenant files are."""
    home = _dwelling(dwelling_id)
    occupants = db.session.scalars(
        select(Person).join(Lease, Lease.household_id == Person.household_id)
        .where(Lease.dwelling_id == home.id, *lease_runs_on(date.today()),
               Person.erased_at.is_(None), people_visible_to(current_user))
        .order_by(Person.last_name, Person.first_name, Person.id)).all()
    for person in occupants:
        audit.record("view_tenant_file", obj=person)
    claims = visible_claims(current_user).where(Claim.dwelling_id == home.id)
    page = render_template("claims/caretaker/dwelling.html", dwelling=home,
                           occupants=occupants,
                           open_claims=_claim_rows(claims, open_only=True),
                           closed_claims=_claim_rows(claims, open_only=False),
                           **_list_context())
    db.session.commit()
    return page


@bp.route("/buildings/<int:building_id>")
@caretaker_required
def building(building_id: int):
    """A building: its claims (dwellings and common parts), and a claim for the common parts."""
    place = _building(building_id)
    claims = visible_claims(current_user).where(Claim.building_id == place.id)
    return render_template("claims/caretaker/building.html", building=place,
                           open_claims=_claim_rows(claims, open_only=True),
                           closed_claims=_claim_rows(claims, open_only=False),
                           **_list_context())


@bp.route("/<int:claim_id>")
@caretaker_required
def claim(claim_id: int):
    """One claim, read only: status, what was reported, photos, the public history."""
    found = db.session.scalar(visible_claims(current_user).where(Claim.id == claim_id)
                              .options(joinedload(Claim.dwelling), joinedload(Claim.building)))
    if found is None:
        abort(404)
    return _claim_page(found)


def _claim_page(found: Claim, extra=(), status=200):
    photos = db.session.scalars(visible_attachments(current_user).where(
        Attachment.owner_type == PHOTO_OWNER_TYPE, Attachment.owner_id == found.id)
        .order_by(Attachment.id)).all()
    person = None
    if found.person_id is not None:
        person = db.session.scalar(select(Person).where(Person.id == found.person_id,
                                                        people_visible_to(current_user)))
    return render_template("claims/caretaker/claim.html", claim=found, photos=photos,
                           person=person, who_pays=responsibility_label(found.responsibility),
                           answers=_answer_lines(found.answers or {}),
                           channel=CHANNEL_LABELS.get(found.channel),
                           public_events=[event for event in found.events
                                          if event.from_status != event.to_status
                                          or event.public_message or event.reason],
                           extra=list(extra), **_list_context()), status


# -- whom a new claim is for -----------------------------------------------------------------

# Whom a claim is entered for: a tenant, the common parts of a whole building, or those of
# one of its entrances (its hall and staircase: collective incidents group by entrance).
TENANT, BUILDING, ENTRANCE = "tenant", "building", "entrance"


@dataclass(frozen=True)
class Target:
    """Whom a claim being entered is for: a tenant (and their home), or the common parts of
    a building. Found only among the caretaker's buildings."""

    kind: str
    id: int
    building: Building
    person: Person | None = None
    dwelling: Dwelling | None = None
    entrance: Entrance | None = None

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.id}"

    @property
    def scopes(self) -> tuple[Scope, ...]:
        # A tenant's claim may be in their home or in the common parts, as on their own pages.
        return (Scope.DWELLING, Scope.COMMON) if self.kind == TENANT else (Scope.COMMON,)

    def url(self, endpoint: str, **values) -> str:
        return url_for(endpoint, kind=self.kind, target_id=self.id, **values)

    def filing_fields(self) -> dict:
        """Where, for :func:`plugins.claims.workflow.file_claim` (checked there again)."""
        if self.kind == TENANT:
            return {"person_id": self.person.id, "dwelling_id": self.dwelling.id}
        if self.entrance is not None:
            return {"building_id": self.building.id, "entrance_id": self.entrance.id}
        entrances = self.building.entrances
        if len(entrances) == 1:  # its hall and staircase: collective incidents group by them
            return {"building_id": self.building.id, "entrance_id": entrances[0].id}
        return {"building_id": self.building.id}

    @property
    def is_tenant(self) -> bool:
        return self.kind == TENANT


def _target(kind: str, target_id: int) -> Target:
    """The tenant or building of the address, or a 404."""
    if kind == BUILDING:
        return Target(BUILDING, target_id, _building(target_id))
    if kind == ENTRANCE:
        entrance = db.session.get(Entrance, target_id)
        if entrance is None:
            abort(404)
        return Target(ENTRANCE, target_id, _building(entrance.building_id), entrance=entrance)
    if kind == TENANT:
        person = db.session.scalar(select(Person).where(
            Person.id == target_id, Person.erased_at.is_(None),
            people_visible_to(current_user)))
        lease = current_lease(person, date.today()) if person is not None else None
        if lease is None:
            abort(404)
        home = _dwelling(lease.dwelling_id)
        return Target(TENANT, target_id, home.entrance.building, person, home)
    abort(404)


def _draft(target: Target) -> dict:
    draft = session.get(DRAFT_KEY)
    if isinstance(draft, dict) and draft.get("target") == target.key:
        return dict(draft)
    return {"target": target.key}


def _save_draft(target: Target, **values) -> dict:
    draft = _draft(target)
    draft.update(values)
    session[DRAFT_KEY] = draft
    return draft


def _place_or_none(target: Target, place_id):
    try:
        place = configured_catalogue().place(place_id)
    except (KeyError, TypeError):
        return None
    return place if place.scope in target.scopes else None


def _page(template: str, target: Target, status: int = 200, **context):
    return render_template(f"claims/caretaker/{template}", target=target, label=_label,
                           **context), status


# -- steps -----------------------------------------------------------------------------------

@bp.route("/new/<kind>/<int:target_id>")
@caretaker_required
def start(kind: str, target_id: int, message=None, status=200):
    """Step 1: where is the problem? The common parts only, for a building."""
    target = _target(kind, target_id)
    catalogue = configured_catalogue()

    def url(place):
        return target.url(".equipment", place_id=place.id)

    groups = []
    if target.is_tenant:
        groups.append((_("In the tenant's home"),
                       _entries(catalogue.places_in(Scope.DWELLING), url)))
    groups.append((_("In the common parts of the building"),
                   _entries(catalogue.places_in(Scope.COMMON), url)))
    return _page("where.html", target, status, groups=groups,
                 extra=[message] if message else [])


@bp.route("/new/<kind>/<int:target_id>/<place_id>")
@caretaker_required
def equipment(kind: str, target_id: int, place_id: str, message=None, status=200):
    """Step 2: which equipment, as big pictograms."""
    target = _target(kind, target_id)
    place = _place_or_none(target, place_id)
    if place is None:
        return start(kind, target_id, status=404,
                     message=_("This place is not in the list: choose one below."))
    entries = _entries(configured_catalogue().equipment_in(place.id), lambda item: target.url(
        ".problem", place_id=place.id, equipment_id=item.id))
    return _page("equipment.html", target, status, place=place, entries=entries,
                 extra=[message] if message else [])


def _place_and_equipment(target: Target, place_id, equipment_id):
    """The place and equipment of the address, or the page to show instead (a 404)."""
    place = _place_or_none(target, place_id)
    if place is None:
        return None, None, start(target.kind, target.id, status=404,
                                 message=_("This place is not in the list: choose one below."))
    try:
        item = configured_catalogue().equipment_item(equipment_id)
    except KeyError:
        item = None
    if item is None or place.id not in item.places:
        return None, None, equipment(
            target.kind, target.id, place.id, status=404,
            message=_("This equipment is not found in the place you chose: choose one below."))
    return place, item, None


@bp.route("/new/<kind>/<int:target_id>/<place_id>/<equipment_id>")
@caretaker_required
def problem(kind: str, target_id: int, place_id: str, equipment_id: str, message=None,
            status=200):
    """Step 3: what is wrong."""
    target = _target(kind, target_id)
    place, item, instead = _place_and_equipment(target, place_id, equipment_id)
    if instead is not None:
        return instead
    return _page("problem.html", target, status, place=place, item=item,
                 problems=configured_catalogue().problems_of(item.id),
                 extra=[message] if message else [])


@bp.route("/new/<kind>/<int:target_id>/<place_id>/<equipment_id>/<problem_id>",
          methods=["GET", "POST"])
@caretaker_required
def questions(kind: str, target_id: int, place_id: str, equipment_id: str, problem_id: str):
    """Step 4: since when, how urgent, access and availability."""
    target = _target(kind, target_id)
    place, item, instead = _place_and_equipment(target, place_id, equipment_id)
    if instead is not None:
        return instead
    try:
        chosen = configured_catalogue().problem(problem_id)
    except KeyError:
        chosen = None
    if chosen is None or chosen.equipment != item.id:
        return problem(kind, target_id, place.id, item.id, status=404,
                       message=_("This problem does not belong to the chosen equipment: choose "
                                 "one below."))
    draft = _draft(target)
    if (draft.get("place"), draft.get("equipment"), draft.get("problem")) != \
            (place.id, item.id, chosen.id):
        draft = {"target": target.key, "place": place.id, "equipment": item.id,
                 "problem": chosen.id}
        session[DRAFT_KEY] = draft
    form = QuestionsForm(data=draft.get("answers") or {})
    if place.scope is Scope.COMMON:
        form.access.choices = _choices("access", COMMON_ACCESS)
    if request.method == "POST" and form.validate():
        errors: dict[str, str] = {}
        answers = check_answers({key: form[key].data for key in ANSWER_LABELS}, errors)
        if place.scope is Scope.COMMON and answers.get("access") not in (None,
                                                                         *COMMON_ACCESS):
            errors["answers.access"] = _("Choose one of the answers offered.")
        if not errors:
            _save_draft(target, answers=answers)
            return redirect(target.url(".summary"))
        _add_errors(form, {key.removeprefix("answers."): message
                           for key, message in errors.items()})
    return _page("questions.html", target, 400 if form.errors else 200, form=form, place=place,
                 item=item, problem=chosen, max_free=MAX_FREE_ANSWER)


def _chosen(target: Target, values: dict):
    catalogue = configured_catalogue()
    place = _place_or_none(target, values.get("place"))
    try:
        item = catalogue.equipment_item(values["equipment"])
        chosen = catalogue.problem(values["problem"])
    except (KeyError, TypeError):
        return None
    if place is None or chosen.equipment != item.id or place.id not in item.places:
        return None
    return place, item, chosen


def _answer_lines(answers: dict) -> list[tuple[str, str]]:
    lines = []
    for key, label in ANSWER_LABELS.items():
        value = answers.get(key)
        if value:
            lines.append((str(label), str(CHOICE_LABELS.get(key, {}).get(value, value))))
    return lines


def _summary_page(target: Target, form, chosen, answers, extra=(), status=200):
    place, item, problem_ = chosen
    return _page(
        "summary.html", target, status, form=form, place=place, item=item, problem=problem_,
        answers=_answer_lines(answers), who_pays=responsibility_label(problem_.responsibility),
        safety=problem_.safety_advice.get(_locale()) if problem_.safety_advice else None,
        deadline=_deadline(problem_.deadline_hours, problem_.priority),
        max_description=MAX_DESCRIPTION, max_photos=MAX_PHOTOS, extra=list(extra))


@bp.route("/new/<kind>/<int:target_id>/summary")
@caretaker_required
def summary(kind: str, target_id: int):
    """Step 5: safety first, who pays and why; describe, add photos, confirm."""
    target = _target(kind, target_id)
    draft = _draft(target)
    chosen = _chosen(target, draft)
    if chosen is None or not draft.get("answers"):
        return redirect(target.url(".start"))
    token = draft.get("token")
    if not isinstance(token, str):
        token = _save_draft(target, token=secrets.token_urlsafe(18))["token"]
    answers = draft["answers"]
    form = ConfirmForm(data={"place": chosen[0].id, "equipment": chosen[1].id,
                             "problem": chosen[2].id, "token": token,
                             **{key: answers.get(key, "") for key in ANSWER_LABELS}})
    return _summary_page(target, form, chosen, answers)


@bp.route("/new/<kind>/<int:target_id>/confirm", methods=["POST"])
@caretaker_required
def confirm(kind: str, target_id: int):
    """Files the claim (channel: caretaker); the same confirmation twice files it once."""
    from plugins.claims.workflow import file_claim

    try:
        target = _target(kind, target_id)
    except NotFound:
        # Not (or no longer) one of the caretaker's buildings: said plainly, nothing written.
        return _home_page(status=404, extra=[_(
            "This tenant or building is not in your buildings: nothing was recorded.")])
    form = ConfirmForm()
    answers = {key: form[key].data for key in ANSWER_LABELS if form[key].data}
    chosen = _chosen(target, {"place": form.place.data, "equipment": form.equipment.data,
                              "problem": form.problem.data})
    if not form.validate():  # the CSRF token: the form expired. Nothing is written.
        if chosen is None:
            return start(kind, target_id, status=400,
                         message=_("Your form has expired. Please try again."))
        return _summary_page(target, form, chosen, answers, status=400)
    replayed = db.session.scalar(visible_claims(current_user).where(
        Claim.idempotency_token == form.token.data, Claim.filed_by_id == current_user.id))
    if replayed is not None:
        # A double tap, or the back button and confirm again: said, and nothing filed twice.
        return _claim_page(replayed, status=409, extra=[_(
            "This claim was already recorded as %(reference)s: it was not filed a second "
            "time.", reference=replayed.reference)])
    photos = [photo for photo in request.files.getlist("photos") if photo and photo.filename]
    # End the look-ups' transaction, which holds SQLite's write lock in a POST: the photos
    # are re-encoded before file_claim takes it again (workflow.prepare_photos).
    db.session.commit()
    try:
        filed = file_claim(current_user._get_current_object(), place_id=form.place.data,
                           equipment_id=form.equipment.data, problem_id=form.problem.data,
                           description=form.description.data, answers=answers,
                           idempotency_token=form.token.data, photos=photos,
                           channel=FilingChannel.CARETAKER.value, **target.filing_fields())
    except ClaimInvalid as invalid:
        db.session.rollback()
        labels = {f"answers.{key}": label for key, label in ANSWER_LABELS.items()}
        messages = {key: (f"{labels[key]} {message}" if key in labels else message)
                    for key, message in invalid.errors.items()}
        extra = _add_errors(form, messages)
        if chosen is None:
            return start(kind, target_id, message=" ".join(extra) or str(invalid), status=400)
        return _summary_page(target, form, chosen, answers, extra=extra, status=400)
    except ClaimError as refused:
        db.session.rollback()
        return start(kind, target_id, message=str(refused), status=403)
    session.pop(DRAFT_KEY, None)
    flash(_("Claim %(reference)s recorded.", reference=filed.reference), "success")
    return redirect(url_for(".claim", claim_id=filed.id), code=303)


def open_claims_count(user) -> int:
    """The open claims of a caretaker's buildings (the back office's widget)."""
    return db.session.scalar(select(func.count(Claim.id)).where(
        and_(claims_visible_to(user), Claim.status.in_(OPEN_STATUSES))))
