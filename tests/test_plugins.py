"""Enabling plugins: requirements, misspelt hooks, domain events, disabling, listing."""
from importlib import metadata

import pytest
from flask import Blueprint

from core import Plugin, hookimpl
from core.contributions import Card, NavItem
from core.hookspecs import hookspec
from core.plugins import PluginError, registry


class Claims(Plugin):
    """Claims (réclamations), as a stand-in publishing its own domain event."""

    name = "claimsdemo"

    class hookspecs:  # noqa: N801 - the attribute name the platform looks for
        @staticmethod
        @hookspec
        def claim_submitted(claim_reference):
            """A tenant submitted a claim."""

    def submit(self, app, reference):
        return registry(app).hook.claim_submitted(claim_reference=reference)


class Listener(Plugin):
    """Reacts to another plugin's event."""

    name = "listener"
    requires = ("claimsdemo",)

    @hookimpl
    def claim_submitted(self, claim_reference):
        return f"acknowledged {claim_reference}"


def test_a_plugin_missing_its_requirement_stops_start_up(make_app):
    with pytest.raises(PluginError) as error:
        make_app(plugins=["listener"], extra_plugins={"listener": Listener(),
                                                       "claimsdemo": Claims()})
    assert "'listener' requires 'claimsdemo'" in str(error.value)
    assert "PALIER_PLUGINS" in str(error.value)


def test_plugins_publish_and_implement_domain_events(make_app):
    claims = Claims()
    app = make_app(plugins=["claimsdemo", "listener"],
                   extra_plugins={"claimsdemo": claims, "listener": Listener()})
    assert claims.submit(app, "RC-2026-000123") == ["acknowledged RC-2026-000123"]


def test_a_misspelt_hook_fails_loudly(make_app):
    class Typo(Plugin):
        name = "typo"

        @hookimpl
        def portal_card(self, user):  # the hook is portal_cards
            return []

    with pytest.raises(PluginError, match="portal_card"):
        make_app(plugins=["typo"], extra_plugins={"typo": Typo()})


def test_an_unknown_plugin_name_is_refused_with_the_choices(make_app):
    with pytest.raises(PluginError, match="Unknown plugin.*nope"):
        make_app(plugins=["nope"])


class Board(Plugin):
    """A plugin with a page, a menu entry and a card."""

    name = "board"

    @hookimpl
    def register_blueprints(self, app):
        bp = Blueprint("board", __name__)
        bp.add_url_rule("/portal/board", "index", lambda: "board page")
        return [bp]

    @hookimpl
    def navigation_items(self, user, area):
        return [NavItem("Tableau d'affichage", "/portal/board")] if area == "portal" else []

    @hookimpl
    def portal_cards(self, user):
        return [Card("Tableau d'affichage", "Les avis de la résidence", "/portal/board")]


@pytest.mark.parametrize("enabled", [True, False])
def test_disabling_a_plugin_removes_its_routes_menu_and_cards(make_app, make_tenant, login,
                                                              enabled):
    app = make_app(plugins=["board"] if enabled else [], extra_plugins={"board": Board()})
    client = app.test_client()
    login(client, make_tenant())
    home = client.get("/portal/").get_data(as_text=True)
    assert (home.count("Tableau d&#39;affichage") == 2) is enabled  # menu entry and card
    assert client.get("/portal/board").status_code == (200 if enabled else 404)


def test_palier_plugins_lists_state_version_hooks_and_routes(make_app):
    app = make_app(plugins=["board"], extra_plugins={"board": Board(), "listener": Listener()})
    result = app.test_cli_runner().invoke(args=["plugins"])
    assert result.exit_code == 0, result.output
    out = result.output
    version = metadata.version("palier")
    assert f"board {version} [enabled] (application)" in out
    assert f"listener {version} [disabled] (application)" in out
    assert "hooks: navigation_items, portal_cards, register_blueprints" in out
    assert "routes: /portal/board" in out
    assert "requires: claimsdemo" in out


def test_admin_page_lists_plugins_and_their_state(make_app, make_user, login):
    app = make_app(plugins=["board"], extra_plugins={"board": Board(), "listener": Listener()})
    admin, agent = app.test_client(), app.test_client()
    login(admin, make_user("admin"))
    login(agent, make_user("agent"))
    page = admin.get("/backoffice/admin/plugins").get_data(as_text=True)
    assert "board" in page and "listener" in page and "/portal/board" in page
    assert page.count("badge--on") == 2  # core and board
    assert agent.get("/backoffice/admin/plugins").status_code == 403


def test_a_plugin_whose_name_disagrees_with_its_registration_is_refused(make_app):
    with pytest.raises(PluginError, match="calls itself 'board'"):
        make_app(plugins=[], extra_plugins={"noticeboards": Board()})


def test_description_is_the_first_paragraph_of_the_docstring(make_app):
    class Wrapped(Plugin):
        """Notices of the residence, shown to its tenants
        and posted by staff.

        Details nobody reads in a listing.
        """

        name = "wrapped"

    app = make_app(plugins=[], extra_plugins={"wrapped": Wrapped()})
    assert registry(app).plugins["wrapped"].description == (
        "Notices of the residence, shown to its tenants and posted by staff.")
