"""The catalogue editor in a real browser: an administrator edits the text, checks it, reads
the change, saves, confirms the activation; axe finds no serious or critical violation."""
from __future__ import annotations

import pytest

from core.testing.browser import assert_accessible, log_in
from core.testing.smtp import free_port
from plugins.claims.catalogue import CATALOGUE_FILE

pytestmark = pytest.mark.browser


@pytest.fixture
def live_app(make_app):
    port = free_port()
    return make_app(plugins=["claims"], PUBLIC_URL=f"http://127.0.0.1:{port}")


def test_an_administrator_edits_and_activates_the_catalogue(page, live_server, live_app,
                                                            make_user):
    admin = make_user("admin")
    log_in(page, admin.email)
    page.goto("/backoffice/claims/catalogue/")
    assert_accessible(page)
    page.locator("main a[href$='/backoffice/claims/catalogue/new']").click()
    page.wait_for_url("**/backoffice/claims/catalogue/new")
    assert_accessible(page)

    source = page.locator("#source")
    assert 'version = "2026.1"' in source.input_value()
    text = CATALOGUE_FILE.read_text(encoding="utf-8").replace(
        'version = "2026.1"', 'version = "2026.2"', 1)
    source.fill(text.replace('responsibility = "tenant"', 'responsibility = "tennant"', 1))
    page.locator("button[value=check]").click()
    page.wait_for_load_state()
    assert "tennant" in page.locator(".error-summary").inner_text()
    assert_accessible(page)

    source = page.locator("#source")
    start = text.index('id = "tap.drips"')
    block_end = text.index("[[problems]]", start)
    text = text[:start] + text[start:block_end].replace(
        'responsibility = "tenant"', 'responsibility = "landlord"') + text[block_end:]
    source.fill(text)
    page.locator("#note").fill("Robinet : à la charge du bailleur")
    page.locator("button[value=check]").click()
    page.wait_for_load_state()
    changes = page.locator("#changed-caption").locator("xpath=..").inner_text()
    assert "tap.drips" in changes and "tenant" in changes and "landlord" in changes
    assert_accessible(page)

    page.locator("button[value=save]").click()
    page.wait_for_url("**/backoffice/claims/catalogue/*")
    assert_accessible(page)
    page.locator("#confirm").check()
    page.locator("form[action$='/activate'] button[type=submit]").click()
    page.wait_for_url("**/backoffice/claims/catalogue/")
    assert "2026.2+" in page.locator(".badge--on").locator("xpath=ancestor::tr").inner_text()
    assert_accessible(page)

    page.goto("/backoffice/claims/catalogue/browse")
    assert_accessible(page)
