"""A caretaker on their rounds, in a real browser on a phone-size screen (390 × 844): from the
back office's menu to their building, then a claim for the common parts with pictograms and a
photo through the file chooser; one column, nothing wider than the screen, and axe finds no
serious or critical violation on any page."""
from __future__ import annotations

import io
import re

import pytest
from PIL import Image
from sqlalchemy import select

from core.attachments import Attachment
from core.estate import CaretakerAssignment
from core.extensions import db
from core.testing.browser import assert_accessible, log_in
from core.testing.smtp import free_port
from plugins.claims.models import Claim

pytestmark = pytest.mark.browser


@pytest.fixture
def live_app(make_app):
    port = free_port()
    return make_app(plugins=["claims"], PUBLIC_URL=f"http://127.0.0.1:{port}")


def photo() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (30, 90, 200)).save(buffer, "JPEG")
    return buffer.getvalue()


def fits_the_screen(page) -> None:
    """One column on the phone: no sideways scrolling, and every link or button of the page's
    content is at least 44 pixels high (a thumb's touch target)."""
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
    small = page.evaluate("""() => [...document.querySelectorAll(
        'main .button, main .picto, main .choice-list__link, main .caretaker-buildings a')]
        .filter(el => el.getBoundingClientRect().height < 44).map(el => el.outerHTML)""")
    assert small == []


def test_a_caretaker_reports_a_broken_lift_with_a_photo_on_a_phone(page, live_server, live_app,
                                                                  make_estate, make_user):
    building_id = make_estate()
    caretaker = make_user("caretaker", display_name="Gérard Lambert")
    with live_app.app_context():
        db.session.add(CaretakerAssignment(user_id=caretaker.id, building_id=building_id))
        db.session.commit()
    log_in(page, caretaker.email)
    page.wait_for_url("**/backoffice/")
    assert page.viewport_size == {"width": 390, "height": 844}

    page.locator('nav a[href="/caretaker/claims/"]').click()
    page.wait_for_url("**/caretaker/claims/")
    assert_accessible(page)
    fits_the_screen(page)
    page.locator(f'a[href="/caretaker/claims/buildings/{building_id}"]').click()
    page.wait_for_url(f"**/caretaker/claims/buildings/{building_id}")
    assert_accessible(page)
    page.locator(f'a[href="/caretaker/claims/new/building/{building_id}"]').click()
    page.wait_for_url(f"**/caretaker/claims/new/building/{building_id}")
    assert_accessible(page)
    fits_the_screen(page)
    # Common parts only: no room of a dwelling is offered.
    assert page.get_by_role("link", name="WC", exact=True).count() == 0
    page.get_by_role("link", name="Ascenseur", exact=True).click()
    page.wait_for_url("**/new/building/*/lift")
    assert_accessible(page)
    page.get_by_role("link", name="Ascenseur", exact=True).click()
    page.wait_for_url("**/new/building/*/lift/lift")
    assert_accessible(page)
    fits_the_screen(page)
    page.get_by_role("link", name="L’ascenseur est en panne").click()
    page.wait_for_url("**/lift/lift/lift.out_of_order")
    assert_accessible(page)
    # Nobody opens a door of the common parts: that answer is not offered.
    assert page.locator("#access-present").count() == 0
    page.check("#since")
    page.check("#urgency")
    page.check("#access")  # the caretaker has the keys
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(f"**/caretaker/claims/new/building/{building_id}/summary")
    assert_accessible(page)
    fits_the_screen(page)
    assert "Décret 87-713" in page.locator(".claim-who-pays").inner_text()

    page.fill("#description", "Bloqué au 3e étage depuis ce matin.")
    with page.expect_file_chooser() as chooser:
        page.locator("#photos").click()
    chooser.value.set_files(files=[{"name": "ascenseur.jpg", "mimeType": "image/jpeg",
                                    "buffer": photo()}])
    page.locator("#confirm-button").click()
    page.wait_for_url(re.compile(r".*/caretaker/claims/\d+$"))
    assert_accessible(page)
    fits_the_screen(page)
    heading = page.locator("h1").inner_text()
    reference = re.search(r"RC-\d{4}-\d{6}", heading).group(0)
    # The photo is shown, served to the caretaker.
    image = page.locator(".caretaker-photos img")
    assert image.count() == 1
    assert image.evaluate("img => img.complete && img.naturalWidth") == 64
    with live_app.app_context():
        claim = db.session.scalar(select(Claim))
        assert (claim.reference, claim.channel.value, claim.person_id, claim.dwelling_id) == \
            (reference, "caretaker", None, None)
        assert claim.description == "Bloqué au 3e étage depuis ce matin."
        assert db.session.scalar(select(Attachment).where(
            Attachment.owner_id == claim.id)) is not None

    page.locator(f'a[href="/caretaker/claims/buildings/{building_id}"]').last.click()
    page.wait_for_url(f"**/caretaker/claims/buildings/{building_id}")
    assert reference in page.locator(".claim-list").first.inner_text()
    assert_accessible(page)
