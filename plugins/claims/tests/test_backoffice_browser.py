"""The agents' queue and a claim's page in a real browser on a desktop screen: an agent filters
the queue, opens a claim, adds an internal note; axe finds no serious or critical violation."""
from __future__ import annotations

import pytest

from core.testing.browser import assert_accessible, log_in
from core.testing.smtp import free_port

pytestmark = pytest.mark.browser


@pytest.fixture
def live_app(make_app):
    port = free_port()
    return make_app(plugins=["notifications", "claims"], PUBLIC_URL=f"http://127.0.0.1:{port}")


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(locale="fr-FR", base_url=live_server.url,
                                  viewport={"width": 1366, "height": 900})
    page = context.new_page()
    yield page
    context.close()


def test_an_agent_works_through_the_queue(page, live_app, make_estate, make_tenant, make_user,
                                          file, move):
    from core.extensions import db
    from plugins.claims.models import Claim

    building = make_estate()
    tenant = make_tenant(building_id=building, first_name="Josiane", last_name="Fabre")
    # In English: the French catalogue of these pages is filled in later.
    agent = make_user("agent", display_name="Agnès Martin", locale="en")
    make_user("technician", display_name="Luc Plombier")
    first, second = file(tenant), file(tenant)
    move(second, "qualified", agent, internal_note="Voisin du dessous prévenu.")
    with live_app.app_context():
        reference = db.session.get(Claim, first).reference

    log_in(page, agent.email)
    page.goto("/backoffice/claims/")
    assert page.get_by_role("link", name="Claims", exact=True).get_attribute(
        "aria-current") == "page"
    assert_accessible(page)
    page.get_by_label("Status", exact=True).select_option("qualified")
    page.get_by_role("button", name="Filter", exact=True).click()
    page.wait_for_url("**/backoffice/claims/?*status=qualified*")
    assert page.locator("tbody tr").count() == 1
    assert_accessible(page)

    page.goto("/backoffice/claims/")
    page.get_by_role("link", name=reference).click()
    page.wait_for_url(f"**/backoffice/claims/{first}")
    assert page.get_by_role("heading", level=1).inner_text().endswith(reference)
    assert_accessible(page)
    page.locator("#note-text").fill("Clés chez la gardienne.")
    with page.expect_navigation():
        page.get_by_role("button", name="Add the note").click()
    assert page.get_by_role("status").inner_text() == "Internal note added."
    assert page.locator(".timeline__entry--internal").inner_text().count(
        "Clés chez la gardienne.") == 1
    assert_accessible(page)
    # The status forms open one at a time; the assignment offers the technicians.
    page.goto(f"/backoffice/claims/{second}")
    page.locator("summary", has_text="Assigned").click()
    assert page.locator("#assigned-technician option", has_text="Luc Plombier").count() == 1
    assert page.get_by_text("Voisin du dessous prévenu.").is_visible()
    assert_accessible(page)
