"""One test per core hook, each through a throw-away plugin registered for the test only.

``tests/test_hook_docs.py`` checks that every hook of ``core/hookspecs.py`` has a test here
named ``test_hook_<name>``.
"""
from __future__ import annotations

import io
import logging
import textwrap
from datetime import datetime, timedelta, timezone

import click
import pytest
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from flask import Blueprint
from flask_socketio import emit
from PIL import Image
from sqlalchemy import func, select
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from core import Plugin, hookimpl
from core.accounts import User
from core.attachments import Attachment, store_image, visible_attachments
from core.config import ConfigError, Setting
from core.contributions import Card, NavItem, TimelineEntry, Widget
from core.extensions import db
from core.realtime import AuthenticatedNamespace, socketio_of


class Probe(Plugin):
    """A throw-away plugin; tests attach the hook implementations they need."""

    name = "probe"


def probe_app(make_app, plugin, **config):
    return make_app(plugins=["probe"], extra_plugins={"probe": plugin}, **config)


def test_hook_register_settings(make_app, caplog):
    class Settings(Probe):
        @hookimpl
        def register_settings(self):
            return [Setting("PROBE_COLOUR", "blue", "Colour of the probe.")]

    with caplog.at_level(logging.WARNING, logger="palier"):
        app = probe_app(make_app, Settings(), PROBE_SIZE=3)
    assert app.config["PROBE_COLOUR"] == "blue"
    assert probe_app(make_app, Settings(), PROBE_COLOUR="red").config["PROBE_COLOUR"] == "red"
    warnings = [r.getMessage() for r in caplog.records]
    assert any("PROBE_SIZE" in w for w in warnings)
    assert not any("PROBE_COLOUR" in w for w in warnings)

    class Misnamed(Probe):
        @hookimpl
        def register_settings(self):
            return [Setting("COLOUR", "blue", "No prefix.")]

    with pytest.raises(ConfigError, match="must start with 'PROBE_'"):
        probe_app(make_app, Misnamed())


class _OtherBase(DeclarativeBase):
    """Models of these tests stay out of the app's metadata."""


class ProbeThing(_OtherBase):
    __tablename__ = "probe_thing"
    id: Mapped[int] = mapped_column(primary_key=True)


class Unprefixed(_OtherBase):
    __tablename__ = "thing"
    id: Mapped[int] = mapped_column(primary_key=True)


def test_hook_register_models(make_app):
    class Models(Probe):
        def __init__(self, models):
            self.models = models

        @hookimpl
        def register_models(self):
            return self.models

    assert probe_app(make_app, Models([ProbeThing]))
    with pytest.raises(RuntimeError, match="table 'thing' must start with probe_"):
        probe_app(make_app, Models([Unprefixed]))


def test_hook_register_migrations(make_app, tmp_path):
    versions = tmp_path / "versions"
    versions.mkdir()
    (versions / "probe_0001.py").write_text(textwrap.dedent('''
        """probe: items"""
        import sqlalchemy as sa
        from alembic import op

        revision = "probe_0001"
        down_revision = None
        branch_labels = ("probe",)
        depends_on = None


        def upgrade():
            op.create_table("probe_item", sa.Column("id", sa.Integer, primary_key=True))


        def downgrade():
            op.drop_table("probe_item")
    '''))

    class Migrations(Probe):
        @hookimpl
        def register_migrations(self):
            return str(versions)

    app = probe_app(make_app, Migrations())
    with app.app_context():
        assert "probe_item" in sa_inspect(db.engine).get_table_names()
    runner = app.test_cli_runner()
    result = runner.invoke(args=["db", "downgrade", "probe@base"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        db.engine.dispose()
        tables = sa_inspect(db.engine).get_table_names()
    assert "probe_item" not in tables and "user_account" in tables


def test_hook_register_translations(make_app, tmp_path):
    catalog = Catalog(locale="fr")
    catalog.add("Probe greeting", "Bonjour de la sonde")
    (tmp_path / "fr" / "LC_MESSAGES").mkdir(parents=True)
    with open(tmp_path / "fr" / "LC_MESSAGES" / "messages.mo", "wb") as mo_file:
        write_mo(mo_file, catalog)

    class Translations(Probe):
        @hookimpl
        def register_translations(self):
            return str(tmp_path)

    app = probe_app(make_app, Translations())
    with app.test_request_context("/"):
        from flask_babel import gettext

        assert gettext("Probe greeting") == "Bonjour de la sonde"
        assert gettext("Log in") == "Se connecter"  # the core's catalogue is still there


def _page_plugin():
    bp = Blueprint("probe", __name__, url_prefix="/probe")

    @bp.route("/hello")
    def hello():
        return "probe says hello"

    class Pages(Probe):
        @hookimpl
        def register_blueprints(self, app):
            return [bp]

    return Pages()


def test_hook_register_blueprints(make_app):
    app = probe_app(make_app, _page_plugin())
    assert app.test_client().get("/probe/hello").get_data(as_text=True) == "probe says hello"
    disabled = make_app(plugins=[], extra_plugins={"probe": _page_plugin()})
    assert disabled.test_client().get("/probe/hello").status_code == 404


def test_hook_register_cli_commands(make_app):
    class Commands(Probe):
        @hookimpl
        def register_cli_commands(self, cli):
            @cli.command("probe-count")
            @click.argument("n", type=int)
            def probe_count(n):
                click.echo(" ".join(str(i) for i in range(1, n + 1)))

    result = probe_app(make_app, Commands()).test_cli_runner().invoke(args=["probe-count", "3"])
    assert result.exit_code == 0 and result.output.strip() == "1 2 3"


class EchoNamespace(AuthenticatedNamespace):
    def on_echo(self, data):
        emit("echoed", {"text": data["text"]})


def test_hook_register_socketio_namespaces(make_app, make_user, login):
    class Realtime(Probe):
        @hookimpl
        def register_socketio_namespaces(self):
            return [EchoNamespace("/probe")]

    app = probe_app(make_app, Realtime())
    socketio = socketio_of(app)
    http = app.test_client()
    anonymous = socketio.test_client(app, namespace="/probe", flask_test_client=http)
    assert not anonymous.is_connected("/probe")

    login(http, make_user("agent"))
    client = socketio.test_client(app, namespace="/probe", flask_test_client=http)
    assert client.is_connected("/probe")
    client.emit("echo", {"text": "bonjour"}, namespace="/probe")
    received = client.get_received("/probe")
    assert received == [{"name": "echoed", "args": [{"text": "bonjour"}], "namespace": "/probe"}]
    client.disconnect(namespace="/probe")


def test_hook_portal_cards(make_app, make_tenant, login):
    class Cards(Probe):
        @hookimpl
        def portal_cards(self, user):
            return [Card("Ma demande", f"Pour {user.display_name}", "/probe", order=1)]

    app = probe_app(make_app, Cards())
    client = app.test_client()
    login(client, make_tenant(first_name="Inès", last_name="Diallo"))
    page = client.get("/portal/").get_data(as_text=True)
    assert "Ma demande" in page and "Pour Inès Diallo" in page
    # order=1 puts the card before the core's own cards
    assert page.index("Ma demande") < page.index('card__title">Mon historique')


def test_hook_backoffice_widgets(make_app, make_user, login):
    class Widgets(Probe):
        @hookimpl
        def backoffice_widgets(self, user):
            if user.role.value == "agent":
                return [Widget("Réclamations en retard", figure="7")]

    app = probe_app(make_app, Widgets())
    agent, caretaker = app.test_client(), app.test_client()
    login(agent, make_user("agent"))
    login(caretaker, make_user("caretaker"))
    assert "Réclamations en retard" in agent.get("/backoffice/").get_data(as_text=True)
    assert "Réclamations en retard" not in caretaker.get("/backoffice/").get_data(as_text=True)


def test_hook_navigation_items(make_app, make_tenant, make_user, login):
    class Menu(Probe):
        @hookimpl
        def navigation_items(self, user, area):
            return [NavItem(f"Entrée {area}", f"/probe/{area}", order=50)]

    app = probe_app(make_app, Menu())
    tenant, agent = app.test_client(), app.test_client()
    login(tenant, make_tenant())
    login(agent, make_user("agent"))
    assert 'href="/probe/portal">Entrée portal' in tenant.get("/portal/").get_data(as_text=True)
    assert 'href="/probe/backoffice">Entrée backoffice' in agent.get(
        "/backoffice/").get_data(as_text=True)


def test_hook_timeline_entries(make_app, make_tenant, login):
    now = datetime.now(timezone.utc).replace(tzinfo=None)

    class History(Probe):
        @hookimpl
        def timeline_entries(self, person, since):
            entries = [TimelineEntry(now - timedelta(days=2), "Courrier envoyé",
                                     f"Lettre à {person.last_name}", channel="letter"),
                       TimelineEntry(now - timedelta(days=1), "SMS envoyé", channel="sms"),
                       TimelineEntry(now - timedelta(days=400), "Ancien échange")]
            return [e for e in entries if e.when >= since]

    app = probe_app(make_app, History())
    client = app.test_client()
    login(client, make_tenant(last_name="Rousseau"))
    page = client.get("/portal/timeline").get_data(as_text=True)
    assert "Lettre à Rousseau" in page
    assert page.index("SMS envoyé") < page.index("Courrier envoyé")  # newest first
    assert "Ancien échange" not in page
    assert "Ancien échange" in client.get("/portal/timeline?period=all").get_data(as_text=True)


def test_hook_extra_template_context(make_app):
    class Context(Probe):
        @hookimpl
        def extra_template_context(self, user):
            return {"probe_visitor": "anonymous" if not user.is_authenticated else "known"}

    app = probe_app(make_app, Context())
    with app.test_request_context("/"):
        from flask import render_template_string

        assert render_template_string("{{ probe_visitor }}") == "anonymous"


def test_hook_extra_css_urls(make_app):
    class Styles(Probe):
        @hookimpl
        def extra_css_urls(self, area):
            return [f"/probe/{area}.css"]

    page = probe_app(make_app, Styles()).test_client().get("/login").get_data(as_text=True)
    assert '<link rel="stylesheet" href="/probe/public.css">' in page


def test_hook_extra_js_urls(make_app):
    class Scripts(Probe):
        @hookimpl
        def extra_js_urls(self, area):
            return [f"/probe/{area}.js"]

    page = probe_app(make_app, Scripts()).test_client().get("/login").get_data(as_text=True)
    assert '<script src="/probe/public.js" defer></script>' in page


def _approval_plugin():
    from core.permissions import Permission
    from core.web.access import permission_required

    bp = Blueprint("probe", __name__)

    @bp.route("/probe/approve")
    @permission_required("probe.approve")
    def approve():
        return "approved"

    class Approvals(Probe):
        @hookimpl
        def register_permissions(self):
            return [Permission("probe.approve", "Approve a probe", {"agent"})]

        @hookimpl
        def register_blueprints(self, app):
            return [bp]

    return Approvals()


def test_hook_register_permissions(make_app, make_user, login):
    from core.config import ConfigError

    for overrides, allowed, refused in [({}, "agent", "caretaker"),
                                        ({"probe.approve": ["caretaker"]}, "caretaker", "agent")]:
        app = probe_app(make_app, _approval_plugin(), PERMISSIONS=overrides)
        yes, no = app.test_client(), app.test_client()
        login(yes, make_user(allowed))
        login(no, make_user(refused))
        assert yes.get("/probe/approve").get_data(as_text=True) == "approved"
        assert no.get("/probe/approve").status_code == 403
    with pytest.raises(ConfigError, match="probe.unknown"):
        probe_app(make_app, _approval_plugin(), PERMISSIONS={"probe.unknown": ["agent"]})


def test_hook_register_audit_actions(make_app, make_user, login):
    from core import audit

    class Actions(Probe):
        @hookimpl
        def register_audit_actions(self):
            return {"probe.stamped": "Probe stamped a form"}

    app = probe_app(make_app, Actions())
    with app.test_request_context("/"):
        audit.record("probe.stamped", detail={"form": 7})
        audit.record("probe.unnamed")
        db.session.commit()
    admin = app.test_client()
    login(admin, make_user("admin"))
    page = admin.get("/backoffice/admin/audit").get_data(as_text=True)
    assert "Probe stamped a form" in page  # the label, in the list and the action filter
    assert '<option value="probe.stamped">' in page
    assert "probe.unnamed" in page  # an action without a label shows as it is

    class Trespasser(Probe):
        @hookimpl
        def register_audit_actions(self):
            return {"login": "Somebody else's action"}

    with pytest.raises(ConfigError, match="must start with 'probe.'"):
        probe_app(make_app, Trespasser())


def test_hook_attachments_visible_to(make_app, make_user, login):
    class Files(Probe):
        @hookimpl
        def attachments_visible_to(self, user):
            if user.role.value == "agent":
                return Attachment.owner_type == "probe"

    app = probe_app(make_app, Files())
    photo = io.BytesIO()
    Image.new("RGB", (8, 8), (0, 128, 0)).save(photo, "PNG")
    with app.test_request_context("/"):
        names = {owner: store_image(photo.getvalue(), owner_type=owner, owner_id=1,
                                    person_id=None, uploaded_by=None).storage_name
                 for owner in ("probe", "other")}
        db.session.commit()
    agent, caretaker = make_user("agent"), make_user("caretaker")
    with app.test_request_context("/"):
        listed = db.session.scalars(visible_attachments(db.session.get(User, agent.id))).all()
        assert [a.owner_type for a in listed] == ["probe"]  # a filter: lists work too
    clients = {}
    for role, user in (("agent", agent), ("caretaker", caretaker)):
        clients[role] = app.test_client()
        login(clients[role], user)
    assert clients["agent"].get(f"/attachments/{names['probe']}",
                                buffered=True).status_code == 200
    assert clients["agent"].get(f"/attachments/{names['other']}").status_code == 404
    assert clients["caretaker"].get(f"/attachments/{names['probe']}").status_code == 404


class Notes(Probe):
    """A plugin keeping notes about people, for the personal data hooks."""

    def __init__(self):
        self.notes = {}

    @hookimpl
    def personal_data(self, person):
        return {"probe_notes": self.notes.get(person.id, [])}

    @hookimpl
    def erase_personal_data(self, person):
        self.notes.pop(person.id, None)


def test_hook_personal_data(make_app, make_tenant, login):
    import io
    import json
    import zipfile

    plugin = Notes()
    app = probe_app(make_app, plugin)
    tenant = make_tenant()
    plugin.notes[tenant.person_id] = ["Prefers calls after 17:00"]
    client = app.test_client()
    login(client, tenant)
    archive = zipfile.ZipFile(io.BytesIO(client.get("/portal/my-data/download").data))
    data = json.loads(archive.read("donnees.json"))
    assert data["probe_notes"] == ["Prefers calls after 17:00"]
    assert data["personne"]["nom"] == "Martin"  # the core's own section is still there


def test_hook_erase_personal_data(make_app, make_tenant, make_user, login):
    from core.testing.fixtures import csrf_token

    plugin = Notes()
    app = probe_app(make_app, plugin)
    tenant = make_tenant()
    plugin.notes[tenant.person_id] = ["Prefers calls after 17:00"]
    admin = app.test_client()
    login(admin, make_user("admin"))
    url = f"/backoffice/people/{tenant.person_id}/erase"
    admin.post(url, data={"csrf_token": csrf_token(admin, url), "confirm": "Camille Martin"})
    assert plugin.notes == {}


def test_hook_load_demo_data(make_app):
    from datetime import date

    from core.demo import load_demo

    class Demo(Probe):
        calls = []

        @hookimpl
        def load_demo_data(self, today):
            from core.estate import Person

            # The core's demo tenants exist when the hook runs, in the demo's transaction.
            Demo.calls.append((today, db.session.scalar(select(func.count(Person.id)))))

    app = probe_app(make_app, Demo())
    with app.app_context():
        load_demo(today=date(2026, 3, 1))
    [(today, people)] = Demo.calls
    assert today == date(2026, 3, 1) and people > 200

