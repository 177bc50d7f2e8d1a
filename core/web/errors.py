"""Error pages in the user's language, and the same answers for API clients."""
from __future__ import annotations

from flask import make_response, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from core.extensions import db


def _messages():
    return {
        400: _("The request could not be understood. Please go back and try again."),
        403: _("You do not have access to this page."),
        404: _("This page does not exist, or you do not have access to it."),
        405: _("This action is not possible here."),
        413: _("The file or form you sent is too large."),
        429: _("Too many attempts. Please wait a moment before trying again."),
        500: _("Something went wrong on our side. Your data is safe; please try again later."),
    }


def register(app) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(error):
        message = _("Your form has expired. Please go back, reload the page and try again.")
        return _render(400, message)

    @app.errorhandler(HTTPException)
    def http_error(error):
        response = make_response(_render(error.code or 500, _messages().get(error.code)))
        # Headers the error carries (Allow on 405, Retry-After on 429) reach the client.
        for name, value in error.get_response().headers.items():
            if name.lower() not in ("content-type", "content-length"):
                response.headers.setdefault(name, value)
        return response

    @app.errorhandler(500)
    def server_error(error):
        # A failed flush leaves the session unusable: the error page must not query with it.
        db.session.rollback()
        return _render(500, _messages()[500])


def _render(code: int, message: str | None):
    message = message or _messages()[500 if code >= 500 else 400]
    if request.accept_mimetypes.best == "application/json" or request.is_json:
        return {"error": message, "status": code}, code
    return render_template("error.html", code=code, message=message), code
