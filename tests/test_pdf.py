"""PDFs: French letters with the landlord's look, nothing fetched but the theme's own files,
data printed as text, the same bytes for the same data, bounded in time, no process left."""
from __future__ import annotations

import hashlib
import io
import logging
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from flask import Blueprint
from pypdf import PdfReader

from core import Plugin, hookimpl
from core.config import ConfigError
from core.pdf import PdfTimeout, render_pdf
from core.pdf.workers import pool

ROOT = Path(__file__).resolve().parent.parent

LETTER = """\
{% extends "pdf/base.html" %}
{% block title %}Accusé de réception {{ reference }}{% endblock %}
{% block metadata %}
  <meta name="dcterms.created" content="{{ day.isoformat() }}">
{% endblock %}
{% block content %}
<p class="letter__recipient">{{ tenant_name }}
{{ address }}</p>
<p class="letter__place-date">Carcassonne, {{ day|dateformat("long") }}</p>
<p class="letter__subject">Objet : votre demande {{ reference }}</p>
<p>Madame, Monsieur,</p>
<p>Nous avons bien reçu votre demande d’intervention concernant la fuite d’eau sous l’évier.
Un technicien passera chez vous ; vous serez prévenu(e) la veille.</p>
<p class="letter__signature">Le service clientèle</p>
{% endblock %}
"""

# Every way a document can ask WeasyPrint for something: stylesheets, @import, fonts,
# images, SVG images and uses (in an <img> and inline), objects, attachments, a <base> that
# sends relative URLs elsewhere, and paths that try to leave the theme's folder.
HOSTILE = """\
{% extends "pdf/base.html" %}
{% block metadata %}
  <base href="http://127.0.0.1:{{ port }}/base/">
  <link rel="stylesheet" href="http://127.0.0.1:{{ port }}/x.css">
  <link rel="stylesheet" href="file:///etc/passwd">
  <link rel="attachment" href="http://127.0.0.1:{{ port }}/attachment.txt">
  <style>
    @import url(file:///dev/urandom);
    @import url("http://127.0.0.1:{{ port }}/imported.css");
    @font-face { font-family: Stolen; src: url(file:///etc/passwd) format("truetype"); }
    body { background: url(http://127.0.0.1:{{ port }}/background.png); }
  </style>
{% endblock %}
{% block content %}
<p>Document piégé pour {{ tenant_name }}.</p>
<img src="file:///etc/passwd" alt="">
<img src="relative.png" alt="">
<img src="{{ svg }}" alt="">
<svg width="20" height="20" xmlns="http://www.w3.org/2000/svg"
     xmlns:xlink="http://www.w3.org/1999/xlink">
  <image href="file:///etc/hostname" width="10" height="10"/>
  <image xlink:href="http://127.0.0.1:{{ port }}/inline-svg.png" width="10" height="10"/>
  <use href="file:///etc/passwd#x"/>
</svg>
<object data="file:///etc/passwd"></object>
<embed src="http://127.0.0.1:{{ port }}/embed.svg">
<a rel="attachment" href="file:///etc/passwd">pièce jointe</a>
<img src="https://palier-assets.invalid/theme/../../../../etc/passwd" alt="">
<img src="https://palier-assets.invalid/theme/css/%2e%2e/%2e%2e/%2e%2e/setup.py" alt="">
<img src="https://palier-assets.invalid/theme/fonts/OFL.txt" alt="">
<img src="https://evil.example/theme/img/logo.svg" alt="">
{% endblock %}
"""

SVG_WITH_FILE = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
    '<image href="file:///etc/passwd" width="10" height="10"/>'
    '<image href="http://127.0.0.1:{port}/in-svg.png" width="10" height="10"/></svg>'
)

# Hundreds of pages of tables: tens of seconds to lay out, far beyond the test's time limit.
HEAVY = """\
{% extends "pdf/base.html" %}
{% block content %}
{% for n in range(6000) %}
<table><tr><td>Ligne {{ n }}</td><td>Résidence des Tilleuls, bâtiment {{ n }}</td></tr></table>
{% endfor %}
{% endblock %}
"""


class Letters(Plugin):
    """A throw-away plugin that owns PDF templates, as a real plugin would."""

    name = "letters"

    def __init__(self, template_folder: Path):
        self.blueprint = Blueprint("letters", __name__, template_folder=str(template_folder))

    @hookimpl
    def register_blueprints(self, app):
        return [self.blueprint]


@pytest.fixture
def letters_app(make_app, tmp_path):
    """An app whose ``letters`` plugin has the templates above; ``letters_app(**config)``."""
    folder = tmp_path / "letters-templates" / "letters" / "pdf"
    folder.mkdir(parents=True)
    for name, source in (("notice", LETTER), ("hostile", HOSTILE), ("heavy", HEAVY)):
        (folder / f"{name}.html").write_text(source, encoding="utf-8")

    def factory(**config):
        config.setdefault("LANDLORD_NAME", "Habitat Sud")
        return make_app(plugins=["letters"],
                        extra_plugins={"letters": Letters(tmp_path / "letters-templates")},
                        **config)

    return factory


def letter(app, locale=None, **data):
    values = {"tenant_name": "Camille Martin", "address": "3 rue de la Paix\n11000 Carcassonne",
              "day": date(2026, 3, 3), "reference": "R-2026-0012"}
    values.update(data)
    with app.app_context():
        return render_pdf("letters/pdf/notice.html", locale=locale, **values)


def text_of(pdf: bytes) -> str:
    """The text of every page, each run of white space as one space (lines wrap anywhere)."""
    pages = (page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    return " ".join(" ".join(pages).split())


def fonts_of(pdf: bytes) -> list[dict]:
    fonts = []
    for page in PdfReader(io.BytesIO(pdf)).pages:
        for font in page["/Resources"]["/Font"].values():
            fonts.append(font.get_object())
    return fonts


def pdf_workers(parent: int | None = None) -> list[int]:
    """Process ids of the live WeasyPrint workers of ``parent`` (this process by default),
    read from /proc."""
    parent = os.getpid() if parent is None else parent
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes()
        except OSError:  # the process ended while we looked
            continue
        state, ppid = stat.rsplit(")", 1)[1].split()[:2]
        if int(ppid) == parent and state != "Z" and b"core.pdf.worker" in command:
            pids.append(int(entry.name))
    return pids


def is_running(pid: int) -> bool:
    """Whether ``pid`` is a live process (not gone, not a zombie waiting to be reaped)."""
    try:
        return (Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]) != "Z"
    except OSError:
        return False


def test_a_letter_is_in_french_with_the_landlords_header_and_footer(letters_app):
    text = text_of(letter(letters_app()))
    assert "Nous avons bien reçu votre demande d’intervention" in text
    assert "Carcassonne, 3 mars 2026" in text
    assert "Objet : votre demande R-2026-0012" in text
    assert text.count("Habitat Sud") == 2  # header and footer
    assert "Page 1 / 1" in text


def test_a_letter_can_be_written_in_the_recipients_language(letters_app):
    text = text_of(letter(letters_app(), locale="en"))
    assert "Carcassonne, March 3, 2026" in text


def test_a_letter_does_not_take_the_language_of_whoever_prints_it(letters_app):
    from flask import session
    from flask_babel import get_locale, gettext

    app = letters_app()
    with app.test_request_context("/"):
        session["lang"] = "en"  # a member of staff who reads the site in English
        assert gettext("Log in") == "Log in"
        pdf = render_pdf("letters/pdf/notice.html", tenant_name="Camille Martin", address="",
                         day=date(2026, 3, 3), reference="R-1")
        assert str(get_locale()) == "en" and gettext("Log in") == "Log in"  # page unchanged
    assert "Carcassonne, 3 mars 2026" in text_of(pdf)


def test_the_theme_font_is_embedded(letters_app):
    fonts = fonts_of(letter(letters_app()))
    names = {str(font["/BaseFont"]).split("+", 1)[1] for font in fonts}
    assert names == {"Atkinson-Hyperlegible", "Atkinson-Hyperlegible-Bold"}
    for font in fonts:
        descriptor = font["/DescendantFonts"][0].get_object()["/FontDescriptor"].get_object()
        assert "/FontFile2" in descriptor or "/FontFile3" in descriptor  # the glyphs themselves


def test_a_landlord_theme_restyles_its_letters(letters_app, copy_tree, tmp_path):
    themes = tmp_path / "themes"
    copy_tree(ROOT / "themes" / "default", "themes/default")
    (themes / "sud" / "static" / "css").mkdir(parents=True)
    (themes / "sud" / "static" / "css" / "theme.css").write_text(
        (ROOT / "themes/default/static/css/theme.css").read_text(encoding="utf-8")
        + '.pdf-footer::after { content: " · Bailleur du Sud"; }\n', encoding="utf-8")
    text = text_of(letter(letters_app(THEME="sud", THEMES_DIR=str(themes))))
    assert "Habitat Sud · Bailleur du Sud" in text
    assert "Bailleur du Sud" not in text_of(letter(letters_app()))


def test_markup_in_the_data_is_printed_as_text(letters_app):
    name = '<b>Camille</b> <script>alert("x")</script> <img src="file:///etc/passwd">'
    assert name in text_of(letter(letters_app(), tenant_name=name))


class CountingHandler(BaseHTTPRequestHandler):
    """Answers anything with a tiny stylesheet, and counts the requests."""

    hits: list[str] = []

    def do_GET(self):
        type(self).hits.append(self.path)
        body = b"body { color: red }"
        self.send_response(200)
        self.send_header("Content-Type", "text/css")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def counting_server():
    CountingHandler.hits = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), CountingHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join()


def test_a_hostile_document_fetches_nothing_but_the_theme(letters_app, counting_server, caplog):
    import base64

    port = counting_server.server_address[1]
    # The server answers: were anything fetched from it, the count below would show it.
    assert _get(f"http://127.0.0.1:{port}/probe") == 200
    CountingHandler.hits.clear()

    svg = "data:image/svg+xml;base64," + base64.b64encode(
        SVG_WITH_FILE.format(port=port).encode()).decode()
    app = letters_app()
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="palier.pdf"), app.app_context():
        pdf = render_pdf("letters/pdf/hostile.html", port=port, svg=svg,
                         tenant_name="Camille Martin")
    assert time.monotonic() - started < 15  # /dev/urandom was not read to the end

    assert CountingHandler.hits == []
    refused = {record.getMessage().split(" refused to fetch ")[1].split(" (")[0]
               for record in caplog.records}
    for url in (
        f"http://127.0.0.1:{port}/x.css", "file:///etc/passwd", "file:///dev/urandom",
        f"http://127.0.0.1:{port}/imported.css", f"http://127.0.0.1:{port}/background.png",
        f"http://127.0.0.1:{port}/base/relative.png", "file:///etc/hostname",
        f"http://127.0.0.1:{port}/inline-svg.png", f"http://127.0.0.1:{port}/in-svg.png",
        f"http://127.0.0.1:{port}/embed.svg", f"http://127.0.0.1:{port}/attachment.txt",
        "https://palier-assets.invalid/theme/../../../../etc/passwd",
        "https://palier-assets.invalid/theme/css/%2e%2e/%2e%2e/%2e%2e/setup.py",
        "https://palier-assets.invalid/theme/fonts/OFL.txt",
        "https://evil.example/theme/img/logo.svg",
    ):
        assert url in refused, url
    assert all(url.startswith(("file:", "http:", "https:")) for url in refused)

    text = text_of(pdf)
    assert "Document piégé pour Camille Martin." in text
    assert "root:" not in text
    reader = PdfReader(io.BytesIO(pdf))
    assert "/EmbeddedFiles" not in reader.trailer["/Root"].get("/Names", {})
    assert not any("/Annots" in page and any(
        annotation.get_object().get("/Subtype") == "/FileAttachment"
        for annotation in page["/Annots"]) for page in reader.pages)
    # The theme's own files still came through.
    assert {str(f["/BaseFont"]).split("+", 1)[1] for f in fonts_of(pdf)} \
        >= {"Atkinson-Hyperlegible"}


def _get(url: str) -> int:
    import urllib.request

    with urllib.request.urlopen(url, timeout=5) as response:
        return response.status


def test_refusing_a_url_opens_no_file_and_no_socket():
    """The fetcher itself, watched by an audit hook in this process: a refused URL costs no
    file opened and no connection attempted, while a theme file is read from the theme."""
    from core.pdf.fetcher import RefusedURL, ThemeAssetFetcher

    watching = threading.local()
    events: list[tuple] = []

    def audit(event, args):
        if getattr(watching, "on", False) and event in ("open", "socket.connect",
                                                       "socket.getaddrinfo", "os.listdir"):
            events.append((event, args[0]))

    sys.addaudithook(audit)
    fetcher = ThemeAssetFetcher([str(ROOT / "themes/default/static")])
    for url in ("file:///etc/passwd", "file:///dev/urandom", "http://127.0.0.1:9/x.css",
                "https://palier-assets.invalid/theme/../../etc/passwd", "ftp://example.org/x",
                "https://palier-assets.invalid/theme/fonts/OFL.txt"):
        watching.on = True
        try:
            with pytest.raises(RefusedURL):
                fetcher.fetch(url)
        finally:
            watching.on = False
        assert events == [], url
    assert fetcher.refused[0] == "file:///etc/passwd"

    watching.on = True
    try:
        response = fetcher.fetch("https://palier-assets.invalid/theme/css/print.css")
    finally:
        watching.on = False
    assert b"@page" in response.read()
    assert [path for event, path in events if event == "open"] == [
        str(ROOT / "themes/default/static/css/print.css")]


def test_the_same_data_gives_the_same_bytes(letters_app):
    app = letters_app()
    first = letter(app)
    assert letter(app) == first
    pool.close()  # a fresh WeasyPrint process too
    assert letter(letters_app()) == first
    reader = PdfReader(io.BytesIO(first))
    assert reader.metadata["/CreationDate"] == "D:20260303"  # the letter's date, from the data
    assert "/ModDate" not in reader.metadata
    identifier = reader.trailer["/ID"]
    assert identifier[0] == identifier[1] and len(str(identifier[0])) == 32
    # The identifier follows the content: other data, another document.
    other = letter(app, reference="R-2026-0013")
    assert hashlib.sha256(other).hexdigest() != hashlib.sha256(first).hexdigest()
    assert PdfReader(io.BytesIO(other)).trailer["/ID"][0] != identifier[0]


def test_a_render_past_the_time_limit_is_stopped_and_leaves_no_process(letters_app):
    app = letters_app(PDF_TIMEOUT_SECONDS=2, PDF_WORKERS=1)
    pool.close()
    letter(app)  # a warm worker, as in production
    workers = pdf_workers()
    assert len(workers) == 1
    started = time.monotonic()
    with app.app_context(), pytest.raises(PdfTimeout) as stopped:
        render_pdf("letters/pdf/heavy.html")
    assert time.monotonic() - started < 8
    assert "letters/pdf/heavy.html" in str(stopped.value)
    assert "PDF_TIMEOUT_SECONDS" in str(stopped.value)
    assert pdf_workers() == []
    assert not Path(f"/proc/{workers[0]}").exists()  # killed and reaped: not even a zombie
    assert "Camille Martin" in text_of(letter(app))  # the next document gets a new worker


def test_workers_get_none_of_palier_s_secrets(letters_app, monkeypatch):
    monkeypatch.setenv("PALIER_SECRET_KEY", "a-secret-the-worker-must-not-hold")
    monkeypatch.setenv("PALIER_DATABASE_URL", "postgresql://palier:password@db/palier")
    app = letters_app()
    pool.close()
    letter(app)
    (worker,) = pdf_workers()
    environment = Path(f"/proc/{worker}/environ").read_bytes()
    assert b"PALIER_" not in environment and b"a-secret" not in environment
    assert b"PYTHONHASHSEED=0" in environment.split(b"\0")


def test_concurrent_renders_share_a_bounded_pool(letters_app):
    app = letters_app(PDF_WORKERS=2)
    pool.close()
    results, counts = [], []

    def render(n):
        results.append(letter(app, reference=f"R-{n % 2}"))
        counts.append(len(pdf_workers()))

    threads = [threading.Thread(target=render, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 6 and len(set(results)) == 2
    assert max(counts) <= 2 and 1 <= len(pdf_workers()) <= 2
    pool.close()
    assert pdf_workers() == []


def test_workers_stop_when_their_parent_dies(tmp_path):
    """A killed web process leaves no WeasyPrint process behind, even one mid-render."""
    script = tmp_path / "parent.py"
    script.write_text(textwrap.dedent("""
        import sys
        from core.pdf.workers import pool
        pool.warm_up(1)
        print("ready", flush=True)
        sys.stdin.read()
    """), encoding="utf-8")
    parent = subprocess.Popen([sys.executable, str(script)], cwd=ROOT, stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert parent.stdout.readline() == "ready\n"
        workers = pdf_workers(parent.pid)
        assert len(workers) == 1
    finally:
        parent.send_signal(signal.SIGKILL)
        parent.wait()
        parent.stdin.close()
        parent.stdout.close()
    deadline = time.monotonic() + 10
    while is_running(workers[0]) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not is_running(workers[0])


@pytest.mark.parametrize("key, value, message", [
    ("PDF_TIMEOUT_SECONDS", 0, "PDF_TIMEOUT_SECONDS must be a positive number"),
    ("PDF_WORKERS", 0, "PDF_WORKERS must be at least 1"),
])
def test_pdf_settings_are_checked_at_start_up(make_app, key, value, message):
    with pytest.raises(ConfigError, match=message):
        make_app(**{key: value})
