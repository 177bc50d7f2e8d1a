"""The guided entry in a real browser on a phone-size screen (390 × 844): a tenant picks
pictograms, attaches a photo through the file chooser, reads who pays with its legal reference,
confirms and reads the reference; later sees the step an agent moved the claim to, with the
agent's message, and adds a photo from the claim's page. axe finds no serious or critical
violation on any page."""
from __future__ import annotations

import io
import re

import pytest
from PIL import Image
from sqlalchemy import select

from core.extensions import db
from core.testing.browser import assert_accessible, log_in
from core.testing.smtp import free_port
from plugins.claims.models import Claim

pytestmark = pytest.mark.browser


@pytest.fixture
def live_app(make_app):
    port = free_port()
    return make_app(plugins=["notifications", "claims"], PUBLIC_URL=f"http://127.0.0.1:{port}")


def photo() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (30, 90, 200)).save(buffer, "JPEG")
    return buffer.getvalue()


def test_a_tenant_reports_a_running_cistern_on_a_phone(page, live_server, live_app,
                                                       make_tenant, make_user):
    tenant = make_tenant(first_name="Josiane", last_name="Fabre")
    log_in(page, tenant.email)
    page.wait_for_url("**/portal/")
    assert page.viewport_size == {"width": 390, "height": 844}

    page.goto("/portal/claims/new")
    assert_accessible(page)
    # Pictograms are links named by the catalogue's label (their picture's alternative),
    # reached with the Tab key and followed with Enter.
    assert page.get_by_role("link", name="WC", exact=True).is_visible()
    for _ in range(40):
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement.getAttribute('href')") == \
                "/portal/claims/new/toilet":
            break
    else:
        raise AssertionError("the toilet pictogram was never reached with the Tab key")
    page.keyboard.press("Enter")
    page.wait_for_url("**/portal/claims/new/toilet")
    assert_accessible(page)
    page.get_by_role("link", name="Cuvette et chasse d’eau").click()
    page.wait_for_url("**/portal/claims/new/toilet/wc")
    assert_accessible(page)
    page.get_by_role("link", name="La chasse d’eau coule en permanence").click()
    page.wait_for_url("**/new/toilet/wc/wc.cistern_runs")
    assert_accessible(page)

    page.check("#since-this_week")
    page.check("#urgency-within_days")
    page.check("#access")
    page.fill("#availability", "Le matin avant 10 h")
    page.locator("main form button[type=submit]").click()
    page.wait_for_url("**/portal/claims/new/summary")
    assert_accessible(page)

    who_pays = page.locator(".claim-who-pays").inner_text()
    assert "à la charge du locataire" in who_pays.lower()
    assert "Décret 87-712, annexe, IV-d" in who_pays

    page.fill("#description", "La chasse d’eau coule toute la nuit.")
    with page.expect_file_chooser() as chooser:
        page.locator("#photos").click()
    chooser.value.set_files(files=[{"name": "chasse.jpg", "mimeType": "image/jpeg",
                                    "buffer": photo()}])
    assert page.locator("#photos").evaluate("input => input.files.length") == 1
    page.locator("#confirm-button").click()
    page.wait_for_url(re.compile(r".*/portal/claims/\d+/receipt$"))
    assert_accessible(page)

    reference = page.locator(".claim-reference").inner_text()
    assert re.fullmatch(r"RC-\d{4}-\d{6}", reference)
    assert page.locator(".claim-reference").is_visible()
    # Readable on the phone: the reference fits the screen, in big letters.
    box = page.locator(".claim-reference").bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 390
    assert float(page.locator(".claim-reference").evaluate(
        "el => parseFloat(getComputedStyle(el).fontSize)")) >= 28
    with live_app.app_context():
        claim = db.session.scalar(select(Claim))
        assert claim.reference == reference
        assert claim.description == "La chasse d’eau coule toute la nuit."
        from core.attachments import Attachment
        assert db.session.scalar(select(Attachment).where(
            Attachment.owner_id == claim.id)) is not None

    page.goto("/portal/claims/")
    assert reference in page.locator(".claim-list").inner_text()
    assert_accessible(page)
    page.get_by_role("link", name=re.compile(reference)).click()
    page.wait_for_url(re.compile(r".*/portal/claims/\d+$"))
    assert_accessible(page)

    # Later, an agent checks the claim and writes to the tenant.
    agent = make_user("agent")
    with live_app.app_context():
        from core.accounts import User
        from plugins.claims.workflow import change_status

        claim_id = db.session.scalar(select(Claim.id).where(Claim.reference == reference))
        change_status(claim_id, "qualified", actor=db.session.get(User, agent.id),
                      public_message="Un plombier vous appellera demain matin.",
                      internal_note="Joint à vérifier.")
    page.goto("/portal/claims/")
    page.reload()
    page.get_by_role("link", name=re.compile(reference)).click()
    page.wait_for_url(re.compile(rf".*/portal/claims/{claim_id}$"))
    current = page.locator('.stepper [aria-current="step"]')
    assert current.count() == 1 and current.get_attribute("data-status") == "qualified"
    assert page.locator(".claim-status").inner_text() == "Qualifiée"
    assert "Un plombier vous appellera demain matin." in page.locator(".claim-timeline") \
        .inner_text()
    assert "Joint à vérifier" not in page.content()
    assert_accessible(page)

    # The tenant adds a photo from the claim's page, with the phone's file chooser.
    assert page.locator(".claim-photos img").count() == 1
    with page.expect_file_chooser() as chooser:
        page.locator("#information-form #photos").click()
    chooser.value.set_files(files=[{"name": "fuite.jpg", "mimeType": "image/jpeg",
                                    "buffer": photo()}])
    page.locator("#information-form button[type=submit]").click()
    page.wait_for_url(re.compile(rf".*/portal/claims/{claim_id}#history-title$"))
    assert page.locator(".claim-photos img").count() == 2
    # The thumbnails are real pictures the browser could load (served by the core).
    page.locator(".claim-photos").scroll_into_view_if_needed()
    page.wait_for_function("() => [...document.querySelectorAll('.claim-photos img')]"
                           ".every(img => img.complete && img.naturalWidth > 0)")
    assert_accessible(page)
    with live_app.app_context():
        from core.attachments import Attachment

        assert db.session.scalar(select(db.func.count(Attachment.id)).where(
            Attachment.owner_id == claim_id)) == 2
