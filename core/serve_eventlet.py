"""Production server in eventlet mode: ``python -m core.serve_eventlet HOST PORT``.

eventlet must patch the standard library before anything else is imported, hence a module of
its own started by ``palier serve`` in a fresh process.
"""
import eventlet

eventlet.monkey_patch()

import sys  # noqa: E402

from core import create_app  # noqa: E402
from core.realtime import socketio_of  # noqa: E402


def main(host: str, port: int) -> None:
    app = create_app()
    if app.config["SOCKETIO_ASYNC_MODE"] != "eventlet":
        raise SystemExit("core.serve_eventlet needs PALIER_SOCKETIO_ASYNC_MODE=eventlet.")
    # eventlet's server accepts 1,024 connections by default; a landlord with thousands of
    # open sockets raises it in the configuration.
    socketio_of(app).run(app, host=host, port=port, log_output=True,
                         max_size=int(app.config["SERVE_EVENTLET_MAX_CONNECTIONS"]))


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
