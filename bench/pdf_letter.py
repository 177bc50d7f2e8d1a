"""Benchmark of a one-page letter through ``core.pdf.render_pdf`` against bare WeasyPrint.

Measured in one run, on the same machine:

- **cold**: the first letter of a process, which starts a WeasyPrint worker;
- **warm**: letters with the worker already running (median and p90 of ``--letters`` renders);
- **batch**: ``--batch`` letters to different tenants, one after the other, then the same
  batch from two threads (two workers);
- **baseline**: WeasyPrint rendering ``<p>hello</p>`` in this very process (no template, no
  worker, no fonts), interleaved with the warm letters so both see the same machine load;
  and the same letter's HTML rendered in this process, to show what the separate process
  costs.

Run from anywhere with the project's interpreter::

    .venv/bin/python bench/pdf_letter.py [--letters 50] [--batch 100]

The last line printed is one JSON object, for scripts. Exit status: 0 the target is met
(warm letter median at most 100 ms, DESIGN.md section 8), 1 missed, 2 bad options.
"""
from __future__ import annotations

import argparse
import json
import secrets
import statistics
import sys
import tempfile
import threading
import time
from datetime import date
from pathlib import Path

from flask import Blueprint

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR.parent))

from core import Plugin, create_app, hookimpl  # noqa: E402
from core.pdf import ASSET_BASE, render_pdf  # noqa: E402
from core.pdf.workers import pool  # noqa: E402

TARGET_WARM_MEDIAN_MS = 100
TEMPLATE = "bench/pdf/letter.html"
LETTER = """\
{% extends "pdf/base.html" %}
{% block title %}Accusé de réception {{ reference }}{% endblock %}
{% block metadata %}<meta name="dcterms.created" content="{{ day.isoformat() }}">{% endblock %}
{% block content %}
<p class="letter__recipient">{{ tenant_name }}
{{ address }}</p>
<p class="letter__place-date">Carcassonne, {{ day|dateformat("long") }}</p>
<p class="letter__subject">Objet : votre demande d’intervention {{ reference }}</p>
<p>Madame, Monsieur,</p>
<p>Nous avons bien reçu votre demande d’intervention du {{ day|dateformat("long") }}
concernant une fuite d’eau sous l’évier de votre cuisine. Elle est enregistrée sous la
référence {{ reference }}.</p>
<p>Un technicien de l’entreprise {{ contractor }} prendra contact avec vous pour convenir d’un
rendez-vous. Ces travaux sont à la charge de votre bailleur.</p>
<table>
  <thead><tr><th>Référence</th><th>Logement</th><th>Intervention</th></tr></thead>
  <tbody><tr><td>{{ reference }}</td><td>{{ dwelling }}</td><td>Plomberie</td></tr></tbody>
</table>
<p>Vous pouvez suivre votre demande à tout moment depuis votre espace locataire.</p>
<p>Veuillez agréer, Madame, Monsieur, l’expression de nos salutations distinguées.</p>
<p class="letter__signature">Le service relation clientèle</p>
{% endblock %}
"""


class BenchLetters(Plugin):
    """Owns the benchmark's letter template, as a plugin owns its PDF templates."""

    name = "bench"

    def __init__(self, folder: Path):
        self.blueprint = Blueprint("bench", __name__, template_folder=str(folder))

    @hookimpl
    def register_blueprints(self, app):
        return [self.blueprint]


def letter_data(n: int) -> dict:
    return {
        "tenant_name": f"Mme Camille Martin-{n:04d}",
        "address": f"{n} rue des Tilleuls\nRésidence Les Tilleuls, bâtiment B\n11000 Carcassonne",
        "day": date(2026, 3, 3),
        "reference": f"R-2026-{n:05d}",
        "contractor": "Plomberie Audoise",
        "dwelling": f"R1-B2-E1-{n % 300:03d}",
    }


def timed(function, *args, **kwargs) -> float:
    """Milliseconds one call takes."""
    started = time.perf_counter()
    function(*args, **kwargs)
    return (time.perf_counter() - started) * 1000


def p90(values: list[float]) -> float:
    return statistics.quantiles(values, n=10)[-1]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--letters", type=int, default=50, help="warm letters measured")
    parser.add_argument("--batch", type=int, default=100, help="letters in the batch")
    options = parser.parse_args(argv)
    if options.letters < 10 or options.batch < 1:
        parser.error("--letters must be at least 10 and --batch at least 1")

    with tempfile.TemporaryDirectory(prefix="palier-bench-pdf-") as tmp:
        folder = Path(tmp) / "templates"
        (folder / "bench" / "pdf").mkdir(parents=True)
        (folder / TEMPLATE).write_text(LETTER, encoding="utf-8")
        app = create_app({
            "ENVIRONMENT": "production", "SECRET_KEY": secrets.token_hex(32),
            "INSTANCE_PATH": str(Path(tmp) / "instance"), "PLUGINS": ["bench"],
            "THEME": "demo", "LANDLORD_NAME": "Habitat Démo", "PDF_WORKERS": 2,
            "MAIL_KEEP_LOCALLY": True,
        }, extra_plugins={"bench": BenchLetters(folder)})
        with app.app_context():
            results = measure(app, options)
    pool.close()
    report(results)
    return 0 if results["warm_median_ms"] <= TARGET_WARM_MEDIAN_MS else 1


def measure(app, options) -> dict:
    from flask_babel import force_locale
    from weasyprint import HTML

    from core.pdf import PdfHelpers
    from core.pdf.fetcher import ThemeAssetFetcher
    from core.pdf.worker import PDF_OPTIONS
    from core.themes import theme_folders

    cold_ms = timed(render_pdf, TEMPLATE, **letter_data(0))

    static = [str(f / "static") for f in theme_folders(app.config["THEMES_DIR"],
                                                       app.config["THEME"])]
    with force_locale("fr"):
        html = app.jinja_env.get_template(TEMPLATE).render(letter_data(0), pdf=PdfHelpers("fr"))

    def hello():
        HTML(string="<p>hello</p>").write_pdf()

    def letter_in_process():
        HTML(string=html, base_url=ASSET_BASE,
             url_fetcher=ThemeAssetFetcher(static)).write_pdf(**PDF_OPTIONS)

    hello()
    letter_in_process()
    warm, bare, in_process = [], [], []
    for n in range(options.letters):
        bare.append(timed(hello))
        warm.append(timed(render_pdf, TEMPLATE, **letter_data(n)))
        in_process.append(timed(letter_in_process))

    started = time.perf_counter()
    sizes = [len(render_pdf(TEMPLATE, **letter_data(n))) for n in range(options.batch)]
    batch_s = time.perf_counter() - started

    def half(start):
        with app.app_context():
            for n in range(start, options.batch, 2):
                render_pdf(TEMPLATE, **letter_data(n))

    pool.warm_up(2)
    threads = [threading.Thread(target=half, args=(start,)) for start in (0, 1)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    batch_two_s = time.perf_counter() - started

    warm_median = statistics.median(warm)
    bare_median = statistics.median(bare)
    return {
        "cold_first_letter_ms": round(cold_ms, 1),
        "warm_median_ms": round(warm_median, 1),
        "warm_p90_ms": round(p90(warm), 1),
        "letter_in_process_median_ms": round(statistics.median(in_process), 1),
        "hello_in_process_median_ms": round(bare_median, 1),
        "warm_to_hello_ratio": round(warm_median / bare_median, 2),
        "batch_letters": options.batch,
        "batch_one_worker_s": round(batch_s, 2),
        "batch_one_worker_ms_per_letter": round(batch_s * 1000 / options.batch, 1),
        "batch_two_workers_s": round(batch_two_s, 2),
        "letter_bytes_median": int(statistics.median(sizes)),
        "target_warm_median_ms": TARGET_WARM_MEDIAN_MS,
    }


def report(results: dict) -> None:
    lines = [
        ("cold first letter (starts a worker)", f"{results['cold_first_letter_ms']} ms"),
        ("warm letter, median / p90", f"{results['warm_median_ms']} / "
                                      f"{results['warm_p90_ms']} ms"),
        ("same letter in this process, median", f"{results['letter_in_process_median_ms']} ms"),
        ("baseline: WeasyPrint hello in this process, median",
         f"{results['hello_in_process_median_ms']} ms"),
        ("warm letter / hello", f"{results['warm_to_hello_ratio']}"),
        (f"batch of {results['batch_letters']} letters, one worker",
         f"{results['batch_one_worker_s']} s ({results['batch_one_worker_ms_per_letter']} "
         "ms per letter)"),
        (f"batch of {results['batch_letters']} letters, two workers",
         f"{results['batch_two_workers_s']} s"),
        ("letter size, median", f"{results['letter_bytes_median']} bytes"),
    ]
    width = max(len(label) for label, _ in lines)
    for label, value in lines:
        print(f"{label:<{width}}  {value}")
    verdict = "met" if results["warm_median_ms"] <= TARGET_WARM_MEDIAN_MS else "MISSED"
    print(f"target: warm letter median <= {TARGET_WARM_MEDIAN_MS} ms: {verdict}")
    print(json.dumps(results))


if __name__ == "__main__":
    sys.exit(main())
