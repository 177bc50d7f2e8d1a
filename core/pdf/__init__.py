"""PDF documents (letters, reports, minutes): the one helper every plugin renders them with.

``render_pdf("claims/pdf/acknowledgement.html", claim=..., locale="fr")`` renders a Jinja
template of the app (theme loader, translations, autoescaping) to HTML, then hands the HTML to
WeasyPrint in a separate, warm process that may only read the theme's own files
(:mod:`core.pdf.fetcher`) and is killed past ``PDF_TIMEOUT_SECONDS``
(:mod:`core.pdf.workers`). The same template, data and locale give the same bytes.
``docs/pdf.md`` explains the security model and how to write a PDF template.
"""
from __future__ import annotations

import logging

from flask import current_app
from flask_babel import force_locale

from core.pdf.workers import PdfError, PdfTimeout, pool
from core.themes import theme_folders

__all__ = ["PdfError", "PdfTimeout", "render_pdf", "warm_up"]

log = logging.getLogger("palier.pdf")

# Base URL of every rendered document, served from the theme's static folders by the
# workers' URL fetcher: relative URLs in PDF templates and theme stylesheets
# (``css/print.css``, ``../fonts/x.woff``) resolve under it. Defined here, not in
# core.pdf.fetcher, because the web process never imports WeasyPrint; only workers do.
ASSET_BASE = "https://palier-assets.invalid/theme/"


class PdfHelpers:
    """What PDF templates get as ``pdf``: asset URLs and the document's language."""

    def __init__(self, language: str):
        #: Language of the document (``fr``, ``en``), for ``<html lang>``.
        self.language = language

    @staticmethod
    def asset(filename: str) -> str:
        """URL of a theme static file (``css/print.css``, ``img/logo.svg``) for a PDF."""
        return ASSET_BASE + filename


def render_pdf(template_name: str, /, *, locale: str | None = None, **context) -> bytes:
    """Render the Jinja template ``template_name`` with ``context`` to a PDF, as bytes.

    Needs an application context. ``locale`` is the document's language (the recipient's,
    e.g. ``user.locale``); by default the instance's first language, never the language of
    whoever happens to trigger the render, so the same data always gives the same document.
    The template sees only ``context``, ``landlord_name``, ``pdf`` (:class:`PdfHelpers`) and
    the translation functions: no configuration, request, session or current user.

    Raises :class:`PdfTimeout` when WeasyPrint takes longer than ``PDF_TIMEOUT_SECONDS`` (its
    process is killed) and :class:`PdfError` when the document cannot be rendered. URLs the
    document asked for and did not get (anything but the theme's files and ``data:``) are
    logged as warnings on the ``palier.pdf`` logger.
    """
    app = current_app._get_current_object()
    language = locale or app.config["LANGUAGES"][0]
    with force_locale(language):
        html = app.jinja_env.get_template(template_name).render(
            context, pdf=PdfHelpers(language), landlord_name=app.config["LANDLORD_NAME"])
    job = {
        "html": html,
        "static_folders": [str(folder / "static") for folder in
                           theme_folders(app.config["THEMES_DIR"], app.config["THEME"])],
    }
    try:
        answer = pool.render(job, timeout=float(app.config["PDF_TIMEOUT_SECONDS"]),
                             max_workers=int(app.config["PDF_WORKERS"]))
    except PdfTimeout as timeout:
        raise PdfTimeout(f"{template_name}: {timeout}") from None
    if answer[0] == "error":
        raise PdfError(f"{template_name}: {answer[1]}")
    _, pdf, refused, messages = answer
    for url in refused:
        log.warning("PDF %s: refused to fetch %s (only the theme's own files are served)",
                    template_name, url)
    for message in messages:
        log.info("PDF %s: WeasyPrint: %s", template_name, message)
    return pdf


def warm_up() -> None:
    """Start a WeasyPrint worker now, so that the first PDF does not wait for one.

    For batch commands and background workers about to render many documents; the web
    process need not call it. Needs an application context.
    """
    pool.warm_up(int(current_app.config["PDF_WORKERS"]))
