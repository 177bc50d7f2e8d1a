"""Browser fixtures: Debian's Chromium driven by Playwright, nothing downloaded.

``live_server`` serves an app on loopback in a thread; ``page`` opens a fresh browser context
(French locale, fake camera and microphone) on it; ``axe_violations(page)`` runs axe-core in the
page and returns the serious and critical violations.
"""
from __future__ import annotations

import shutil
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from core.testing.smtp import free_port

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
# Flags for a closed network and a fake media stream (see docs/testing.md).
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
]


def chromium_path() -> str | None:
    for candidate in CHROMIUM_CANDIDATES:
        if Path(candidate).exists():
            return candidate
    return shutil.which("chromium")


class LiveServer:
    """An app served by Werkzeug's threaded server on a free loopback port."""

    def __init__(self, app, port: int | None = None):
        self.app = app
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._server = make_server("127.0.0.1", self.port, app, threaded=True)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join(timeout=10)
        self._server.server_close()


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium for the session (Debian's package, driven by Playwright)."""
    executable = chromium_path()
    if executable is None:
        pytest.fail("Chromium is not installed: `make test` installs Debian's chromium package.")
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    browser = playwright.chromium.launch(executable_path=executable, headless=True,
                                         args=CHROMIUM_ARGS)
    yield browser
    browser.close()
    playwright.stop()


@pytest.fixture
def live_app(make_app, request):
    """The app the live server serves; override in a test module to change plugins."""
    from core.testing.fixtures import _default_plugins

    # PUBLIC_URL must be known when the app is built (Socket.IO allows only that origin).
    port = free_port()
    return make_app(plugins=_default_plugins(request), PUBLIC_URL=f"http://127.0.0.1:{port}")


@pytest.fixture
def live_server(live_app):
    server = LiveServer(live_app, port=int(live_app.config["PUBLIC_URL"].rsplit(":", 1)[1]))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(locale="fr-FR", base_url=live_server.url,
                                  viewport={"width": 390, "height": 844})
    page = context.new_page()
    yield page
    context.close()


def axe_violations(page, impacts=("serious", "critical")) -> list[dict]:
    """Run axe-core (shipped by axe-playwright-python) in the page; return the violations of
    the given impacts, each with its rule id, help text and offending nodes."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [v for v in results.response["violations"] if v.get("impact") in impacts]


def assert_accessible(page) -> None:
    """Fail with each serious or critical axe-core violation of the page, one per line."""
    violations = axe_violations(page)
    assert violations == [], "\n".join(
        f"{v['id']}: {v['help']} ({len(v['nodes'])} nodes)" for v in violations)


def log_in(page, email: str, password: str | None = None) -> None:
    """Log in through the French login form, as a person would (default test password)."""
    from core.testing.fixtures import DEFAULT_PASSWORD

    page.goto("/login")
    page.get_by_label("Adresse e-mail").fill(email)
    page.get_by_label("Mot de passe", exact=True).fill(password or DEFAULT_PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
