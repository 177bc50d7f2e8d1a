"""Back office: the claims catalogue, edited by administrators as versions.

The list of versions says which one is in force; a version's page shows what it changes
compared with the one in force, and activates it after an explicit confirmation. The editor
takes the whole catalogue as TOML text (pre-filled with the one in force) or as an uploaded
file: "Check" shows every problem with its line, or the counts and the changes; "Save" stores
an inactive version. Nothing reaches tenants before an activation (see
:mod:`plugins.claims.catalogue.store`).
"""
from __future__ import annotations

import re
from pathlib import Path

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
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from sqlalchemy import select
from wtforms import BooleanField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from core.accounts import User
from core.extensions import db
from core.web.access import permission_required
from plugins.claims.catalogue import CATALOGUE_FILE, Priority, Scope
from plugins.claims.catalogue.store import (
    MAX_NOTE,
    MAX_SOURCE_BYTES,
    CatalogueRejected,
    VersionNotFound,
    activate,
    active_catalogue,
    active_version,
    catalogue_of,
    check_source,
    diff,
    file_catalogue,
    save_version,
)
from plugins.claims.models import CatalogueVersion
from plugins.claims.wording import responsibility_label

PERMISSION = "claims.catalogue"

bp = Blueprint("claims_catalogue", __name__, url_prefix="/backoffice/claims/catalogue",
               template_folder="../templates")

PRIORITY_LABELS = {
    Priority.EMERGENCY: _l("Emergency"),
    Priority.URGENT: _l("Urgent"),
    Priority.NORMAL: _l("Normal"),
}

# The compared fields of plugins.claims.catalogue.store.COMPARED_FIELDS, as the page names them.
FIELD_LABELS = {
    "wording_fr": _l("Wording (French)"),
    "wording_en": _l("Wording (English)"),
    "equipment": _l("Equipment"),
    "responsibility": _l("Who pays"),
    "legal_reference": _l("Legal reference"),
    "trade": _l("Trade"),
    "priority": _l("Priority"),
    "deadline_hours": _l("Deadline (hours)"),
    "video_diagnosis": _l("Video diagnosis"),
    "safety_fr": _l("Safety advice (French)"),
    "safety_en": _l("Safety advice (English)"),
    "hazards": _l("Hazards"),
}


class EditorForm(FlaskForm):
    source = TextAreaField(_l("Catalogue (TOML)"))
    upload = FileField(_l("Or take the text from a file (.toml)"))
    note = StringField(_l("Note: what changes, and why"), validators=[
        Length(max=MAX_NOTE, message=_l("%(max)d characters at most.", max=MAX_NOTE))])


class ActivateForm(FlaskForm):
    confirm = BooleanField(
        _l("I have read the changes: new claims will be filed against this version."),
        validators=[DataRequired(_l("Tick the box to confirm the activation."))])


def _locale() -> str:
    return str(get_locale() or "fr")


def _text(value) -> str:
    return value.get(_locale()) if value is not None else ""


def _helpers() -> dict:
    return {"text": _text, "responsibility_label": responsibility_label,
            "priority_label": lambda p: str(PRIORITY_LABELS[Priority(p)]),
            "field_label": lambda name: str(FIELD_LABELS.get(name, name))}


def _version_or_404(version_id: int) -> CatalogueVersion:
    row = db.session.get(CatalogueVersion, version_id)
    if row is None:
        abort(404)
    return row


def _authors(rows) -> dict[int, str]:
    ids = {row.created_by_id for row in rows if row.created_by_id}
    if not ids:
        return {}
    return dict(db.session.execute(select(User.id, User.display_name).where(User.id.in_(ids)))
                .all())


def _configured_file() -> str | None:
    """The catalogue file set by CLAIMS_CATALOGUE_FILE, when it is not the shipped one."""
    configured = current_app.config.get("CLAIMS_CATALOGUE_FILE") or ""
    return configured if configured and configured != str(CATALOGUE_FILE) else None


def _active_source() -> str:
    active = active_version()
    if active is not None:
        return active.source
    try:
        return Path(_configured_file() or CATALOGUE_FILE).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return ""


def _toml(text: str, filename: str) -> Response:
    filename = re.sub(r"[^A-Za-z0-9._+-]", "_", filename)
    return Response(text, mimetype="application/toml",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"',
                             "X-Content-Type-Options": "nosniff"})


# -- pages -------------------------------------------------------------------------------------

@bp.route("/")
@permission_required(PERMISSION)
def index():
    """The versions, newest first, and the one in force."""
    rows = db.session.scalars(select(CatalogueVersion).order_by(
        CatalogueVersion.created_at.desc(), CatalogueVersion.id.desc())).all()
    active = active_version()
    return render_template("claims/catalogue/index.html", rows=rows, active=active,
                           authors=_authors(rows), in_force=active_catalogue(),
                           file_version=file_catalogue().version,
                           configured_file=_configured_file())


@bp.route("/<int:version_id>")
@permission_required(PERMISSION)
def version(version_id: int, form=None, status=200):
    """One version: its note, counts, what it changes compared with the one in force."""
    row = _version_or_404(version_id)
    active = active_version()
    checked = catalogue_of(row)
    changes = diff(active_catalogue(), checked.catalogue) if checked.ok else None
    return render_template("claims/catalogue/version.html", row=row,
                           active=active is not None and active.id == row.id, checked=checked,
                           changes=changes, in_force=active_catalogue(),
                           author=_authors([row]).get(row.created_by_id),
                           form=form or ActivateForm(), **_helpers()), status


@bp.route("/<int:version_id>/activate", methods=["POST"])
@permission_required(PERMISSION)
def activate_version(version_id: int):
    row = _version_or_404(version_id)
    form = ActivateForm()
    if not form.validate_on_submit():
        return version(row.id, form=form, status=400)
    try:
        activate(row.id, current_user._get_current_object())
    except VersionNotFound:
        abort(404)
    except CatalogueRejected as rejected:
        form.confirm.errors = list(rejected.messages)
        return version(row.id, form=form, status=409)
    flash(_("Version %(version)s is active: new claims are filed against it. Claims filed "
            "before keep their wording.", version=row.version), "success")
    return redirect(url_for(".index"))


@bp.route("/<int:version_id>.toml")
@permission_required(PERMISSION)
def download(version_id: int):
    row = _version_or_404(version_id)
    return _toml(row.source, f"catalogue-{row.version}.toml")


@bp.route("/shipped.toml")
@permission_required(PERMISSION)
def download_shipped():
    """The catalogue shipped with Palier, as a starting point or a reference."""
    return _toml(CATALOGUE_FILE.read_text(encoding="utf-8"), "catalogue-shipped.toml")


@bp.route("/configured.toml")
@permission_required(PERMISSION)
def download_configured():
    """The file set by CLAIMS_CATALOGUE_FILE (used while no version is active)."""
    path = _configured_file()
    if path is None:
        abort(404)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        abort(404)
    return _toml(text, "catalogue-configured.toml")


@bp.route("/new", methods=["GET", "POST"])
@permission_required(PERMISSION)
def new():
    """The editor: check the text, then save it as a new (inactive) version."""
    form = EditorForm()
    if request.method == "GET":
        form.source.data = _active_source()
        return _editor(form)
    if not form.validate_on_submit():
        return _editor(form, status=400)
    upload = form.upload.data
    if upload is not None and getattr(upload, "filename", ""):
        raw = upload.read(MAX_SOURCE_BYTES + 1)
        try:
            form.source.data = raw.decode("utf-8")
        except UnicodeDecodeError:
            return _editor(form, messages=[_("The file is not UTF-8 text: save it as UTF-8 "
                                             "and send it again.")], status=400)
    source = form.source.data or ""
    if request.form.get("action") == "save":
        try:
            row = save_version(source, form.note.data, current_user._get_current_object())
        except CatalogueRejected as rejected:
            return _editor(form, messages=rejected.messages, status=400)
        flash(_("Version %(version)s saved. It is not in force yet: read its changes, then "
                "activate it.", version=row.version), "success")
        return redirect(url_for(".version", version_id=row.id))
    checked = check_source(source)
    if not checked.ok:
        return _editor(form, messages=checked.messages, status=400)
    return _editor(form, checked=checked, changes=diff(active_catalogue(), checked.catalogue))


def _editor(form, messages=(), checked=None, changes=None, status=200):
    return render_template("claims/catalogue/new.html", form=form, messages=list(messages),
                           checked=checked, changes=changes, in_force=active_catalogue(),
                           max_bytes=MAX_SOURCE_BYTES, **_helpers()), status


@bp.route("/browse")
@permission_required(PERMISSION)
def browse():
    """The catalogue in force (or a saved version, ?version=id), read-only: places, their
    equipment, and each problem with who pays and why."""
    version_id = request.args.get("version", type=int)
    row = None
    if version_id is not None:
        row = _version_or_404(version_id)
        checked = catalogue_of(row)
        if not checked.ok:
            abort(404)
        catalogue = checked.catalogue
    else:
        catalogue = active_catalogue()
    places = [(scope, catalogue.places_in(scope)) for scope in Scope]
    return render_template("claims/catalogue/browse.html", catalogue=catalogue, row=row,
                           places=places, **_helpers())
