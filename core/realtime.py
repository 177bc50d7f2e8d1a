"""Realtime base: Socket.IO bound to the app, one namespace per plugin.

The async mode always comes from the configuration (``SOCKETIO_ASYNC_MODE``): ``threading``
by default, ``eventlet`` for thousands of open sockets (started by ``palier serve``). Several
processes share events through Redis when ``REDIS_URL`` is set.
"""
from __future__ import annotations

from flask import current_app, g
from flask_login import current_user
from flask_socketio import Namespace, SocketIO, disconnect, emit

from core.accounts import Role


class AuthenticatedNamespace(Namespace):
    """A namespace whose connections need a logged-in session, like a page's policy.

    ``roles`` says who may connect (None: any logged-in account); ``event_roles`` narrows
    single events (``{"vote": {Role.COMMITTEE_MEMBER, Role.COMMITTEE_CHAIR}}``). The connection
    check runs in ``on_connect``, before any handler: a refused client never joins a room. Every
    event checks again, so a session ended elsewhere (logout, password change, account
    disabled) loses its socket at its next message. Subclasses needing another credential (a
    tenant's video link) override :meth:`authorize`.
    """

    roles: frozenset[Role] | None = None
    event_roles: dict[str, frozenset[Role]] = {}

    def authorize(self, auth) -> bool:
        """Whether the client behind this message may use the namespace at all."""
        if not current_user.is_authenticated:
            return False
        return self.roles is None or current_user.role in self.roles

    def allows(self, role: Role | None, event: str | None = None) -> bool:
        """The declared policy, for a role (None: anonymous) and optionally one event."""
        if role is None or (self.roles is not None and role not in self.roles):
            return False
        return event is None or event not in self.event_roles or role in self.event_roles[event]

    def on_connect(self, auth=None):
        if not self.authorize(auth):
            raise ConnectionRefusedError("unauthorized")

    def trigger_event(self, event, *args):
        handler = getattr(self, f"on_{event or ''}", None)
        if handler is None or event in ("connect", "disconnect"):
            return super().trigger_event(event, *args)

        def guarded(*handler_args):
            # Runs inside the request context Flask-SocketIO sets up for the event. That context
            # is the handshake's GET: a handler may write, so its transaction takes the write
            # lock at once (core.db).
            g.palier_writes = True
            if not self.authorize(None):
                disconnect()
                return None
            allowed = self.event_roles.get(event)
            if allowed is not None and current_user.role not in allowed:
                emit("refused", {"event": event})
                return None
            return handler(*handler_args)

        # The same dispatch as Namespace.trigger_event, with the guard around the handler.
        return self.socketio._handle_event(guarded, event, self.namespace, *args)


def init_realtime(app, namespaces) -> SocketIO:
    """Bind a Socket.IO server to the app in the configured mode, with the namespaces."""
    public_url = app.config["PUBLIC_URL"].rstrip("/")
    socketio = SocketIO()
    socketio.init_app(
        app,
        async_mode=app.config["SOCKETIO_ASYNC_MODE"],
        message_queue=app.config["REDIS_URL"] or None,
        cors_allowed_origins=[public_url],
        manage_session=False,
        max_http_buffer_size=1_000_000,
        logger=False,
        engineio_logger=False,
    )
    seen = set()
    for namespace in namespaces:
        if namespace.namespace in seen:
            raise RuntimeError(f"Socket.IO namespace {namespace.namespace} registered twice.")
        if not isinstance(namespace, AuthenticatedNamespace):
            raise RuntimeError(
                f"Namespace {namespace.namespace} must derive from AuthenticatedNamespace."
            )
        seen.add(namespace.namespace)
        socketio.on_namespace(namespace)
    app.extensions["palier.namespaces"] = list(namespaces)
    return socketio


def socketio_of(app=None) -> SocketIO:
    """The Socket.IO server of ``app`` (by default the current app), to emit from anywhere."""
    return (app or current_app).extensions["socketio"]
