"""The WeasyPrint process: ``python -m core.pdf.worker <jobs fd> <results fd>``.

Started by :mod:`core.pdf.workers`, never by hand. It imports WeasyPrint once, renders a tiny
document so that Pango and fontconfig are loaded before the first real job, says it is ready,
then renders one HTML document per job for as long as its parent lives. It holds no
application state: each job carries its HTML and the theme folders its fetcher may read.

Messages on the two pipes are pickled tuples (both ends are this module and its parent):

- parent → worker: ``{"html": str, "static_folders": [str, ...]}``, or ``None`` to stop;
- worker → parent: ``("ready", pid)`` once, then per job ``("ok", pdf_bytes, refused_urls,
  weasyprint_messages)`` or ``("error", message)``.
"""
from __future__ import annotations

import logging
import os
import sys
import threading
import time
from multiprocessing.connection import Connection

# The PDF's file identifier (trailer /ID) is an MD5 of the document's objects, not random, so
# the same document gives the same bytes. WeasyPrint writes no creation or modification date
# unless the document's own metadata (``<meta name="dcterms.created">``) gives one.
PDF_OPTIONS = {"pdf_identifier": True}

WARM_UP_HTML = "<!doctype html><title>warm-up</title><p>Prêt à imprimer.</p>"


class _Collector(logging.Handler):
    """Keeps WeasyPrint's warnings about one document, to hand them to the parent."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def render(job: dict) -> tuple:
    """Render one job; never raises, since the parent must always get an answer."""
    from weasyprint import HTML

    from core.pdf.fetcher import ASSET_BASE, ThemeAssetFetcher

    fetcher = ThemeAssetFetcher(job["static_folders"])
    collector = _Collector()
    weasyprint_logger = logging.getLogger("weasyprint")
    weasyprint_logger.addHandler(collector)
    try:
        pdf = HTML(string=job["html"], base_url=ASSET_BASE, url_fetcher=fetcher).write_pdf(
            **PDF_OPTIONS)
    except Exception as error:  # a document WeasyPrint cannot render: tell the caller why
        return ("error", f"{type(error).__name__}: {error}")
    finally:
        weasyprint_logger.removeHandler(collector)
    return ("ok", pdf, fetcher.refused, collector.messages)


def _exit_when_orphaned(parent_pid: int) -> None:
    """Stop this process if its parent dies, even in the middle of a long render."""

    def watch():
        while os.getppid() == parent_pid:
            time.sleep(1)
        os._exit(1)

    threading.Thread(target=watch, name="pdf-parent-watch", daemon=True).start()


def main(argv: list[str]) -> int:
    jobs = Connection(int(argv[1]), writable=False)
    results = Connection(int(argv[2]), readable=False)
    _exit_when_orphaned(os.getppid())
    render({"html": WARM_UP_HTML, "static_folders": []})
    try:
        results.send(("ready", os.getpid()))
        while (job := jobs.recv()) is not None:
            results.send(render(job))
    except (EOFError, BrokenPipeError):  # the parent closed its end or died
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
