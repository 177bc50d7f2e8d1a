"""The authorization table: every route × every role, from the app's own URL map.

Each view declares its policy (``core.web.access``); this test reads the declarations, calls
every route with every method as every role (and anonymously), and checks the outcome: allowed
roles are never refused, other roles get 403, anonymous visitors are sent to the login page. A
route without a declared policy fails the test, so a new page cannot ship unguarded.
Socket.IO namespaces declare theirs too (``roles``, ``event_roles``): every event is tried as
every role.
"""
import pytest
from flask_socketio import emit

from core.accounts import Role, User
from core.extensions import db
from core.realtime import AuthenticatedNamespace, socketio_of
from core.web.access import endpoint_policy

ROLES = [None, *Role]


def sample_url(rule) -> str:
    values = {}
    for name in rule.arguments:
        converter = rule._converters[name].__class__.__name__
        values[name] = 999999 if converter in ("IntegerConverter", "NumberConverter") else "x"
    return rule.build(values, append_unknown=False)[1]


@pytest.fixture
def table_app(make_app):
    # CSRF is checked before any view: switched off here so that the view's own policy answers.
    from core.plugins import BUILTIN_PLUGINS

    return make_app(plugins=[*BUILTIN_PLUGINS, "noticeboard", "video_diag"],
                    WTF_CSRF_ENABLED=False)


@pytest.fixture
def accounts(table_app, make_user):
    return {role: make_user(role) for role in Role}


def client_as(app, user):
    client = app.test_client()
    if user is not None:
        with app.app_context():
            identifier = db.session.get(User, user.id).get_id()
        with client.session_transaction() as session:
            session["_user_id"] = identifier
            session["_fresh"] = True
    return client


def routes(app):
    for rule in app.url_map.iter_rules():
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule, method


def test_every_route_declares_its_policy(table_app):
    missing = sorted({rule.endpoint for rule, _ in routes(table_app)
                      if endpoint_policy(table_app, rule.endpoint) is None})
    assert missing == [], f"routes without a declared policy: {missing}"


def test_every_route_answers_every_role_as_declared(table_app, accounts):
    failures = []
    for rule, method in routes(table_app):
        policy = endpoint_policy(table_app, rule.endpoint)
        url = sample_url(rule)
        for role in ROLES:
            user = accounts[role] if role else None
            response = client_as(table_app, user).open(url, method=method)
            location = response.headers.get("Location", "")
            sent_to_login = response.status_code == 302 and "/login?next=" in location
            if policy.allows(role):
                ok = response.status_code not in (401, 403) and not sent_to_login
            elif role is None:
                ok = sent_to_login
            else:
                ok = response.status_code == 403
            if not ok:
                failures.append(f"{method} {url} as {role.value if role else 'anonymous'}: "
                                f"{response.status_code} {location}")
    assert failures == []


def test_the_table_covers_the_plugin_routes_too(table_app):
    endpoints = {rule.endpoint for rule, _ in routes(table_app)}
    assert {"noticeboard.portal_notices", "portal.home", "backoffice.plugins",
            "auth.login"} <= endpoints


def test_an_undeclared_route_is_caught(make_app):
    from flask import Blueprint

    from core import Plugin, hookimpl

    class Careless(Plugin):
        name = "careless"

        @hookimpl
        def register_blueprints(self, app):
            bp = Blueprint("careless", __name__)
            bp.add_url_rule("/careless", "page", lambda: "no policy")
            return [bp]

    app = make_app(plugins=["careless"], extra_plugins={"careless": Careless()})
    assert endpoint_policy(app, "careless.page") is None


class CommitteeNamespace(AuthenticatedNamespace):
    """Staff may follow; only committee members may vote."""

    roles = frozenset(r for r in Role if r.is_staff)
    event_roles = {"vote": frozenset({Role.COMMITTEE_MEMBER, Role.COMMITTEE_CHAIR})}

    def on_follow(self, data):
        emit("followed", data)

    def on_vote(self, data):
        self.votes.append(data)
        emit("voted", data)

    def __init__(self, namespace):
        super().__init__(namespace)
        self.votes = []


@pytest.fixture
def socket_app(make_app):
    from core import Plugin, hookimpl

    class Committee(Plugin):
        name = "committeedemo"

        @hookimpl
        def register_socketio_namespaces(self):
            return [CommitteeNamespace("/committeedemo")]

    return make_app(plugins=["committeedemo"], extra_plugins={"committeedemo": Committee()})


def namespace_events(namespace) -> list[str]:
    return sorted(name[3:] for name in dir(namespace)
                  if name.startswith("on_") and name not in ("on_connect", "on_disconnect"))


def test_every_socket_event_answers_every_role_as_declared(socket_app, make_user):
    check_socket_table(socket_app, make_user)
    assert namespace_events(socket_app.extensions["palier.namespaces"][0]) == ["follow", "vote"]


def test_the_plugins_socket_namespaces_answer_every_role_as_declared(table_app, make_user):
    assert "/video" in {ns.namespace for ns in table_app.extensions["palier.namespaces"]}
    check_socket_table(table_app, make_user)


def check_socket_table(socket_app, make_user):
    socketio = socketio_of(socket_app)
    namespaces = socket_app.extensions["palier.namespaces"]
    failures = []
    for namespace in namespaces:
        for role in ROLES:
            user = make_user(role) if role else None
            http = client_as(socket_app, user)
            sio = socketio.test_client(socket_app, namespace=namespace.namespace,
                                       flask_test_client=http)
            connected = sio.is_connected(namespace.namespace)
            if connected != namespace.allows(role):
                failures.append(f"connect {namespace.namespace} as {role}: {connected}")
            if not connected:
                continue
            for event in namespace_events(namespace):
                sio.emit(event, {"n": 1}, namespace=namespace.namespace)
                names = [m["name"] for m in sio.get_received(namespace.namespace)]
                handled = bool(names) and "refused" not in names
                if handled != namespace.allows(role, event):
                    failures.append(f"{event} on {namespace.namespace} as {role}: {names}")
            sio.disconnect(namespace=namespace.namespace)
    assert failures == []


def test_a_socket_loses_its_rights_when_its_session_ends(socket_app, make_user):
    from core.accounts import User

    member = make_user("committee_member")
    http = client_as(socket_app, member)
    votes = socket_app.extensions["palier.namespaces"][0].votes
    socketio = socketio_of(socket_app)
    sio = socketio.test_client(socket_app, namespace="/committeedemo", flask_test_client=http)
    sio.emit("vote", {"n": 0}, namespace="/committeedemo")
    assert votes == [{"n": 0}]
    with socket_app.app_context():  # logged out everywhere (password changed elsewhere)
        db.session.get(User, member.id).end_all_sessions()
        db.session.commit()
    sio.emit("vote", {"n": 1}, namespace="/committeedemo")
    assert not sio.is_connected("/committeedemo")
    assert votes == [{"n": 0}]  # the second vote never reached the handler
