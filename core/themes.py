"""Themes: the base look and a landlord's overrides.

``themes/default`` holds the base templates and static files. A landlord theme
(``themes/<name>``) holds only what it changes: its templates are looked up first, its static
files too. Back-office and administration templates cannot be overridden by a landlord theme:
staff screens stay the same everywhere, and a theme cannot change what staff are shown.
"""
from __future__ import annotations

from pathlib import Path

from flask import Blueprint, abort, current_app, send_from_directory
from jinja2 import BaseLoader, ChoiceLoader, FileSystemLoader, TemplateNotFound

from core.config import ConfigError
from core.web.access import public

DEFAULT_THEME = "default"
# Template folders (first path segment, or second one inside a plugin's folder) that only the
# default theme and the plugins themselves may provide: the back office, the page skeleton it
# stands on, and the macros its forms use.
PROTECTED_FOLDERS = frozenset({"backoffice", "admin", "layouts", "macros"})


def is_protected(template: str) -> bool:
    """Whether a landlord theme is barred from overriding this template."""
    parts = template.replace("\\", "/").split("/")
    return parts[0] in PROTECTED_FOLDERS or (len(parts) > 2 and parts[1] in PROTECTED_FOLDERS)


class LandlordThemeLoader(BaseLoader):
    """Loads a landlord theme's templates, refusing the protected ones."""

    def __init__(self, folder: Path):
        self.inner = FileSystemLoader(str(folder))

    def get_source(self, environment, template):
        if is_protected(template):
            raise TemplateNotFound(template)
        return self.inner.get_source(environment, template)

    def list_templates(self):
        return [t for t in self.inner.list_templates() if not is_protected(t)]


def theme_folders(themes_dir: str, theme: str) -> list[Path]:
    """The theme's folder then the default theme's, checked to exist."""
    root = Path(themes_dir)
    names = [theme] if theme == DEFAULT_THEME else [theme, DEFAULT_THEME]
    folders = [root / name for name in names]
    for folder in folders:
        if not folder.is_dir():
            raise ConfigError(f"Theme {folder.name!r} not found in {root} (PALIER_THEME).")
    return folders


def jinja_loader(themes_dir: str, theme: str) -> BaseLoader:
    """The app's template loader: landlord theme (filtered), then the default theme."""
    folders = theme_folders(themes_dir, theme)
    loaders: list[BaseLoader] = []
    if theme != DEFAULT_THEME:
        loaders.append(LandlordThemeLoader(folders[0] / "templates"))
    loaders.append(FileSystemLoader(str(folders[-1] / "templates")))
    return ChoiceLoader(loaders)


theme_static = Blueprint("theme", __name__, url_prefix="/theme")


@theme_static.route("/<path:filename>")
@public
def static(filename: str):
    """A static file of the landlord theme, or of the default theme when it has none."""
    for folder in theme_folders(current_app.config["THEMES_DIR"], current_app.config["THEME"]):
        static_folder = folder / "static"
        if (static_folder / filename).is_file():
            return send_from_directory(static_folder, filename, max_age=3600)
    abort(404)
