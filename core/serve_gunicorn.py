"""Production server in threading mode: gunicorn, one gthread worker."""
from __future__ import annotations

from gunicorn.app.base import BaseApplication


class _PalierServer(BaseApplication):
    def __init__(self, options: dict):
        self.options = options
        super().__init__()

    def load_config(self):
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        from core import create_app

        return create_app()


def run_gunicorn(host: str, port: int, threads: int) -> None:
    """Serve on host:port until stopped. One worker: Socket.IO's clients share its memory."""
    _PalierServer({
        "bind": f"{host}:{port}",
        "worker_class": "gthread",
        "workers": 1,
        "threads": threads,
        "accesslog": "-",
        "errorlog": "-",
        "graceful_timeout": 10,
        # gunicorn's runtime control socket lives at one path per user: several instances
        # on one machine would fight over it, and Palier does not use it.
        "control_socket_disable": True,
    }).run()
