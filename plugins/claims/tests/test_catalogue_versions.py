"""Catalogue versions edited in the back office: checked, saved, activated, compared.

What must hold: a wrong catalogue is refused with messages an editor can act on (a line or an
item id) and nothing is written; saving changes nothing for tenants, activating changes new
claims only (old ones keep their wording and version); every process follows an activation at
its next request; only administrators reach the pages.
"""
from __future__ import annotations

import io
import re

import pytest
from flask_babel import force_locale
from sqlalchemy import func, select

from core.audit import AuditEvent
from core.extensions import db
from core.testing.fixtures import csrf_token
from plugins.claims.catalogue import CATALOGUE_FILE
from plugins.claims.models import CatalogueVersion, Claim

SHIPPED = CATALOGUE_FILE.read_text(encoding="utf-8")
TAP_WORDING_FR = 'label.fr = "Le robinet goutte'
BASE = "/backoffice/claims/catalogue"


def edited(version="2026.2", tap_label="Le robinet coule goutte à goutte",
           tap_responsibility=None) -> str:
    """The shipped catalogue with a new version, the dripping tap reworded and, optionally,
    charged to someone else."""
    text = SHIPPED.replace('version = "2026.1"', f'version = "{version}"', 1)
    text = text.replace(TAP_WORDING_FR, f'label.fr = "{tap_label}', 1)
    if tap_responsibility:
        start = text.index('id = "tap.drips"')
        end = text.index("[[problems]]", start)
        block = re.sub(r'responsibility = "[a-z_]+"',
                       f'responsibility = "{tap_responsibility}"', text[start:end], count=1)
        text = text[:start] + block + text[end:]
    return text


def version_rows(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(CatalogueVersion))


@pytest.fixture
def admin(claims_app, make_user):
    return make_user("admin", locale="en")


def loaded(user):
    """The account in the current app context's session."""
    from core.accounts import User

    return db.session.get(User, user.id)


# -- checking and saving ------------------------------------------------------------------------

@pytest.mark.parametrize("source, expected", [
    ('version = "2026.2"\n[[trades]\nid = "x"\n', r"Line 2: not valid TOML"),
    (SHIPPED.replace('responsibility = "tenant"', 'responsibility = "tennant"', 1),
     r"Line \d+: problems\[\d+\] '[a-z_.]+': unknown responsibility 'tennant'"),
    (SHIPPED.replace('id = "tap.limescale"', 'id = "tap.drips"', 1),
     r"Line \d+: problems\[\d+\] 'tap.drips': duplicate id 'tap.drips'"),
    (re.sub(r'legal_reference = "[^"]*"', 'legal_reference = ""', SHIPPED, count=1),
     r"Line \d+: problems\[\d+\] '[a-z_.]+': missing legal_reference"),
    (SHIPPED.replace('version = "2026.1"', f'version = "{"9" * 40}"', 1),
     r"Line \d+: version “9+” is too long"),
    (SHIPPED.replace('version = "2026.1"', 'version = "2026\\"\\n2"', 1),
     r"Line \d+: version “2026\"\n2” may only use letters"),
    ("", "The catalogue is empty."),
])
def test_a_wrong_catalogue_is_refused_with_its_line_and_nothing_is_saved(
        claims_app, admin, source, expected):
    from plugins.claims.catalogue.store import CatalogueRejected, save_version

    with claims_app.app_context(), force_locale("en"):
        with pytest.raises(CatalogueRejected) as refused:
            save_version(source, "try", loaded(admin))
    assert any(re.search(expected, message) for message in refused.value.messages), \
        refused.value.messages
    assert version_rows(claims_app) == 0


def test_saving_keeps_an_inactive_version_named_by_its_version_and_text(claims_app, admin):
    from plugins.claims.catalogue.store import (
        CatalogueRejected,
        active_catalogue,
        save_version,
    )

    with claims_app.app_context(), force_locale("en"):
        row = save_version(edited().replace("\n", "\r\n"), "Tap reworded",
                           loaded(admin))
        assert re.fullmatch(r"2026\.2\+[0-9a-f]{8}", row.version)
        assert "\r" not in row.source
        assert (row.counts["problems"], row.note, row.activated_at) == (
            len(active_catalogue().problems), "Tap reworded", None)
        assert active_catalogue().version == "2026.1"  # saving is not activating
        # The same text again (whatever its line ends) is the same version: refused.
        with pytest.raises(CatalogueRejected, match="already saved, as version 2026.2"):
            save_version(edited(), "", loaded(admin))
        # A different text that forgot to change `version` is another version.
        other = save_version(edited(tap_label="Fuite au robinet"), "", None)
        assert other.version.startswith("2026.2+") and other.version != row.version
        actions = db.session.scalars(select(AuditEvent.action).where(
            AuditEvent.action == "claims.catalogue_saved")).all()
        assert len(actions) == 2


# -- activating ------------------------------------------------------------------------------

def test_activating_changes_new_claims_only(claims_app, admin, make_tenant, file):
    from plugins.claims.catalogue.store import activate, save_version

    tenant = make_tenant()
    before = file(tenant)
    with claims_app.app_context():
        row = save_version(edited(tap_responsibility="landlord"), "", None)
        version, row_id = row.version, row.id
    saved_only = file(tenant)
    with claims_app.app_context():
        activate(row_id, loaded(admin))
    after = file(tenant)
    with claims_app.app_context():
        claims = {c.id: c for c in db.session.scalars(select(Claim))}
        old, not_yet, new = claims[before], claims[saved_only], claims[after]
        assert (old.catalogue_version, not_yet.catalogue_version, new.catalogue_version) == (
            "2026.1", "2026.1", version)
        assert old.text("problem", "fr").startswith("Le robinet goutte")
        assert new.text("problem", "fr").startswith("Le robinet coule goutte à goutte")
        assert (old.responsibility, new.responsibility) == ("tenant", "landlord")
        audit = db.session.scalars(select(AuditEvent).where(
            AuditEvent.action == "claims.catalogue_activated")).one()
        assert audit.detail["version"] == version and audit.detail["previous"] is None


def test_an_older_version_can_be_made_active_again(claims_app, admin):
    from plugins.claims.catalogue.store import activate, active_catalogue, save_version

    with claims_app.app_context():
        first = save_version(edited("2026.2"), "", None).id
        second = save_version(edited("2026.3"), "", None).id
        activate(first, None)
        activate(second, None)
        assert active_catalogue().version.startswith("2026.3+")
        activate(first, None)
        assert active_catalogue().version.startswith("2026.2+")


def test_two_processes_agree_after_an_activation(claims_app, tmp_path):
    """A second app over the same database stands for another gunicorn worker: each has its
    own cache; both file against the new version at their next request."""
    from core import create_app
    from plugins.claims.catalogue.store import activate, save_version
    from plugins.claims.filing import configured_catalogue

    config = claims_app.config
    other = create_app({"ENVIRONMENT": "testing", "INSTANCE_PATH": str(tmp_path),
                        "SECRET_KEY": config["SECRET_KEY"],
                        "DATABASE_URL": config["SQLALCHEMY_DATABASE_URI"],
                        "PLUGINS": ["claims"], "PUBLIC_URL": "http://localhost"})
    try:
        with claims_app.app_context():
            first = save_version(edited("2026.2"), "", None)
            second = save_version(edited("2026.3", tap_label="Fuite au robinet"), "", None)
            first, second = (first.id, first.version), (second.id, second.version)
            activate(first[0], None)
        for app in (claims_app, other):  # each worker caches version 2026.2
            with app.app_context():
                assert configured_catalogue().version == first[1]
        with other.app_context():
            activate(second[0], None)  # activated through the other worker
        for app in (claims_app, other):
            with app.app_context():
                catalogue = configured_catalogue()
                assert catalogue.version == second[1]
                assert catalogue.problem("tap.drips").label.fr.startswith("Fuite au robinet")
            with app.app_context():  # cached per process: the next request reuses it
                assert configured_catalogue() is catalogue
    finally:
        with other.app_context():
            db.session.remove()
            db.engine.dispose()


def test_a_request_sees_one_catalogue_from_start_to_end(claims_app):
    from plugins.claims.catalogue.store import activate, save_version
    from plugins.claims.filing import configured_catalogue

    with claims_app.app_context():
        seen = configured_catalogue()
        row_id = save_version(edited(), "", None).id
        assert configured_catalogue() is seen  # saved, not active
        activate(row_id, None)  # in this very context: it sees the change
        assert configured_catalogue().version.startswith("2026.2+")


# -- comparing -------------------------------------------------------------------------------

def test_the_diff_lists_a_changed_responsibility_and_the_added_and_removed_problems(claims_app):
    from plugins.claims.catalogue.store import check_source, diff

    old = check_source(SHIPPED).catalogue
    text = edited(tap_responsibility="landlord")
    start = text.index('[[problems]]\nid = "tap.limescale"')
    end = text.index("[[problems]]", start + 1)
    text = text[:start] + text[end:] + text[start:end].replace('"tap.limescale"', '"tap.loose"')
    new = check_source(text).catalogue
    changes = diff(old, new)
    assert [p.id for p in changes.added] == ["tap.loose"]
    assert [p.id for p in changes.removed] == ["tap.limescale"]
    [change] = changes.changed
    assert change.id == "tap.drips"
    fields = {f.field: (f.old, f.new) for f in change.fields}
    assert fields["responsibility"] == ("tenant", "landlord")
    assert fields["wording_fr"][1].startswith("Le robinet coule")
    assert diff(old, old).empty


# -- the pages ---------------------------------------------------------------------------------

@pytest.mark.parametrize("role", ["agent", "manager", "tenant", "caretaker"])
def test_only_administrators_open_the_catalogue_pages(claims_app, make_user, login, role):
    client = claims_app.test_client()
    login(client, make_user(role))
    for url in (f"{BASE}/", f"{BASE}/new", f"{BASE}/browse", f"{BASE}/shipped.toml"):
        assert client.get(url).status_code == 403, url
    assert client.post(f"{BASE}/new", data={}).status_code in (400, 403)
    assert f'href="{BASE}/"' not in client.get("/backoffice/").get_data(as_text=True)
    with claims_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(CatalogueVersion)) == 0


def test_an_administrator_checks_saves_and_activates_in_the_back_office(
        claims_app, admin, login, make_tenant, file):
    client = claims_app.test_client()
    login(client, admin)
    assert f'href="{BASE}/"' in client.get("/backoffice/").get_data(as_text=True)  # the menu
    home = client.get(f"{BASE}/").get_data(as_text=True)
    assert "catalogue file (version 2026.1)" in home and "No version saved yet" in home

    editor = client.get(f"{BASE}/new").get_data(as_text=True)
    assert 'version = &#34;2026.1&#34;' in editor or 'version = "2026.1"' in editor
    token = csrf_token(client, f"{BASE}/new")

    broken = client.post(f"{BASE}/new", data={
        "csrf_token": token, "action": "save", "note": "",
        "source": SHIPPED.replace('trade = "plumbing"', 'trade = "plumbingg"', 1)})
    assert broken.status_code == 400
    assert re.search(r"Line \d+: problems\[\d+\] &#39;[a-z_.]+&#39;: unknown trade",
                     broken.get_data(as_text=True))
    assert version_rows(claims_app) == 0

    checked = client.post(f"{BASE}/new", data={
        "csrf_token": token, "action": "check", "note": "",
        "upload": (io.BytesIO(edited(tap_responsibility="landlord").encode()), "cat.toml")},
        content_type="multipart/form-data")
    page = checked.get_data(as_text=True)
    assert checked.status_code == 200, page
    assert "The catalogue is valid: it would be saved as version 2026.2+" in page
    assert "0 problem(s) added, 0 removed, 1 changed." in page
    assert "tap.drips" in page and "Who pays" in page
    assert version_rows(claims_app) == 0  # checking writes nothing

    saved = client.post(f"{BASE}/new", data={
        "csrf_token": token, "action": "save", "note": "Dripping tap: landlord",
        "source": edited(tap_responsibility="landlord")})
    assert saved.status_code == 302
    version_page = client.get(saved.headers["Location"]).get_data(as_text=True)
    assert "Activate version 2026.2+" in version_page

    with claims_app.app_context():
        row = db.session.scalars(select(CatalogueVersion)).one()
        row_id, version = row.id, row.version
    unconfirmed = client.post(f"{BASE}/{row_id}/activate", data={"csrf_token": token})
    assert unconfirmed.status_code == 400
    assert "Tick the box to confirm" in unconfirmed.get_data(as_text=True)
    no_csrf = client.post(f"{BASE}/{row_id}/activate", data={"confirm": "y"})
    assert no_csrf.status_code == 400
    tenant = make_tenant()
    assert_version = file(tenant)
    activated = client.post(f"{BASE}/{row_id}/activate",
                            data={"csrf_token": token, "confirm": "y"})
    assert activated.status_code == 302
    after = file(tenant)
    with claims_app.app_context():
        assert db.session.get(Claim, assert_version).catalogue_version == "2026.1"
        assert db.session.get(Claim, after).catalogue_version == version

    home = client.get(f"{BASE}/").get_data(as_text=True)
    assert f"New claims are filed against version {version}" in home
    assert "Dripping tap: landlord" in home and "in force" in home
    download = client.get(f"{BASE}/{row_id}.toml")
    assert download.headers["Content-Disposition"].startswith("attachment")
    assert download.get_data(as_text=True) == edited(tap_responsibility="landlord")
    assert client.get(f"{BASE}/shipped.toml").get_data(as_text=True) == SHIPPED
    browse = client.get(f"{BASE}/browse").get_data(as_text=True)
    assert "Le robinet coule" not in browse  # English page: the English wording
    assert "tap.drips" in browse
    assert "Décret 87-712" in browse
    assert client.get(f"{BASE}/999999").status_code == 404


# -- the command -------------------------------------------------------------------------------

def test_the_import_command_saves_activates_and_lists(claims_app, tmp_path):
    from plugins.claims.filing import configured_catalogue

    runner = claims_app.test_cli_runner()
    path = tmp_path / "catalogue.toml"
    path.write_text(SHIPPED.replace('trade = "plumbing"', 'trade = "plumbingg"', 1),
                    encoding="utf-8")
    refused = runner.invoke(args=["claims", "catalogue", "import", str(path)])
    assert refused.exit_code == 1
    assert "unknown trade 'plumbingg'" in refused.output
    assert version_rows(claims_app) == 0

    path.write_text(edited(), encoding="utf-8")
    result = runner.invoke(args=["claims", "catalogue", "import", str(path), "--note",
                                 "Reworded tap", "--activate"])
    assert result.exit_code == 0, result.output
    assert re.search(r"Saved version 2026\.2\+[0-9a-f]{8} \(id \d+\)", result.output)
    assert "is now active" in result.output
    with claims_app.app_context():
        assert configured_catalogue().version.startswith("2026.2+")

    path.write_text(edited("2026.3"), encoding="utf-8")
    result = runner.invoke(args=["claims", "catalogue", "import", str(path)])
    assert result.exit_code == 0 and "Not active yet" in result.output

    listing = runner.invoke(args=["claims", "catalogue", "list"]).output
    lines = [line for line in listing.splitlines() if "2026." in line]
    assert len(lines) == 2
    assert lines[0].startswith("  ") and "2026.3+" in lines[0] and "never activated" in lines[0]
    assert lines[1].startswith("* ") and "Reworded tap" in lines[1]
