"""Tenant pages: report a problem step by step, read the receipt, follow one's claims.

Each step of the guided entry is its own page, reached by a plain link that carries the
choice in its address (where → equipment → problem), so that it works without JavaScript,
with the back button and with a screen reader. The choices and answers made so far are kept in
the session (``claims_draft``: catalogue ids and short answers, small enough for the signed
cookie), so a tenant who leaves the page finds their report where they left it. The
description and the photos are sent once, with the confirmation, which carries every choice
again: it files the claim on its own, and its idempotency token makes a second sending of the
same confirmation return the claim already filed.
"""
from __future__ import annotations

import secrets

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
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import (
    HiddenField,
    MultipleFileField,
    RadioField,
    SelectChoice,
    StringField,
    TextAreaField,
)

from core.extensions import db
from core.web.access import tenant_required
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
from plugins.claims.models import Claim, EventKind
from plugins.claims.queries import visible_claims
from plugins.claims.wording import next_steps, responsibility_label, status_label

bp = Blueprint("claims_portal", __name__, url_prefix="/portal/claims",
               template_folder="../templates", static_folder=str(PACKAGE_DIR / "static"),
               static_url_path="/static")

DRAFT_KEY = "claims_draft"

ANSWER_LABELS = {
    "since": _l("Since when?"),
    "urgency": _l("How urgent is it?"),
    "access": _l("How can the technician get in?"),
    "availability": _l("When are you available?"),
}
CHOICE_LABELS = {
    "since": {"today": _l("Since today"), "this_week": _l("Since this week"),
              "this_month": _l("Since this month"), "longer": _l("For longer")},
    "urgency": {"cannot_wait": _l("It cannot wait: I cannot use my home normally"),
                "within_days": _l("Within a few days"),
                "can_wait": _l("It can wait a little")},
    "access": {"present": _l("I will be there to open the door"),
               "keys_with_caretaker": _l("The caretaker has my keys"),
               "free_access": _l("No need to enter my home (free access)")},
}


def _choices(question):
    return [SelectChoice(value, CHOICE_LABELS[question][value])
            for value in ANSWER_CHOICES[question]]


class QuestionsForm(FlaskForm):
    """The questions of step 4; checked by :func:`plugins.claims.filing.check_answers`."""

    since = RadioField(ANSWER_LABELS["since"], choices=_choices("since"), validate_choice=False)
    urgency = RadioField(ANSWER_LABELS["urgency"], choices=_choices("urgency"),
                         validate_choice=False)
    access = RadioField(ANSWER_LABELS["access"], choices=_choices("access"),
                        validate_choice=False)
    availability = StringField(ANSWER_LABELS["availability"])


class ConfirmForm(FlaskForm):
    """The last step: every choice again (hidden), the description, the photos, the token."""

    place = HiddenField()
    equipment = HiddenField()
    problem = HiddenField()
    since = HiddenField()
    urgency = HiddenField()
    access = HiddenField()
    availability = HiddenField()
    token = HiddenField()
    description = TextAreaField(_l("Describe the problem"))
    photos = MultipleFileField(_l("Photos (optional, %(num)d at most)", num=MAX_PHOTOS))


# -- the draft -------------------------------------------------------------------------------

def _draft() -> dict:
    draft = session.get(DRAFT_KEY)
    return dict(draft) if isinstance(draft, dict) else {}


def _save_draft(**values) -> dict:
    draft = _draft()
    draft.update(values)
    session[DRAFT_KEY] = draft
    return draft


def _locale() -> str:
    return str(get_locale() or "fr")


def _label(item) -> str:
    return item.label.get(_locale())


def _pictogram_url(name: str | None) -> str | None:
    return url_for(".static", filename=f"pictograms/{name}") if name else None


def _entries(items, url) -> list[dict]:
    """Pictogram links for the templates: label, picture, address."""
    return [{"label": _label(item), "pictogram": _pictogram_url(getattr(item, "pictogram", None)),
             "url": url(item)} for item in items]


def _resume_url(draft: dict) -> str | None:
    """The furthest step of an unfinished report, or None."""
    catalogue = configured_catalogue()
    try:
        place = catalogue.place(draft["place"])
    except (KeyError, TypeError):
        return None
    try:
        equipment = catalogue.equipment_item(draft["equipment"])
        problem = catalogue.problem(draft["problem"])
    except (KeyError, TypeError):
        equipment = problem = None
    if problem is not None and problem.equipment == equipment.id and \
            place.id in equipment.places:
        if draft.get("answers"):
            return url_for(".summary")
        return url_for(".questions", place_id=place.id, equipment_id=equipment.id,
                       problem_id=problem.id)
    return url_for(".equipment", place_id=place.id)


# -- steps -----------------------------------------------------------------------------------

@bp.route("/new")
@tenant_required
def start(message=None, status=200):
    """Step 1: where is the problem? The home's rooms first, then the common parts."""
    catalogue = configured_catalogue()
    def url(place):
        return url_for(".equipment", place_id=place.id)

    groups = [(_("In your home"), _entries(catalogue.places_in(Scope.DWELLING), url)),
              (_("In the common parts of the building"),
               _entries(catalogue.places_in(Scope.COMMON), url))]
    return render_template("claims/portal/where.html", groups=groups,
                           resume=_resume_url(_draft()),
                           extra=[message] if message else []), status


@bp.route("/new/<place_id>")
@tenant_required
def equipment(place_id, message=None, status=200):
    """Step 2: which equipment, as big pictograms."""
    catalogue = configured_catalogue()
    try:
        place = catalogue.place(place_id)
    except KeyError:
        return start(message=_("This place is not in the list: choose one below."), status=404)
    draft = _draft()
    if draft.get("place") != place.id:
        session[DRAFT_KEY] = {"place": place.id}
    entries = _entries(catalogue.equipment_in(place.id), lambda item: url_for(
        ".problem", place_id=place.id, equipment_id=item.id))
    return render_template("claims/portal/equipment.html", place=place, label=_label,
                           entries=entries, extra=[message] if message else []), status


def _place_and_equipment(place_id, equipment_id):
    """The place and equipment of the address, or the page to show instead (a 404)."""
    catalogue = configured_catalogue()
    try:
        place = catalogue.place(place_id)
    except KeyError:
        return None, None, start(message=_("This place is not in the list: choose one below."),
                                 status=404)
    try:
        item = catalogue.equipment_item(equipment_id)
    except KeyError:
        item = None
    if item is None or place.id not in item.places:
        return None, None, equipment(
            place.id, message=_("This equipment is not found in the place you chose: choose "
                                "one below."), status=404)
    return place, item, None


@bp.route("/new/<place_id>/<equipment_id>")
@tenant_required
def problem(place_id, equipment_id, message=None, status=200):
    """Step 3: what is wrong."""
    place, item, instead = _place_and_equipment(place_id, equipment_id)
    if instead is not None:
        return instead
    draft = _draft()
    if draft.get("place") != place.id or draft.get("equipment") != item.id:
        session[DRAFT_KEY] = {"place": place.id, "equipment": item.id}
    return render_template("claims/portal/problem.html", place=place, item=item,
                           problems=configured_catalogue().problems_of(item.id), label=_label,
                           pictogram=_pictogram_url,
                           extra=[message] if message else []), status


@bp.route("/new/<place_id>/<equipment_id>/<problem_id>", methods=["GET", "POST"])
@tenant_required
def questions(place_id, equipment_id, problem_id):
    """Step 4: since when, how urgent, access and availability."""
    place, item, instead = _place_and_equipment(place_id, equipment_id)
    if instead is not None:
        return instead
    try:
        chosen = configured_catalogue().problem(problem_id)
    except KeyError:
        chosen = None
    if chosen is None or chosen.equipment != item.id:
        return problem(place.id, item.id, status=404,
                       message=_("This problem does not belong to the chosen equipment: choose "
                                 "one below."))
    draft = _draft()
    same = (draft.get("place"), draft.get("equipment"), draft.get("problem")) == \
        (place.id, item.id, chosen.id)
    if not same:
        draft = {"place": place.id, "equipment": item.id, "problem": chosen.id}
        session[DRAFT_KEY] = draft
    form = QuestionsForm(data=draft.get("answers") or {})
    if request.method == "POST" and form.validate():
        errors: dict[str, str] = {}
        answers = check_answers({key: form[key].data for key in ANSWER_LABELS}, errors)
        if not errors:
            _save_draft(answers=answers)
            return redirect(url_for(".summary"))
        _add_errors(form, {key.removeprefix("answers."): message
                           for key, message in errors.items()})
    return render_template("claims/portal/questions.html", form=form, place=place, item=item,
                           problem=chosen, label=_label, pictogram=_pictogram_url,
                           max_free=MAX_FREE_ANSWER), 400 if form.errors else 200


def _add_errors(form, errors: dict) -> list[str]:
    """Put each message on its field; return those without a field of the form."""
    unplaced = []
    for name, message in errors.items():
        if name in form and name != "csrf_token" and not isinstance(form[name], HiddenField):
            form[name].errors = [*form[name].errors, message]
        else:
            unplaced.append(message)
    form._errors = None  # recomputed from the fields
    return unplaced


def _chosen(draft: dict):
    catalogue = configured_catalogue()
    try:
        place = catalogue.place(draft["place"])
        item = catalogue.equipment_item(draft["equipment"])
        chosen = catalogue.problem(draft["problem"])
    except (KeyError, TypeError):
        return None
    if chosen.equipment != item.id or place.id not in item.places:
        return None
    return place, item, chosen


def _deadline(hours: float, priority) -> str:
    """The deadline in the tenant's words, on the landlord's business calendar."""
    from plugins.claims.business_hours import deadline_words

    return deadline_words(hours, getattr(priority, "value", priority))


def _answer_lines(answers: dict) -> list[tuple[str, str]]:
    lines = []
    for key, label in ANSWER_LABELS.items():
        value = answers.get(key)
        if value:
            shown = CHOICE_LABELS.get(key, {}).get(value, value)
            lines.append((str(label), str(shown)))
    return lines


def _summary_page(form, chosen, answers, extra=(), status=200):
    place, item, problem_ = chosen
    return render_template(
        "claims/portal/summary.html", form=form, place=place, item=item, problem=problem_,
        label=_label, pictogram=_pictogram_url, answers=_answer_lines(answers),
        who_pays=responsibility_label(problem_.responsibility),
        safety=problem_.safety_advice.get(_locale()) if problem_.safety_advice else None,
        deadline=_deadline(problem_.deadline_hours, problem_.priority),
        steps=next_steps(problem_.responsibility), max_description=MAX_DESCRIPTION,
        max_photos=MAX_PHOTOS, extra=list(extra)), status


@bp.route("/new/summary")
@tenant_required
def summary():
    """Step 5: safety first, who pays and why, what happens next; describe, add photos,
    confirm."""
    draft = _draft()
    chosen = _chosen(draft)
    if chosen is None or not draft.get("answers"):
        return redirect(_resume_url(draft) or url_for(".start"))
    token = draft.get("token")
    if not isinstance(token, str):
        token = _save_draft(token=secrets.token_urlsafe(18))["token"]
    answers = draft["answers"]
    form = ConfirmForm(data={"place": chosen[0].id, "equipment": chosen[1].id,
                             "problem": chosen[2].id, "token": token,
                             **{key: answers.get(key, "") for key in ANSWER_LABELS}})
    return _summary_page(form, chosen, answers)


@bp.route("/new/confirm", methods=["POST"])
@tenant_required
def confirm():
    """Files the claim; the same confirmation sent twice leads to the same receipt."""
    from plugins.claims.workflow import file_claim

    form = ConfirmForm()
    answers = {key: form[key].data for key in ANSWER_LABELS if form[key].data}
    draft_like = {"place": form.place.data, "equipment": form.equipment.data,
                  "problem": form.problem.data}
    chosen = _chosen(draft_like)
    if not form.validate():
        # The CSRF token: the form expired. Nothing is written.
        if chosen is None:
            return start(message=_("Your form has expired. Please try again."), status=400)
        return _summary_page(form, chosen, answers, status=400)
    photos = [photo for photo in request.files.getlist("photos") if photo and photo.filename]
    # The transaction that loaded the user holds SQLite's write lock (a POST): end it, so
    # that the photos are re-encoded before file_claim's own transaction takes the lock.
    db.session.commit()
    try:
        claim = file_claim(current_user._get_current_object(), place_id=form.place.data,
                           equipment_id=form.equipment.data, problem_id=form.problem.data,
                           description=form.description.data, answers=answers,
                           idempotency_token=form.token.data, photos=photos)
    except ClaimInvalid as invalid:
        db.session.rollback()
        labels = {f"answers.{key}": label for key, label in ANSWER_LABELS.items()}
        messages = {key: (f"{labels[key]} {message}" if key in labels else message)
                    for key, message in invalid.errors.items()}
        extra = _add_errors(form, messages)
        if chosen is None:
            return start(message=" ".join(extra) or str(invalid), status=400)
        return _summary_page(form, chosen, answers, extra=extra, status=400)
    except ClaimError as refused:
        db.session.rollback()
        if chosen is None:
            return start(message=str(refused), status=403)
        return _summary_page(form, chosen, answers, extra=[str(refused)], status=403)
    session.pop(DRAFT_KEY, None)
    return redirect(url_for(".receipt", claim_id=claim.id), code=303)


# -- after filing ----------------------------------------------------------------------------

def _own_claim(claim_id: int) -> Claim:
    claim = db.session.scalar(visible_claims(current_user).where(Claim.id == claim_id))
    if claim is None:
        abort(404)
    return claim


@bp.route("/<int:claim_id>/receipt")
@tenant_required
def receipt(claim_id):
    """The receipt: the reference to quote, who pays, by when, what happens next."""
    claim = _own_claim(claim_id)
    return render_template("claims/portal/receipt.html", claim=claim, locale=_locale(),
                           who_pays=responsibility_label(claim.responsibility),
                           deadline=_deadline(claim.deadline_hours, claim.priority),
                           steps=next_steps(claim.responsibility))


@bp.route("/")
@tenant_required
def my_claims():
    """The household's claims, newest first, each with its status and when it last changed."""
    claims = db.session.scalars(visible_claims(current_user).order_by(
        Claim.created_at.desc(), Claim.id.desc())).all()
    return render_template("claims/portal/list.html", claims=claims, locale=_locale(),
                           status_label=status_label, resume=_resume_url(_draft()))


# -- following a claim -----------------------------------------------------------------------

class InformationForm(FlaskForm):
    """Something to add once the claim is filed: a text, photos, or both."""

    text = TextAreaField(_l("What would you like to add?"))
    photos = MultipleFileField(_l("Photos"))


class CancelForm(FlaskForm):
    """The confirmation of a cancellation; ``seen`` is the status the tenant was shown."""

    seen = HiddenField()
    reason = TextAreaField(_l("Why do you cancel it? (optional)"))


SCORE_LABELS = {1: _l("1 – Very dissatisfied"), 2: _l("2 – Dissatisfied"),
                3: _l("3 – Neither satisfied nor dissatisfied"), 4: _l("4 – Satisfied"),
                5: _l("5 – Very satisfied")}


class RatingForm(FlaskForm):
    score = RadioField(_l("How satisfied are you with the repair?"),
                       choices=[SelectChoice(str(n), label) for n, label in SCORE_LABELS.items()],
                       validate_choice=False)
    comment = TextAreaField(_l("Your comment (optional)"))


def _photos(claim: Claim) -> list:
    """The claim's photos, as the core's attachment view will serve them to this user."""
    from core.attachments import Attachment, visible_attachments
    from plugins.claims.models import PHOTO_OWNER_TYPE

    return list(db.session.scalars(visible_attachments(current_user).where(
        Attachment.owner_type == PHOTO_OWNER_TYPE, Attachment.owner_id == claim.id)
        .order_by(Attachment.id)))


def _claim_page(claim: Claim, *, information=None, rating=None, extra=(), status=200):
    """The claim's page; a form sent back with its errors replaces the empty one."""
    from plugins.claims import tracking

    photos = _photos(claim)
    since = next((event.at for event in reversed(claim.events)
                  if event.kind is EventKind.STATUS), claim.created_at)
    return render_template(
        "claims/portal/detail.html", claim=claim, locale=_locale(), status_label=status_label,
        who_pays=responsibility_label(claim.responsibility),
        answers=_answer_lines(claim.answers or {}), steps=tracking.progress(claim),
        status_since=since,
        timeline=tracking.public_timeline(claim), photos=photos,
        photos_left=max(MAX_PHOTOS - len(photos), 0),
        information=information or InformationForm(formdata=None),
        rating=rating or RatingForm(formdata=None),
        can_add=tracking.can_add_information(claim), can_cancel=tracking.can_cancel(claim),
        can_rate=tracking.can_rate(claim), max_information=tracking.MAX_INFORMATION,
        max_comment=tracking.MAX_COMMENT, failed=information or rating,
        extra=list(extra)), status


def _refused(error) -> int:
    """The answer's status for a refused request: not found, bad input, or not now."""
    from plugins.claims.workflow import ClaimConflict, ClaimNotFound, IllegalTransition

    if isinstance(error, ClaimNotFound):
        return 404
    if isinstance(error, ClaimInvalid):
        return 400
    if isinstance(error, (IllegalTransition, ClaimConflict)):
        return 409
    return 403


def _sent_back(claim_id: int, form, error: ClaimError, **page):
    """The claim's page again, the refusal's messages next to the fields they concern."""
    db.session.rollback()
    code = _refused(error)
    if code == 404:
        abort(404)
    claim = _own_claim(claim_id)
    if isinstance(error, ClaimInvalid):
        extra = _add_errors(form, error.errors)
    else:
        extra = [str(error)]
    return _claim_page(claim, extra=extra, status=code, **page)


@bp.route("/<int:claim_id>")
@tenant_required
def detail(claim_id):
    """One claim: where it stands (a stepper), its public history, its photos, and what the
    household can do now: add information or photos, cancel it, rate the repair."""
    return _claim_page(_own_claim(claim_id))


@bp.route("/<int:claim_id>/information", methods=["POST"])
@tenant_required
def add_information(claim_id):
    """Adds a text and/or photos to the claim, then shows it again."""
    from plugins.claims import tracking

    claim = _own_claim(claim_id)
    form = InformationForm()
    if not form.validate():
        return _claim_page(claim, information=form, status=400)
    photos = [photo for photo in request.files.getlist("photos") if photo and photo.filename]
    db.session.commit()  # end the look-ups' transaction: photos are re-encoded unlocked
    try:
        tracking.add_information(claim.id, current_user._get_current_object(),
                                 form.text.data or "", photos)
    except ClaimError as error:
        return _sent_back(claim_id, form, error, information=form)
    flash(_("Thank you: your information was added to the claim."), "success")
    return redirect(url_for(".detail", claim_id=claim_id, _anchor="history-title"), code=303)


def _cancel_page(claim: Claim, form: CancelForm, extra=(), status=200):
    from plugins.claims.workflow import MAX_REASON

    return render_template("claims/portal/cancel.html", claim=claim, form=form,
                           status_label=status_label, locale=_locale(),
                           max_reason=MAX_REASON, extra=list(extra)), status


@bp.route("/<int:claim_id>/cancel", methods=["GET", "POST"])
@tenant_required
def cancel(claim_id):
    """Asks to confirm the cancellation (GET), then cancels (POST)."""
    from plugins.claims import tracking
    from plugins.claims.models import Status

    claim = _own_claim(claim_id)
    if request.method == "GET":
        if not tracking.can_cancel(claim):
            return _claim_page(claim, status=409, extra=[
                _("This claim is “%(status)s”: it can no longer be cancelled.",
                  status=status_label(claim.status))])
        return _cancel_page(claim, CancelForm(seen=claim.status.value))
    form = CancelForm()
    if not form.validate():
        return _cancel_page(claim, form, status=400)
    seen = form.seen.data if form.seen.data in {s.value for s in Status} else None
    try:
        tracking.cancel(claim.id, current_user._get_current_object(), form.reason.data or "",
                        expected_status=seen)
    except ClaimInvalid as invalid:
        db.session.rollback()
        extra = _add_errors(form, invalid.errors)
        return _cancel_page(_own_claim(claim_id), form, extra=extra, status=400)
    except ClaimError as error:
        return _sent_back(claim_id, form, error)
    flash(_("Your claim is cancelled."), "success")
    return redirect(url_for(".detail", claim_id=claim_id), code=303)


@bp.route("/<int:claim_id>/rating", methods=["POST"])
@tenant_required
def rate(claim_id):
    """Records the household's rating of the repair (once)."""
    from plugins.claims import tracking

    claim = _own_claim(claim_id)
    form = RatingForm()
    if not form.validate():
        return _claim_page(claim, rating=form, status=400)
    try:
        tracking.rate(claim.id, current_user._get_current_object(), form.score.data,
                      form.comment.data or "")
    except ClaimError as error:
        return _sent_back(claim_id, form, error, rating=form)
    flash(_("Thank you for your rating."), "success")
    return redirect(url_for(".detail", claim_id=claim_id), code=303)
