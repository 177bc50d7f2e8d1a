"""Realtime base: Socket.IO bound to the app, one namespace per plugin.

The async mode always comes from the configuration (``SOCKETIO_ASYNC_MODE``): ``threading``
by default, ``eventlet`` for thousands of open sockets (started by ``palier serve``). Several
processes share events through Redis when ``REDIS_URL`` is set.
"""
from __future__ import annotations

from flask import current_app
from flask_login import current_user
from flask_socketio import Namespace, SocketIO


class AuthenticatedNamespace(Namespace):
    """A namespace whose connections need a logged-in session.

    The check runs in ``on_connect``, before any event handler: a refused client never joins a
    room. Subclasses needing another kind of credential (a tenant's video link) override
    :meth:`authorize`.
    """

    def authorize(self, auth) -> bool:
        return bool(current_user.is_authenticated)

    def on_connect(self, auth=None):
        if not self.authorize(auth):
            raise ConnectionRefusedError("unauthorized")


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
    app.extensions["palier.namespaces"] = sorted(seen)
    return socketio


def socketio_of(app=None) -> SocketIO:
    """The Socket.IO server of ``app`` (by default the current app), to emit from anywhere."""
    return (app or current_app).extensions["socketio"]
