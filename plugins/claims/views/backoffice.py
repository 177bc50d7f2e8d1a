"""Staff pages for claims (back office): the queue, its CSV export, a claim's page with every
action an agent takes on it, and bulk changes.

Every page selects claims through :func:`plugins.claims.queries.claims_visible_to` (the queue
through :mod:`plugins.claims.queue`, actions through :mod:`plugins.claims.handling` and
:mod:`plugins.claims.workflow`): an agent of one agency who types the number of another
agency's claim gets the same 404 as for a claim that does not exist.

The queue's filters are read from the query string with fixed names (``status`` repeatable,
``agency``, ``building``, ``trade``, ``responsibility``, ``age``, ``breached=1``,
``incident=yes|no``, ``q``, ``sort``, ``page``), so that a filtered queue is a link one can
bookmark or send to a colleague.
"""
from __future__ import annotations

import csv
import io
from datetime import datetime

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import format_datetime, get_locale, get_timezone
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import (
    DateTimeLocalField,
    HiddenField,
    IntegerField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import AnyOf, Length, NumberRange, Optional

from core import audit
from core.accounts import Role, User, utcnow
from core.attachments import Attachment
from core.db import writes
from core.estate import Agency, Building, Residence
from core.extensions import db
from core.web.access import permission_required
from core.web.forms import SearchForm
from plugins.claims.catalogue import Responsibility
from plugins.claims.filing import ClaimError, ClaimForbidden, ClaimInvalid, configured_catalogue
from plugins.claims.handling import (
    add_note,
    bulk_change,
    override_responsibility,
    post_message,
)
from plugins.claims.models import PHOTO_OWNER_TYPE, Claim, EventKind, Status
from plugins.claims.queries import visible_claims
from plugins.claims.queue import (
    DEFAULT_SORT,
    SORTS,
    QueueFilters,
    export_batch,
    export_select,
    is_breached,
    queue_rows,
    sort_key,
)
from plugins.claims.views.portal import ANSWER_LABELS, CHOICE_LABELS
from plugins.claims.wording import RESPONSIBILITY_LABELS, STATUS_LABELS, status_label
from plugins.claims.workflow import (
    HANDLE_PERMISSION,
    MAX_MESSAGE,
    MAX_NOTE,
    MAX_REASON,
    NEEDS_DATE,
    NEEDS_REASON,
    ClaimConflict,
    ClaimNotFound,
    IllegalTransition,
    allowed_next,
    change_status,
)

bp = Blueprint("claims_backoffice", __name__, url_prefix="/backoffice/claims",
               template_folder="../templates")

TEMPLATES = "claims/backoffice/"
# The buildings offered in the filter; past this many, the agency narrows them first.
MAX_BUILDING_CHOICES = 2000
# Claims read per batch of the CSV export.
EXPORT_BATCH = 500
# Cells a spreadsheet would read as a formula (CSV injection): prefixed with an apostrophe.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

EVENT_TITLES = {
    EventKind.MESSAGE: _l("Message to the tenant"),
    EventKind.NOTE: _l("Internal note"),
    EventKind.RESPONSIBILITY: _l("Who pays was changed"),
    EventKind.INFORMATION: _l("The tenant added information"),
    EventKind.RATING: _l("The tenant rated the resolution"),
    EventKind.INCIDENT: _l("Collective incident"),
}


def _locale() -> str:
    return str(get_locale() or "fr")


def _user() -> User:
    return current_user._get_current_object()


# -- the queue -------------------------------------------------------------------------------

def _optional_int(value):
    if value in (None, ""):
        return None
    return int(value)


class QueueFilterForm(SearchForm):
    """The queue's filters, read from the query string (the names are part of the API)."""

    status = SelectMultipleField(_l("Status"), choices=[
        SelectChoice(status.value, STATUS_LABELS[status]) for status in Status])
    agency = SelectField(_l("Agency"), coerce=_optional_int, validate_choice=False)
    building = SelectField(_l("Building"), coerce=_optional_int, validate_choice=False)
    trade = SelectField(_l("Trade"), default="")
    responsibility = SelectField(_l("Who pays"), default="", choices=[
        SelectChoice("", _l("Anyone")),
        *(SelectChoice(r.value, RESPONSIBILITY_LABELS[r]) for r in Responsibility)])
    age = IntegerField(_l("Filed at least … days ago"), validators=[
        Optional(), NumberRange(min=0, max=36500, message=_l("Enter a number of days."))])
    breached = StringField(_l("Past their deadline only"), validators=[
        Optional(), AnyOf(["1", "0"], message=_l("Tick the box or leave it empty."))])
    incident = SelectField(_l("Collective incident"), default="", choices=[
        SelectChoice("", _l("With or without")),
        SelectChoice("yes", _l("Part of a collective incident")),
        SelectChoice("no", _l("Not part of one"))])
    q = StringField(_l("Claim reference"), validators=[Optional(), Length(max=40)])
    sort = StringField(_l("Sort"), validators=[
        Optional(), AnyOf(list(SORTS), message=_l("This sort does not exist."))])
    page = IntegerField(_l("Page"), default=1, validators=[
        Optional(), NumberRange(min=1, max=100000, message=_l("This page does not exist."))])

    def __init__(self, user, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.trade.choices = [SelectChoice("", _l("Any trade")), *_trades()]
        self.show_agencies = may_choose_agency(user)
        agencies = db.session.execute(select(Agency.id, Agency.name).order_by(Agency.name)) \
            .all() if self.show_agencies else []
        self.agency.choices = [SelectChoice("", _l("Every agency")),
                               *(SelectChoice(ident, name) for ident, name in agencies)]
        self.building.choices = [SelectChoice("", _l("Every building")),
                                 *_buildings(user, self)]

    def filters(self) -> QueueFilters:
        return QueueFilters(
            statuses=tuple(Status(value) for value in self.status.data or ()),
            agency_id=self.agency.data if self.show_agencies else None,
            building_id=self.building.data, trade=self.trade.data or None,
            responsibility=self.responsibility.data or None, min_age_days=self.age.data,
            breached=self.breached.data == "1",
            in_incident={"yes": True, "no": False}.get(self.incident.data),
            reference=(self.q.data or "").strip())


def may_choose_agency(user) -> bool:
    """Managers and administrators (and agents of no agency, who see every agency's claims)
    filter by agency; an agency's agents see theirs only, and are not shown the others."""
    return user.role in (Role.MANAGER, Role.ADMIN) or (
        user.role is Role.AGENT and user.agency_id is None)


def _buildings(user, form) -> list[SelectChoice]:
    query = select(Building.id, Residence.name, Building.name).join(Residence)
    if not may_choose_agency(user):
        if user.agency_id is None:
            return []
        query = query.where(Residence.agency_id == user.agency_id)
    else:
        try:
            agency = _optional_int(form.agency.raw_data[0]) if form.agency.raw_data else None
        except ValueError:
            agency = None
        if agency is not None:
            query = query.where(Residence.agency_id == agency)
    rows = db.session.execute(query.order_by(Residence.name, Building.name, Building.id)
                              .limit(MAX_BUILDING_CHOICES)).all()
    return [SelectChoice(ident, f"{residence} — {building}")
            for ident, residence, building in rows]


def _trades() -> list[SelectChoice]:
    return [SelectChoice(trade.id, trade.label.get(_locale()))
            for trade in configured_catalogue().trades]


def _current_args(form: QueueFilterForm, **changes) -> dict:
    """The query string of the queue as shown, with ``changes`` (a page, a sort)."""
    args = {"status": list(form.status.data or []), "agency": form.agency.data,
            "building": form.building.data, "trade": form.trade.data,
            "responsibility": form.responsibility.data, "age": form.age.data,
            "breached": form.breached.data, "incident": form.incident.data, "q": form.q.data,
            "sort": form.sort.data}
    args.update(changes)
    return {key: value for key, value in args.items() if value not in (None, "", [])}


def _sort_links(form: QueueFilterForm) -> dict:
    """For the "filed" and "deadline" headers: the link that sorts by it (reversing the
    current sort) and its ``aria-sort``."""
    current = form.sort.data or DEFAULT_SORT
    links = {}
    for column, name in (("created", "created"), ("due", "due")):
        if current == name:
            state, target = "ascending", f"-{name}"
        elif current == f"-{name}":
            state, target = "descending", name
        else:
            state, target = None, name
        links[column] = {"url": url_for(".queue", **_current_args(form, sort=target, page=None)),
                         "aria_sort": state}
    return links


@bp.route("/")
@permission_required(HANDLE_PERMISSION)
def queue():
    """The agents' queue (file des réclamations): filters, sorting, pages, bulk changes."""
    user = _user()
    form = QueueFilterForm(user, request.args)
    if not form.validate():
        return render_template(TEMPLATES + "queue.html", form=form, rows=[], page=1,
                               more=False, now=utcnow(), sort_links=_sort_links(form),
                               args={}, bulk=BulkForm(), locale=_locale(),
                               status_label=status_label, who_pays=_who_pays), 400
    page = form.page.data or 1
    now = utcnow()
    rows, more = queue_rows(user, form.filters(), form.sort.data or DEFAULT_SORT, page=page,
                            per_page=current_app.config["CLAIMS_QUEUE_PAGE_SIZE"], now=now)
    return render_template(TEMPLATES + "queue.html", form=form, rows=rows, page=page,
                           more=more, now=now, sort_links=_sort_links(form),
                           args=_current_args(form), bulk=BulkForm(), locale=_locale(),
                           status_label=status_label, who_pays=_who_pays)


def _who_pays(responsibility: str) -> str:
    try:
        return str(RESPONSIBILITY_LABELS[Responsibility(responsibility)])
    except ValueError:
        return responsibility


# -- CSV export ------------------------------------------------------------------------------

def neutralise(value) -> str:
    """A cell as text, made inert for spreadsheets: one starting like a formula (``=``,
    ``+``, ``-``, ``@``, tab, carriage return) gets a leading apostrophe (OWASP's advice)."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _local(moment: datetime | None) -> str:
    return format_datetime(moment, "yyyy-MM-dd HH:mm") if moment is not None else ""


@bp.route("/export.csv")
@permission_required(HANDLE_PERMISSION)
@writes  # the audit record of the export
def export_csv():
    """The queue as filtered, every page of it, as CSV for French Excel: UTF-8 with a byte
    order mark, ``;`` between cells. Streamed in batches, so a large queue never sits in
    memory nor holds a transaction open while it downloads."""
    user = _user()
    form = QueueFilterForm(user, request.args)
    if not form.validate():
        return render_template(TEMPLATES + "queue.html", form=form, rows=[], page=1,
                               more=False, now=utcnow(), sort_links=_sort_links(form),
                               args={}, bulk=BulkForm(), locale=_locale(),
                               status_label=status_label, who_pays=_who_pays), 400
    filters, sort = form.filters(), form.sort.data or DEFAULT_SORT
    audit.record("export", detail={"what": "claims", "filters": _current_args(form)})
    db.session.commit()
    locale, now = _locale(), utcnow()
    header = [_("Reference"), _("Filed"), _("Place"), _("Equipment"), _("Problem"),
              _("Building"), _("Dwelling"), _("Who pays"), _("Status"), _("Deadline"),
              _("Past the deadline"), _("Trade"), _("Assigned to")]
    # Words in the agent's language, read now: the rows are written after the request.
    yes, no = _("yes"), _("no")
    statuses = {status: status_label(status) for status in Status}
    payers = {payer.value: _who_pays(payer.value) for payer in Responsibility}
    query = export_select(user, filters, sort, now)
    app = current_app._get_current_object()

    def cells(row) -> list[str]:
        claim = row.claim
        return [neutralise(value) for value in (
            claim.reference, _local(claim.created_at), claim.text("place", locale),
            claim.text("equipment", locale), claim.text("problem", locale), row.building,
            row.dwelling or "", payers.get(claim.responsibility, claim.responsibility),
            statuses[claim.status], _local(claim.due_at),
            yes if is_breached(claim, now) else no, claim.text("trade", locale),
            row.assignee or "")]

    def lines():
        # Written as the response is sent, one batch at a time, each read in an application
        # context and a short transaction of its own: nothing is held between two batches,
        # whether the download goes on or is dropped.
        buffer = io.StringIO()
        writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
        writer.writerow(header)
        yield "\ufeff" + buffer.getvalue()
        after = None
        while True:
            buffer.seek(0)
            buffer.truncate()
            with app.app_context():
                batch = export_batch(query, sort, after, EXPORT_BATCH)
                writer.writerows(cells(row) for row in batch)
                if batch:
                    after = sort_key(batch[-1], sort)
                db.session.rollback()  # a read: end it before the next batch
            if not batch:
                return
            yield buffer.getvalue()

    filename = f"claims-{utcnow():%Y%m%d-%H%M}.csv"
    return Response(lines(), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"',
                             "Content-Type": "text/csv; charset=utf-8"})


# -- bulk changes ----------------------------------------------------------------------------

class BulkForm(FlaskForm):
    """Change the claims ticked in the queue: one target status and one public message."""

    to = SelectField(_l("New status"), choices=[
        SelectChoice("", _l("Choose a status")),
        *(SelectChoice(status.value, STATUS_LABELS[status]) for status in Status
          if status not in (Status.SUBMITTED, Status.CANCELLED))])
    public_message = TextAreaField(_l("Message to the tenants (optional)"), validators=[
        Optional(), Length(max=MAX_MESSAGE)])
    reason = StringField(_l("Reason (needed to postpone or reject)"), validators=[
        Optional(), Length(max=MAX_REASON)])
    planned_for = DateTimeLocalField(_l("Date (needed to plan or postpone)"),
                                     validators=[Optional()])
    back = HiddenField()


def _safe_back(value: str | None) -> str:
    """Back to the queue as it was filtered (only an address of the queue itself)."""
    base = url_for(".queue")
    if value and value.startswith(base) and "//" not in value and "\\" not in value:
        return value
    return base


@bp.route("/bulk", methods=["POST"])
@permission_required(HANDLE_PERMISSION)
def bulk():
    """Apply one change to every ticked claim; report how many changed and which were
    refused, and why. Each claim is its own transaction: one refused claim undoes nothing."""
    form = BulkForm()
    back = _safe_back(form.back.data)
    ids = []
    for value in request.form.getlist("claim"):
        try:
            ids.append(int(value))
        except ValueError:
            continue
    errors = []
    if not form.validate():
        errors.append(_("Your form has expired. Please try again.")
                      if "csrf_token" in form.errors else
                      " ".join(message for messages in form.errors.values()
                               for message in messages))
    elif not form.to.data:
        errors.append(_("Choose the new status."))
    if not ids:
        errors.append(_("Tick at least one claim in the queue."))
    if errors:
        return render_template(TEMPLATES + "bulk.html", errors=errors, outcomes=[],
                               back=back), 400
    outcomes = bulk_change(ids, form.to.data, _user(),
                           public_message=form.public_message.data or "",
                           reason=form.reason.data or "",
                           planned_for=_aware(form.planned_for.data))
    return render_template(TEMPLATES + "bulk.html", errors=[], outcomes=outcomes, back=back,
                           target=status_label(form.to.data),
                           done=[o for o in outcomes if o.done],
                           refused=[o for o in outcomes if not o.done])


def _aware(moment: datetime | None) -> datetime | None:
    """A date typed in the landlord's time zone, as an aware datetime (stored in UTC)."""
    if moment is None:
        return None
    return moment.replace(tzinfo=get_timezone())


# -- one claim -------------------------------------------------------------------------------

class StatusForm(FlaskForm):
    """Move the claim to one status (the form's prefix); only the fields that status needs
    are shown."""

    expected_status = HiddenField()
    public_message = TextAreaField(_l("Message to the tenant (optional)"), validators=[
        Optional(), Length(max=MAX_MESSAGE)])
    internal_note = TextAreaField(_l("Internal note (staff only, optional)"), validators=[
        Optional(), Length(max=MAX_NOTE)])
    reason = StringField(_l("Reason (the tenant reads it)"), validators=[
        Optional(), Length(max=MAX_REASON)])
    planned_for = DateTimeLocalField(_l("Date and time"), validators=[Optional()])
    trade = SelectField(_l("Trade"), validate_choice=False)
    technician = SelectField(_l("Technician (optional)"), coerce=_optional_int,
                             validate_choice=False)
    contractor = StringField(_l("Contractor (optional)"), validators=[
        Optional(), Length(max=200)])


class NoteForm(FlaskForm):
    text = TextAreaField(_l("Internal note"), validators=[Length(max=MAX_NOTE)])


class MessageForm(FlaskForm):
    text = TextAreaField(_l("Message to the tenant"), validators=[Length(max=MAX_MESSAGE)])


class ResponsibilityForm(FlaskForm):
    responsibility = SelectField(_l("Who pays"), choices=[
        SelectChoice(r.value, RESPONSIBILITY_LABELS[r]) for r in Responsibility])
    reason = StringField(_l("Reason (the tenant reads it)"), validators=[
        Length(max=MAX_REASON)])
    legal_reference = StringField(_l("Legal reference (optional: empty keeps the current "
                                     "one)"), validators=[Optional(), Length(max=500)])
    public_message = TextAreaField(_l("Message to the tenant (optional)"), validators=[
        Optional(), Length(max=MAX_MESSAGE)])


def _answers(claim: Claim) -> list[tuple[str, str]]:
    """The tenant's answers (since when, how urgent, access, availability), in words."""
    answers = claim.answers or {}
    return [(str(label), str(CHOICE_LABELS.get(key, {}).get(answers[key], answers[key])))
            for key, label in ANSWER_LABELS.items() if answers.get(key)]


def _visible_claim(claim_id: int) -> Claim:
    claim = db.session.scalar(visible_claims(_user()).where(Claim.id == claim_id))
    if claim is None:
        abort(404)
    return claim


def _technicians() -> list[tuple[int, str]]:
    return db.session.execute(
        select(User.id, User.display_name).where(User.role == Role.TECHNICIAN,
                                                 User.active.is_(True))
        .order_by(User.display_name, User.id)).all()


def _status_form(claim: Claim, target: Status, formdata=None) -> StatusForm:
    form = StatusForm(formdata=formdata, prefix=target.value,
                      data={"expected_status": claim.status.value,
                            "trade": claim.assigned_trade or claim.trade})
    form.trade.choices = _trades()
    form.technician.choices = [SelectChoice("", _l("Nobody in particular")),
                               *(SelectChoice(ident, name) for ident, name in _technicians())]
    return form


def _claim_page(claim: Claim, status=200, **forms):
    """The claim's page with its forms; ``forms`` replaces some (a form sent with errors)."""
    targets = sorted(allowed_next(claim.status),
                     key=lambda target: list(Status).index(target))
    status_forms = {target: forms.pop(f"status_{target.value}", None)
                    or _status_form(claim, target) for target in targets}
    note = forms.get("note") or NoteForm(prefix="note")
    message = forms.get("message") or MessageForm(prefix="message")
    responsibility = forms.get("responsibility") or ResponsibilityForm(
        prefix="responsibility", data={"responsibility": claim.responsibility})
    photos = db.session.scalars(select(Attachment).where(
        Attachment.owner_type == PHOTO_OWNER_TYPE, Attachment.owner_id == claim.id)
        .order_by(Attachment.id)).all()
    technician = db.session.get(User, claim.assigned_technician_id) \
        if claim.assigned_technician_id else None
    return render_template(
        TEMPLATES + "claim.html", claim=claim, locale=_locale(), now=utcnow(),
        status_label=status_label, who_pays=_who_pays, event_titles=EVENT_TITLES,
        status_forms=status_forms, needs_date=NEEDS_DATE, needs_reason=NEEDS_REASON,
        note_form=note, message_form=message, responsibility_form=responsibility,
        photos=photos, technician=technician, answers=_answers(claim),
        breached=is_breached(claim, utcnow()),
        original_who_pays=_who_pays(claim.original_responsibility)
        if claim.original_responsibility else None,
        problem_message=forms.get("problem")), status


@bp.route("/<int:claim_id>")
@permission_required(HANDLE_PERMISSION)
def claim(claim_id: int):
    """Everything about one claim for staff, its whole history (internal notes included) and
    the forms to act on it."""
    return _claim_page(_visible_claim(claim_id))[0]


def _put_errors(form, errors: dict, aliases: dict) -> list[str]:
    """Put each message next to its field (``aliases``: the form's name of a field the
    handling function names otherwise); return those that have no field."""
    unplaced = []
    for name, message in errors.items():
        target = aliases.get(name, name)
        if target in form and target != "csrf_token":
            form[target].errors = [*form[target].errors, message]
        else:
            unplaced.append(message)
    form._errors = None
    return unplaced


def _refused(claim_id: int, error: ClaimError, form_name: str, form, aliases=None):
    """The claim's page again, with the reason of the refusal where it belongs."""
    db.session.rollback()
    if isinstance(error, ClaimNotFound):
        abort(404)
    claim = _visible_claim(claim_id)
    if isinstance(error, ClaimInvalid):
        unplaced = _put_errors(form, error.errors, aliases or {})
        return _claim_page(claim, 400, problem=" ".join(unplaced) or None,
                           **{form_name: form})
    code = 409 if isinstance(error, (ClaimConflict, IllegalTransition)) else 403 \
        if isinstance(error, ClaimForbidden) else 400
    return _claim_page(claim, code, problem=str(error), **{form_name: form})


def _expired(claim_id: int, form_name: str, form):
    claim = _visible_claim(claim_id)
    problem = _("Your form has expired. Please try again.") if "csrf_token" in form.errors \
        else None
    return _claim_page(claim, 400, problem=problem, **{form_name: form})


def _done(claim_id: int, message: str):
    flash(message, "success")
    return redirect(url_for(".claim", claim_id=claim_id), code=303)


@bp.route("/<int:claim_id>/status/<to>", methods=["POST"])
@permission_required(HANDLE_PERMISSION)
def change(claim_id: int, to: str):
    """Move the claim to the status ``to``, with what that status needs."""
    claim = _visible_claim(claim_id)
    try:
        target = Status(to)
    except ValueError:
        abort(404)
    form = _status_form(claim, target, formdata=request.form)
    name = f"status_{target.value}"
    if not form.validate():
        return _expired(claim_id, name, form)
    expected = form.expected_status.data or None
    if expected is not None and expected not in {status.value for status in Status}:
        expected = None
    fields = {"public_message": form.public_message.data or "",
              "internal_note": form.internal_note.data or "",
              "reason": form.reason.data or "" if target in NEEDS_REASON else "",
              "planned_for": _aware(form.planned_for.data) if target in NEEDS_DATE else None}
    if target is Status.ASSIGNED:
        fields.update(trade=form.trade.data or None, technician_id=form.technician.data,
                      contractor=form.contractor.data or None)
    db.session.commit()  # the page's read ends here: the change takes its own lock
    try:
        change_status(claim_id, target, actor=_user(), expected_status=expected, **fields)
    except ClaimError as error:
        return _refused(claim_id, error, name, form)
    return _done(claim_id, _("The claim is now “%(status)s”.", status=status_label(target)))


@bp.route("/<int:claim_id>/note", methods=["POST"])
@permission_required(HANDLE_PERMISSION)
def note(claim_id: int):
    """Add an internal note, read by staff only."""
    _visible_claim(claim_id)
    form = NoteForm(prefix="note")
    if not form.validate():
        return _expired(claim_id, "note", form)
    db.session.commit()
    try:
        add_note(claim_id, _user(), form.text.data)
    except ClaimError as error:
        return _refused(claim_id, error, "note", form, {"internal_note": "text"})
    return _done(claim_id, _("Internal note added."))


@bp.route("/<int:claim_id>/message", methods=["POST"])
@permission_required(HANDLE_PERMISSION)
def message(claim_id: int):
    """Write to the tenant without changing the status."""
    _visible_claim(claim_id)
    form = MessageForm(prefix="message")
    if not form.validate():
        return _expired(claim_id, "message", form)
    db.session.commit()
    try:
        post_message(claim_id, _user(), form.text.data)
    except ClaimError as error:
        return _refused(claim_id, error, "message", form, {"public_message": "text"})
    return _done(claim_id, _("Message sent to the tenant."))


@bp.route("/<int:claim_id>/responsibility", methods=["POST"])
@permission_required(HANDLE_PERMISSION)
def responsibility(claim_id: int):
    """Say who pays instead of the catalogue, with the reason the tenant reads."""
    _visible_claim(claim_id)
    form = ResponsibilityForm(prefix="responsibility")
    if not form.validate():
        return _expired(claim_id, "responsibility", form)
    db.session.commit()
    try:
        override_responsibility(claim_id, _user(), form.responsibility.data,
                                form.reason.data, legal_reference=form.legal_reference.data,
                                public_message=form.public_message.data or "")
    except ClaimError as error:
        return _refused(claim_id, error, "responsibility", form)
    return _done(claim_id, _("Who pays was changed; the tenant is told why."))
