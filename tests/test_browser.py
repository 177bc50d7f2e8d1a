"""In a real browser: logging in, homes composed from plugin contributions, accessibility."""
import pytest

from core.testing.browser import assert_accessible, log_in

pytestmark = pytest.mark.browser


def test_tenant_logs_in_and_sees_the_portal_home(page, live_server, make_tenant):
    tenant = make_tenant(first_name="Josiane", last_name="Fabre")
    page.goto("/login")
    assert page.title().startswith("Se connecter")
    assert_accessible(page)

    log_in(page, tenant.email)
    page.wait_for_url("**/portal/")
    assert page.get_by_role("heading", level=1).inner_text() == "Bonjour Josiane Fabre"
    cards = page.locator(".card__title").all_inner_texts()
    core_cards = ["Mon logement", "Mon historique", "Mes données personnelles"]
    # The core's cards in their order, the notifications plugin's contact preferences and the
    # claims plugin's two cards (report a problem, my claims).
    assert [card for card in cards if card in core_cards] == core_cards and len(cards) == 6
    assert page.get_by_role("navigation", name="Menu principal").get_by_role(
        "link", name="Mon historique").is_visible()
    assert_accessible(page)

    page.get_by_role("link", name="Mon historique").first.click()
    page.wait_for_url("**/portal/timeline")
    assert "Entrée dans le logement" in page.locator(".timeline").inner_text()
    assert_accessible(page)


def test_agent_logs_in_and_sees_the_back_office_home(page, live_server, make_user,
                                                     make_estate):
    make_estate(dwellings=3)
    agent = make_user("agent", display_name="Sophie Lambert")
    log_in(page, agent.email)
    page.wait_for_url("**/backoffice/")
    widgets = page.locator(".widget h2").all_inner_texts()
    assert widgets[:2] == ["Patrimoine", "Comptes locataires"]
    assert "3 logements" in page.locator(".widget").first.inner_text()
    assert_accessible(page)


def test_wrong_password_shows_a_message_and_keeps_the_form_usable(page, live_server,
                                                                  make_user):
    agent = make_user("agent")
    page.goto("/login")
    page.get_by_label("Adresse e-mail").fill(agent.email)
    page.get_by_label("Mot de passe", exact=True).fill("not the password")
    page.get_by_role("button", name="Se connecter").click()
    assert page.get_by_role("alert").inner_text() == "Adresse e-mail ou mot de passe incorrect."
    assert_accessible(page)


def test_the_language_switch_works_in_the_browser(page, live_server):
    page.goto("/login")
    page.get_by_role("button", name="English").click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", level=1).inner_text() == "Log in to your space"
    assert page.locator("html").get_attribute("lang") == "en"
    assert_accessible(page)


def test_pages_load_no_inline_script_and_break_no_csp_rule(page, live_server, make_tenant):
    messages = []
    page.on("console", lambda message: messages.append(message.text))
    log_in(page, make_tenant().email)
    page.wait_for_url("**/portal/")
    assert not [m for m in messages if "Content Security Policy" in m]
