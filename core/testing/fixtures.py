"""Pytest plugin of Palier: fixtures that the core's and every plugin's tests reuse.

Layers: ``make_app`` → ``app`` → ``client`` → ``login`` → factories (``make_user``,
``make_tenant``, ``make_estate``). Each app gets its own database, copied from a template
that the real migrations built once per set of plugins: SQLite by default, PostgreSQL with
``--palier-db postgresql`` (a throw-away server is started for the session).

Also here: a real SMTP server on loopback (``smtp_server``) and a real Chromium driven by
Playwright (``browser``, ``live_server``, ``page``), see :mod:`core.testing.browser`.
"""
from __future__ import annotations

import shutil
import uuid
from itertools import count

import pytest

from core.testing.database import TemplateDatabases
from core.testing.smtp import SMTPServer

pytest_plugins = ["core.testing.browser"]

DEFAULT_PASSWORD = "correct horse battery staple"


def pytest_addoption(parser):
    parser.addoption("--palier-db", choices=("sqlite", "postgresql"), default="sqlite",
                     help="database the tests run on (a throw-away PostgreSQL server is "
                          "started for 'postgresql')")


def pytest_configure(config):
    config.addinivalue_line("markers", "plugins(*names): enable these plugins in the app")


@pytest.fixture(scope="session")
def template_databases(tmp_path_factory, request):
    """Databases migrated once per set of plugins, copied for every test."""
    templates = TemplateDatabases(tmp_path_factory.mktemp("db"),
                                  request.config.getoption("--palier-db"))
    yield templates
    templates.close()


@pytest.fixture
def make_app(template_databases, tmp_path):
    """Build an app with its own fresh, migrated database.

    ``make_app(plugins=[...], extra_plugins={...}, **config)``; the instance folder is a
    temporary directory.
    """
    from core import create_app
    from core.extensions import db

    apps = []
    serial = count()

    def factory(plugins=(), extra_plugins=None, **config):
        """Build an app; factories (make_user...) then write into its database."""
        instance = tmp_path / f"instance{next(serial)}"
        instance.mkdir()
        url = template_databases.fresh_database(tuple(plugins), extra_plugins, instance)
        settings = {
            "ENVIRONMENT": "testing",
            "INSTANCE_PATH": str(instance),
            "SECRET_KEY": uuid.uuid4().hex,
            "DATABASE_URL": url,
            "PLUGINS": list(plugins),
            "PUBLIC_URL": "http://localhost",
        }
        settings.update(config)
        app = create_app(settings, extra_plugins=extra_plugins)
        apps.append(app)
        return app

    factory.apps = apps
    yield factory
    for app in apps:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
    template_databases.drop_fresh()


def _default_plugins(request):
    from core.plugins import BUILTIN_PLUGINS

    marker = request.node.get_closest_marker("plugins")
    return list(marker.args) if marker else list(BUILTIN_PLUGINS)


@pytest.fixture
def app(make_app, request):
    """An app with every built-in plugin (or those of ``@pytest.mark.plugins(...)``).

    No app context stays pushed during the test: requests made with the test client then get
    their own context (and ``g``), as in production. Use ``with app.app_context():`` to query.
    """
    return make_app(plugins=_default_plugins(request))


def detached(*objects):
    """Load the columns of freshly committed objects and detach them from the session, so
    tests can read them after the app context is gone."""
    from core.extensions import db

    for obj in objects:
        db.session.refresh(obj)
        db.session.expunge(obj)
    return objects[0] if len(objects) == 1 else objects


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def app_under_test(make_app, request):
    """The app factories write into: the last one ``make_app`` built in this test, or the
    default ``app``."""

    def current():
        return make_app.apps[-1] if make_app.apps else request.getfixturevalue("app")

    return current


@pytest.fixture
def make_estate(app_under_test):
    """Create an agency → residence → building → entrance → dwellings chain; returns the
    building's id."""
    from core.estate import Agency, Building, Dwelling, Entrance, Residence
    from core.extensions import db

    serial = count(1)

    def factory(dwellings=2, city="Carcassonne", postcode="11000"):
        with app_under_test().app_context():
            return _estate(next(serial), dwellings, city, postcode)

    def _estate(n, dwellings, city, postcode):
        agency = Agency(reference=f"AG{n}", name=f"Agence {n}")
        residence = Residence(reference=f"R{n}", name=f"Résidence {n}", agency=agency,
                              postcode=postcode, city=city)
        building = Building(reference=f"R{n}-B1", name="Bâtiment A",
                            street=f"{n} rue de la Paix", residence=residence)
        entrance = Entrance(reference=f"R{n}-B1-E1", name="Entrée 1", building=building)
        homes = [Dwelling(reference=f"R{n}-B1-E1-{i:03d}", entrance=entrance, floor=i // 4,
                          door=f"{i:03d}", kind="T3", surface_m2=64.5)
                 for i in range(1, dwellings + 1)]
        db.session.add_all([agency, residence, building, entrance, *homes])
        db.session.commit()
        return building.id

    return factory


@pytest.fixture
def make_user(app_under_test):
    """Create an account: ``make_user("agent")``, ``make_user(Role.ADMIN, email=...)``."""
    from core.accounts import Role, User
    from core.extensions import db

    serial = count(1)

    def factory(role="tenant", email=None, password=DEFAULT_PASSWORD, person_id=None,
                **fields):
        role = Role(role)
        n = next(serial)
        with app_under_test().app_context():
            user = User(email=email or f"{role.value}{n}@example.org",
                        display_name=fields.pop("display_name", f"{role.value.title()} {n}"),
                        role=role, person_id=person_id, **fields)
            user.set_password(password)
            db.session.add(user)
            db.session.commit()
            return detached(user)

    return factory


@pytest.fixture
def make_tenant(app_under_test, make_estate, make_user):
    """Create a tenant: a person in a household with a current lease, and their account."""
    from datetime import date, timedelta

    from core.estate import Building, Household, Lease, Person
    from core.extensions import db

    serial = count(1)

    def factory(first_name="Camille", last_name="Martin", building_id=None,
                lease_start=None, **user_fields):
        n = next(serial)
        building_id = building_id or make_estate()
        with app_under_test().app_context():
            building = db.session.get(Building, building_id)
            dwelling = building.entrances[0].dwellings[0]
            household = Household(reference=f"H{n}-{uuid.uuid4().hex[:6]}")
            person = Person(reference=f"P-{household.reference}", civility="Mme",
                            first_name=first_name, last_name=last_name, household=household)
            lease = Lease(reference=f"L-{household.reference}", dwelling=dwelling,
                          household=household,
                          start_date=lease_start or date.today() - timedelta(days=30))
            db.session.add_all([household, person, lease])
            db.session.commit()
            person_id = person.id
        return make_user("tenant", person_id=person_id,
                         display_name=f"{first_name} {last_name}", **user_fields)

    return factory


@pytest.fixture
def login():
    """Log a test client in as a user, the way a browser does (CSRF token included)."""

    def do_login(client, user, password=DEFAULT_PASSWORD, remember=False):
        token = csrf_token(client, "/login")
        data = {"csrf_token": token, "email": user.email, "password": password}
        if remember:
            data["remember"] = "y"
        response = client.post("/login", data=data)
        assert response.status_code == 302, response.get_data(as_text=True)
        return response

    return do_login


def csrf_token(client, url: str) -> str:
    """The CSRF token of the first form on ``url`` (fetched like a browser would)."""
    import re

    html = client.get(url).get_data(as_text=True)
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    assert match, f"no CSRF token on {url}"
    return match.group(1)


@pytest.fixture
def smtp_server():
    """A real SMTP server on loopback that keeps what it receives (``.messages``)."""
    server = SMTPServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def copy_tree(tmp_path):
    """Copy a folder into the test's temporary directory (e.g. a theme to modify)."""

    def do_copy(source, name):
        target = tmp_path / name
        shutil.copytree(source, target)
        return target

    return do_copy
