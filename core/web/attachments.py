"""Serving attachments: one view, for logged-in users, filtered by who may see what.

The view looks the file up through :func:`core.attachments.visible_attachments`, so an
attachment the user may not see is answered exactly like one that does not exist (404). Stored
photos are shown inline with their exact type; anything else is a download. Every answer says
``nosniff``, is private to the user's browser and carries a content security policy that
forbids everything (no script, no style from elsewhere, sandboxed), so that even a file a
browser misreads as a page could do nothing.
"""
from __future__ import annotations

import logging
from urllib.parse import quote

from flask import Blueprint, abort, send_file
from flask_login import current_user

from core.attachments import (
    Attachment,
    ascii_file_name,
    file_path,
    is_storage_name,
    visible_attachments,
)
from core.extensions import db
from core.web.access import login_only

log = logging.getLogger(__name__)

bp = Blueprint("attachments", __name__, url_prefix="/attachments")

# Inline styles only: the browser's own image page around a photo sets them (Chromium reports
# a violation without them; the browser test checks that nothing is blocked).
DOWNLOAD_CSP = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; sandbox"


@bp.route("/<storage_name>")
@login_only
def download(storage_name: str):
    """Send one attachment the current user may see; 404 for any other name."""
    if not is_storage_name(storage_name):
        abort(404)
    attachment = db.session.scalar(
        visible_attachments(current_user).where(Attachment.storage_name == storage_name))
    if attachment is None:
        abort(404)
    path = file_path(attachment)
    if not path.is_file():
        log.error("Attachment %s has a row but no file at %s", attachment.id, path)
        abort(404)
    response = send_file(path, mimetype=attachment.media_type, etag=attachment.sha256,
                         last_modified=attachment.created_at, conditional=True, max_age=None)
    disposition = "inline" if attachment.is_image else "attachment"
    response.headers["Content-Disposition"] = content_disposition(disposition,
                                                                  attachment.original_name)
    response.headers["X-Content-Type-Options"] = "nosniff"
    # The user's right is checked on each request: browsers may keep a copy, but must ask
    # again (a cheap 304 thanks to the ETag) before using it; shared caches keep nothing.
    response.headers["Cache-Control"] = "private, no-cache"
    return response


# Flask-Talisman reads a view's own policy from this attribute (what its per-view decorator
# sets); the application-wide policy would allow same-origin scripts and styles.
download.talisman_view_options = {"content_security_policy": DOWNLOAD_CSP}


def content_disposition(disposition: str, display_name: str) -> str:
    """A Content-Disposition value with a plain ASCII ``filename`` and the exact UTF-8 name
    (RFC 6266 and RFC 5987) for browsers that read it."""
    return (f'{disposition}; filename="{ascii_file_name(display_name)}"; '
            f"filename*=UTF-8''{quote(display_name, safe='')}")
