"""The only way a PDF being rendered may load anything: the application's own theme files.

WeasyPrint asks its URL fetcher for every stylesheet, ``@import``, font, image, SVG ``<image>``
or ``<use>``, ``<object>`` and attachment a document names. Renderers that fetch what a
document asks for are a classic way to read local files (``file:///etc/passwd``) or to reach
the internal network (SSRF), so this fetcher answers from a fixed list of folders and refuses
everything else without opening a socket or a file:

- ``data:`` URLs are decoded in memory;
- ``https://palier-assets.invalid/theme/<path>`` (:data:`ASSET_BASE`) is the theme's static
  file ``<path>``, looked up in the landlord theme's ``static`` folder then the default
  theme's, with the same lookup as the web (``/theme/<path>``); only asset types are served
  (stylesheets, fonts, images) and a path may not leave its folder;
- anything else (``file:``, ``http:``/``https:`` to any other host, ``ftp:``...) is refused.

Since nothing is ever fetched from a server, there are no redirects to follow. The ``.invalid``
top-level domain never resolves (RFC 6761), so even a slip elsewhere could not reach a host.
"""
from __future__ import annotations

import base64
import binascii
from io import BytesIO
from pathlib import Path
from urllib.parse import unquote, unquote_to_bytes, urlsplit

from weasyprint import URLFetcher
from weasyprint.urls import URLFetcherResponse

from core.pdf import ASSET_BASE

# What a theme's static folder may hand to a document: stylesheets, fonts and images.
ASSET_TYPES = {
    ".css": "text/css",
    ".woff": "font/woff",
    ".woff2": "font/woff2",
    ".ttf": "font/ttf",
    ".otf": "font/otf",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
}


class RefusedURL(ValueError):
    """A document asked for a resource outside the application's own assets."""


class ThemeAssetFetcher(URLFetcher):
    """Serves the theme's static files and ``data:`` URLs; refuses every other URL.

    ``static_folders`` are tried in order (landlord theme, then default theme). Refused URLs
    are kept in :attr:`refused`, in order, for the caller to report.
    """

    def __init__(self, static_folders: list[str]):
        # No protocol allowed and no redirects for the parent class: its network and file
        # handlers must stay unreachable even if some code path called it directly.
        super().__init__(allowed_protocols=(), allow_redirects=False, fail_on_errors=False)
        self.static_folders = [Path(folder).resolve() for folder in static_folders]
        self.refused: list[str] = []

    def fetch(self, url, headers=None):
        """Answer ``url`` from memory or the theme folders, or raise :class:`RefusedURL`."""
        try:
            if url[:5].lower() == "data:":
                return _data_url(url)
            if url.startswith(ASSET_BASE):
                return self._theme_file(url)
            raise RefusedURL("outside the application's own assets")
        except RefusedURL as refusal:
            self.refused.append(url)
            raise RefusedURL(f"{url}: {refusal}") from None

    def _theme_file(self, url: str) -> URLFetcherResponse:
        relative = unquote(urlsplit(url).path[len(urlsplit(ASSET_BASE).path):])
        parts = relative.split("/")
        if not relative or any(part in ("", ".", "..") for part in parts) or "\\" in relative \
                or "\x00" in relative:
            raise RefusedURL("not a plain path inside the theme")
        mime_type = ASSET_TYPES.get(Path(relative).suffix.lower())
        if mime_type is None:
            raise RefusedURL("not a stylesheet, font or image")
        for folder in self.static_folders:
            candidate = (folder / relative).resolve()
            # A symbolic link must not lead out of the theme either.
            if candidate.is_relative_to(folder) and candidate.is_file():
                if mime_type.startswith("font/"):
                    return URLFetcherResponse(url, _font_file(candidate),
                                              {"Content-Type": "font/ttf"})
                return URLFetcherResponse(url, candidate.read_bytes(),
                                          {"Content-Type": mime_type})
        raise RefusedURL("no such theme file")


# Theme fonts decoded from WOFF/WOFF2 to plain OpenType, by (path, modification time, size).
# Decoding WOFF2 is most of the cost of a one-page letter (about 70 ms per face), and a worker
# renders thousands of documents with the same few faces.
_decoded_fonts: dict[tuple[str, int, int], bytes] = {}


def _font_file(path: Path) -> bytes:
    """The font at ``path`` as OpenType bytes, decoded once per worker process."""
    stat = path.stat()
    key = (str(path), stat.st_mtime_ns, stat.st_size)
    font = _decoded_fonts.get(key)
    if font is None:
        font = path.read_bytes()
        if font[:4] in (b"wOFF", b"wOF2"):
            from fontTools.ttLib import TTFont

            # Keep the font's own timestamp: fontTools would otherwise stamp the decoding
            # time into the "head" table, and the same letter would differ from one worker
            # to the next.
            decoded = TTFont(BytesIO(font), recalcTimestamp=False)
            decoded.flavor = None
            out = BytesIO()
            decoded.save(out)
            font = out.getvalue()
        _decoded_fonts[key] = font
    return font


def _data_url(url: str) -> URLFetcherResponse:
    """Decode a ``data:`` URL in memory (RFC 2397)."""
    header, comma, payload = url[5:].partition(",")
    if not comma:
        raise RefusedURL("malformed data: URL")
    params = header.split(";")
    mime_type = params[0] or "text/plain"
    if "base64" in (p.strip().lower() for p in params[1:]):
        try:
            body = base64.b64decode(unquote_to_bytes(payload))
        except binascii.Error:
            raise RefusedURL("malformed base64 in data: URL") from None
    else:
        body = unquote_to_bytes(payload)
    headers = {"Content-Type": mime_type}
    for param in params[1:]:
        name, equals, value = param.partition("=")
        if equals and name.strip().lower() == "charset":
            headers["Content-Type"] = f"{mime_type}; charset={value.strip()}"
    return URLFetcherResponse(url, body, headers)
