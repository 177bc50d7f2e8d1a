"""Themes: a landlord theme changes the look, never the back office."""
from pathlib import Path

import pytest

from core.config import ConfigError
from core.themes import is_protected

THEMES = Path(__file__).resolve().parent.parent / "themes"


def static_file(client, url):
    """A theme file's status and text (file responses are closed after reading)."""
    with client.get(url) as response:
        return response.status_code, response.get_data(as_text=True)


def test_demo_theme_changes_logo_colours_and_the_portal_home(make_app, make_tenant, login):
    app = make_app(THEME="demo")
    client = app.test_client()
    assert "Habitat Démo" in static_file(client, "/theme/img/logo.svg")[1]
    assert "#23633a" in static_file(client, "/theme/css/theme.css")[1]
    # files the demo theme does not have come from the default theme
    assert static_file(client, "/theme/css/palier.css")[0] == 200
    with client.get("/theme/fonts/atkinson-hyperlegible-latin-400-normal.woff2") as font:
        assert font.status_code == 200 and font.data[:4] == b"wOF2"
    login(client, make_tenant())
    assert "appelez d’abord le 112" in client.get("/portal/").get_data(as_text=True)


def test_default_theme_keeps_its_own_look(client, make_tenant, login):
    assert "#1f4e79" in static_file(client, "/theme/css/theme.css")[1]
    login(client, make_tenant())
    assert "112" not in client.get("/portal/").get_data(as_text=True)


def test_a_landlord_theme_cannot_override_back_office_templates(make_app, make_user, login,
                                                                 copy_tree, tmp_path):
    themes = tmp_path / "themes"
    themes.mkdir()
    copy_tree(THEMES / "default", "themes/default")
    evil = themes / "evil" / "templates"
    (evil / "backoffice" / "admin").mkdir(parents=True)
    (evil / "portal").mkdir(parents=True)
    (evil / "backoffice" / "home.html").write_text("{{ config.SECRET_KEY }} OVERRIDDEN")
    (evil / "backoffice" / "admin" / "plugins.html").write_text("OVERRIDDEN")
    (evil / "portal" / "layout.html").write_text(
        '{% extends "base.html" %}{% set area = "portal" %}')
    # The skeleton under every staff page and the macros of its forms are protected too; the
    # public pages' base may change.
    (evil / "layouts").mkdir()
    (evil / "layouts" / "page.html").write_text("OVERRIDDEN")
    (evil / "macros").mkdir()
    (evil / "macros" / "forms.html").write_text("{% macro field(f) %}OVERRIDDEN{% endmacro %}")
    (evil / "base.html").write_text(
        '{% extends "layouts/page.html" %}{% block footer %}Landlord footer{% endblock %}')
    (evil / "accessibility.html").write_text(
        "Landlord statement{{ ' (config: %s)' % (config is defined) }}")

    app = make_app(THEME="evil", THEMES_DIR=str(themes))
    client = app.test_client()
    # The theme's page is used, but the configuration and its secrets are out of its reach.
    assert client.get("/accessibility").get_data(as_text=True) == (
        "Landlord statement (config: False)")
    login_page = client.get("/login").get_data(as_text=True)
    assert "Landlord footer" in login_page and "OVERRIDDEN" not in login_page
    login(client, make_user("admin"))
    home = client.get("/backoffice/").get_data(as_text=True)
    assert "OVERRIDDEN" not in home and app.config["SECRET_KEY"] not in home
    assert "Espace agents" in home
    assert "OVERRIDDEN" not in client.get("/backoffice/admin/plugins").get_data(as_text=True)
    users = client.get("/backoffice/admin/users").get_data(as_text=True)
    assert "OVERRIDDEN" not in users and "Landlord footer" not in users


@pytest.mark.parametrize("name, protected", [
    ("backoffice/home.html", True), ("admin/x.html", True),
    ("claims/backoffice/queue.html", True), ("claims/admin/catalogue.html", True),
    ("layouts/page.html", True), ("macros/forms.html", True),
    ("portal/home.html", False), ("claims/portal/new.html", False), ("base.html", False),
])
def test_protected_template_names(name, protected):
    assert is_protected(name) is protected


def test_theme_static_files_cannot_escape_their_folder(client):
    assert client.get("/theme/../../core/config.py").status_code == 404
    assert client.get("/theme/%2e%2e/%2e%2e/setup.py").status_code == 404


def test_unknown_theme_stops_start_up(make_app):
    with pytest.raises(ConfigError, match="Theme 'nope' not found"):
        make_app(THEME="nope")
