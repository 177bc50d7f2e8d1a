"""The tenant's guided entry, receipt, list and claim page, through the test client.

Pages are asked for in English (the tenant's account locale) where their own wording is
checked; who pays is checked in French too, the words a tenant reads by default.
"""
from __future__ import annotations

import io
import re

import pytest
from PIL import Image
from sqlalchemy import func, select

from core.extensions import db
from core.testing.fixtures import csrf_token
from plugins.claims.models import Claim

WC = ("toilet", "wc", "wc.cistern_runs")
FLAPPER_REFERENCE = "Décret 87-712, annexe, IV-d"


@pytest.fixture
def tenant(claims_app, make_tenant):
    return make_tenant(locale="en")


@pytest.fixture
def client(claims_app, tenant, login):
    client = claims_app.test_client()
    login(client, tenant)
    return client


def claim_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(Claim.id)))


def jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 30, 30)).save(buffer, "JPEG")
    return buffer.getvalue()


def answer_questions(client, place, equipment, problem, **answers):
    url = f"/portal/claims/new/{place}/{equipment}/{problem}"
    data = {"csrf_token": csrf_token(client, url), "since": "this_week",
            "urgency": "within_days", "access": "present", "availability": "After 5 pm",
            **answers}
    return client.post(url, data=data)


def confirm_form(client) -> dict:
    """The hidden fields of the summary's confirmation form, as a browser sends them."""
    html = client.get("/portal/claims/new/summary").get_data(as_text=True)
    form = html[html.index('id="confirm-form"'):]
    form = form[:form.index("</form>")]
    return dict(re.findall(r'<input[^>]*name="([^"]+)"[^>]*type="hidden"[^>]*value="([^"]*)"',
                           form) + re.findall(
        r'<input[^>]*type="hidden"[^>]*name="([^"]+)"[^>]*value="([^"]*)"', form))


def test_each_step_leads_to_the_next(client):
    where = client.get("/portal/claims/new").get_data(as_text=True)
    assert 'href="/portal/claims/new/toilet"' in where
    assert "Common parts" in where or "common parts" in where
    equipment = client.get("/portal/claims/new/toilet").get_data(as_text=True)
    # Big pictograms served by the plugin, whose text alternative is the catalogue's label.
    assert 'src="/portal/claims/static/pictograms/wc.svg" alt="Toilet bowl and cistern"' \
        in equipment
    picture = client.get("/portal/claims/static/pictograms/wc.svg")
    assert picture.status_code == 200 and b"<svg" in picture.data
    picture.close()
    problems = client.get("/portal/claims/new/toilet/wc").get_data(as_text=True)
    assert "The cistern keeps running (flapper seal, float)" in problems
    assert 'href="/portal/claims/new/toilet/wc/wc.cistern_runs"' in problems
    questions = client.get("/portal/claims/new/toilet/wc/wc.cistern_runs")
    assert questions.status_code == 200 and "Since when?" in questions.get_data(as_text=True)
    response = answer_questions(client, *WC)
    assert response.status_code == 302 and response.location.endswith("/portal/claims/new/summary")


def test_the_summary_says_who_pays_with_the_legal_reference(client):
    answer_questions(client, *WC)
    html = client.get("/portal/claims/new/summary").get_data(as_text=True)
    assert "Charged to the tenant" in html
    assert FLAPPER_REFERENCE in html
    assert "within 3 working days" in html  # the catalogue's 72 hours, on the calendar
    assert 'accept="image/*"' in html and 'capture="environment"' in html


def test_the_summary_in_french_says_a_la_charge_du_locataire(claims_app, make_tenant, login):
    client = claims_app.test_client()
    login(client, make_tenant(locale="fr"))
    answer_questions(client, *WC)
    html = client.get("/portal/claims/new/summary").get_data(as_text=True)
    assert "la charge du locataire" in html and FLAPPER_REFERENCE in html


def test_safety_advice_comes_first_for_a_smell_of_gas(client):
    answer_questions(client, "kitchen", "gas", "gas.smell", urgency="cannot_wait")
    html = client.get("/portal/claims/new/summary").get_data(as_text=True)
    assert "0 800 47 33 33" in html
    assert html.index("0 800 47 33 33") < html.index("Who pays for the repair")


def test_the_draft_survives_leaving_the_page(client):
    answer_questions(client, *WC, availability="Tuesdays only")
    client.get("/portal/")
    listing = client.get("/portal/claims/").get_data(as_text=True)
    assert 'href="/portal/claims/new/summary"' in listing
    back = client.get("/portal/claims/new/toilet/wc/wc.cistern_runs").get_data(as_text=True)
    assert 'value="Tuesdays only"' in back


def test_confirming_files_one_claim_and_shows_its_reference(claims_app, client):
    answer_questions(client, *WC)
    fields = confirm_form(client)
    data = {**fields, "description": "The flush runs all night.",
            "photos": [(io.BytesIO(jpeg()), "flush.jpg")]}
    response = client.post("/portal/claims/new/confirm", data=data,
                           content_type="multipart/form-data")
    assert response.status_code == 303
    receipt = client.get(response.location)
    html = receipt.get_data(as_text=True)
    reference = re.search(r"RC-\d{4}-\d{6}", html).group(0)
    with claims_app.app_context():
        claim = db.session.scalar(select(Claim))
        assert claim.reference == reference
        assert claim.problem_id == "wc.cistern_runs"
        assert claim.answers["availability"] == "After 5 pm"
        assert claim.description == "The flush runs all night."
    assert "Charged to the tenant" in html and FLAPPER_REFERENCE in html
    # Replayed (a double tap, the back button and submit again): the same claim, no other.
    again = client.post("/portal/claims/new/confirm", data={
        **fields, "description": "The flush runs all night."})
    assert again.status_code == 303 and again.location == response.location
    assert claim_count(claims_app) == 1
    # The draft is gone; the claim is in the list, and on its own page.
    listing = client.get("/portal/claims/").get_data(as_text=True)
    assert reference in listing and "/portal/claims/new/summary" not in listing
    detail = client.get(f"/portal/claims/{claim.id}").get_data(as_text=True)
    assert reference in detail and "Acknowledged" in detail


@pytest.mark.parametrize("url", [
    "/portal/claims/new/moon",
    "/portal/claims/new/toilet/fridge",
    "/portal/claims/new/kitchen/wc",              # no toilet bowl in the kitchen
    "/portal/claims/new/toilet/wc/tap.drips",     # a problem of another equipment
    "/portal/claims/new/toilet/wc/nothing",
])
def test_invalid_ids_in_the_address_are_refused_with_a_message(client, url):
    response = client.get(url)
    assert response.status_code == 404
    assert "error-summary" in response.get_data(as_text=True)


def test_unanswered_questions_are_shown_next_to_their_fields(claims_app, client):
    response = answer_questions(client, *WC, since="", urgency="tomorrow")
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Please answer this question." in html
    assert "Choose one of the answers offered." in html
    assert 'href="#since"' in html


@pytest.mark.parametrize("change, message", [
    ({"description": "   "}, "Please describe the problem."),
    ({"description": "x" * 5001}, "5000 characters at most"),
    ({"problem": "tap.drips"}, "This problem does not belong to the chosen equipment."),
    ({"photos": [(io.BytesIO(b"%PDF-1.4 not a picture"), "bill.jpg")]}, None),
    ({"token": "short"}, "This confirmation is not valid"),
])
def test_bad_confirmations_write_nothing(claims_app, client, change, message):
    answer_questions(client, *WC)
    data = {**confirm_form(client), "description": "The flush runs all night.", **change}
    response = client.post("/portal/claims/new/confirm", data=data,
                           content_type="multipart/form-data")
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "error-summary" in html
    if message:
        assert message in html
    assert claim_count(claims_app) == 0


def test_an_expired_form_writes_nothing(claims_app, client):
    answer_questions(client, *WC)
    data = {**confirm_form(client), "description": "Runs.", "csrf_token": "stale"}
    response = client.post("/portal/claims/new/confirm", data=data)
    assert response.status_code == 400
    assert claim_count(claims_app) == 0


def test_another_households_claim_is_not_found(claims_app, client, make_tenant, file):
    neighbour = make_tenant(first_name="Paul", last_name="Roux")
    claim_id = file(neighbour)
    for url in (f"/portal/claims/{claim_id}", f"/portal/claims/{claim_id}/receipt"):
        assert client.get(url).status_code == 404
    assert "RC-" not in client.get("/portal/claims/").get_data(as_text=True)


def test_the_portal_home_offers_to_report_a_problem(client):
    html = client.get("/portal/").get_data(as_text=True)
    assert 'href="/portal/claims/new"' in html and 'href="/portal/claims/"' in html


def test_the_claim_page_shows_public_messages_never_internal_notes(claims_app, client, tenant,
                                                                   make_user, file, move):
    agent = make_user("agent")
    claim_id = file(tenant)
    move(claim_id, "qualified", agent, public_message="A plumber will call you.",
         internal_note="Tenant's charge, check the seal first.")
    html = client.get(f"/portal/claims/{claim_id}").get_data(as_text=True)
    assert "Qualified" in html and "A plumber will call you." in html
    assert "check the seal" not in html
    assert "The kitchen tap drips day and night." in html


def test_with_notifications_the_claim_page_lists_its_messages(notified_app, make_tenant, login,
                                                              file):
    tenant = make_tenant(locale="en", email="josiane@example.org")
    client = notified_app.test_client()
    login(client, tenant)
    claim_id = file(tenant)
    html = client.get(f"/portal/claims/{claim_id}").get_data(as_text=True)
    # The acknowledgement, queued in the filing transaction, is listed on the claim's page.
    section = html[html.index('class="object-messages"'):]
    assert "Your claims: acknowledgement" in section[:section.index("</section>")]


def test_without_notifications_the_claim_page_has_no_messages(client, tenant, file):
    html = client.get(f"/portal/claims/{file(tenant)}").get_data(as_text=True)
    assert "object-messages" not in html and "Acknowledged" in html
