"""The caretaker's pages (gardien), through the test client: their buildings only, a claim for
a tenant or for the common parts with the catalogue's steps, bad input refused.

The caretaker's account reads English, so that the pages' own wording can be checked.
"""
from __future__ import annotations

import io
import re

import pytest
from PIL import Image
from sqlalchemy import func, select

from core.accounts import User
from core.estate import Building, CaretakerAssignment, Dwelling, Person
from core.extensions import db
from core.testing.fixtures import csrf_token
from plugins.claims.filing import ClaimInvalid
from plugins.claims.models import Claim
from plugins.claims.tests.conftest import LIFT

WC = ("toilet", "wc", "wc.cistern_runs")


class Estate:
    """Two buildings: A is the caretaker's, B is not; a tenant in each, both named Martin."""

    def __init__(self, app, make_estate, make_tenant, make_user):
        self.app = app
        self.building_a = make_estate(dwellings=3)
        self.building_b = make_estate(dwellings=3)
        self.tenant_a = make_tenant(first_name="Camille", last_name="Martin",
                                    building_id=self.building_a)
        self.tenant_b = make_tenant(first_name="Louis", last_name="Martin",
                                    building_id=self.building_b)
        self.caretaker = make_user("caretaker", locale="en")
        with app.app_context():
            db.session.add(CaretakerAssignment(user_id=self.caretaker.id,
                                               building_id=self.building_a))
            db.session.commit()
            self.person_a = db.session.get(User, self.tenant_a.id).person_id
            self.person_b = db.session.get(User, self.tenant_b.id).person_id
            self.dwelling_a, self.dwelling_b = (
                db.session.get(Building, building).entrances[0].dwellings[0].id
                for building in (self.building_a, self.building_b))
            self.reference_b = db.session.get(Dwelling, self.dwelling_b).reference


@pytest.fixture
def estate(claims_app, make_estate, make_tenant, make_user):
    return Estate(claims_app, make_estate, make_tenant, make_user)


@pytest.fixture
def client(claims_app, estate, login):
    client = claims_app.test_client()
    login(client, estate.caretaker)
    return client


def claim_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(Claim.id)))


def jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 30, 30)).save(buffer, "JPEG")
    return buffer.getvalue()


def answer_questions(client, target, place, equipment, problem, **answers):
    url = f"/caretaker/claims/new/{target}/{place}/{equipment}/{problem}"
    data = {"csrf_token": csrf_token(client, url), "since": "today",
            "urgency": "within_days", "availability": "Mornings", **answers}
    return client.post(url, data=data)


def confirm_form(client, target) -> dict:
    """The hidden fields of the summary's confirmation form, as a browser sends them."""
    html = client.get(f"/caretaker/claims/new/{target}/summary").get_data(as_text=True)
    form = html[html.index('id="confirm-form"'):]
    form = form[:form.index("</form>")]
    return dict(re.findall(r'<input[^>]*name="([^"]+)"[^>]*type="hidden"[^>]*value="([^"]*)"',
                           form) + re.findall(
        r'<input[^>]*type="hidden"[^>]*name="([^"]+)"[^>]*value="([^"]*)"', form))


def confirm(client, target, **fields):
    answer_questions(client, target, *fields.pop("steps", WC))
    data = {**confirm_form(client, target), "description": "Water runs all night.", **fields}
    return client.post(f"/caretaker/claims/new/{target}/confirm", data=data,
                       content_type="multipart/form-data")


def test_the_home_lists_the_caretakers_buildings_with_their_open_claims(
        claims_app, estate, client, file):
    file(estate.tenant_a)
    file(estate.tenant_a, **LIFT)
    file(estate.tenant_b)
    html = client.get("/caretaker/claims/").get_data(as_text=True)
    assert f'href="/caretaker/claims/buildings/{estate.building_a}"' in html
    assert f'href="/caretaker/claims/buildings/{estate.building_b}"' not in html
    assert "2 open claims" in html
    # The menu and the back office's widget lead there.
    assert 'href="/caretaker/claims/"' in client.get("/backoffice/").get_data(as_text=True)
    widget = client.get("/backoffice/").get_data(as_text=True)
    assert "Open claims in my buildings" in widget
    assert re.search(r'class="widget__figure">2<', widget)


def test_the_search_finds_only_the_occupants_and_dwellings_of_assigned_buildings(
        estate, client):
    html = client.get("/caretaker/claims/search?q=martin").get_data(as_text=True)
    assert "Camille Martin" in html and "Louis Martin" not in html
    assert f'href="/caretaker/claims/dwellings/{estate.dwelling_a}"' in html
    # Another building's dwelling is not found by its reference either.
    html = client.get(f"/caretaker/claims/search?q={estate.reference_b}").get_data(as_text=True)
    assert "No dwelling of your buildings matches this search." in html
    assert f"/caretaker/claims/dwellings/{estate.dwelling_b}" not in html
    # Found by the door number of one of their dwellings.
    html = client.get("/caretaker/claims/search?q=001").get_data(as_text=True)
    assert f'href="/caretaker/claims/dwellings/{estate.dwelling_a}"' in html
    too_short = client.get("/caretaker/claims/search?q=x")
    assert too_short.status_code == 400
    assert "Enter from 2 to 120 characters." in too_short.get_data(as_text=True)


def test_a_claim_for_a_tenant_is_filed_by_the_caretaker_and_seen_by_the_household(
        claims_app, estate, client, login):
    dwelling = client.get(f"/caretaker/claims/dwellings/{estate.dwelling_a}")
    html = dwelling.get_data(as_text=True)
    assert "Camille Martin" in html and "New claim for this tenant" in html
    with claims_app.app_context():  # the page names the tenant: the view is in the audit log
        from core.audit import AuditEvent

        viewed = db.session.scalars(select(AuditEvent).where(
            AuditEvent.action == "view_tenant_file")).all()
        assert [(event.person_id, event.actor_id) for event in viewed] == [
            (estate.person_a, estate.caretaker.id)]
    assert f'href="/caretaker/claims/new/tenant/{estate.person_a}"' in html
    target = f"tenant/{estate.person_a}"
    where = client.get(f"/caretaker/claims/new/{target}").get_data(as_text=True)
    assert f'href="/caretaker/claims/new/{target}/toilet"' in where  # the home's rooms
    assert f'href="/caretaker/claims/new/{target}/hall"' in where  # and the common parts
    assert 'src="/caretaker/claims/static/pictograms/' in where
    answer_questions(client, target, *WC)
    summary = client.get(f"/caretaker/claims/new/{target}/summary").get_data(as_text=True)
    assert "Charged to the tenant" in summary and "Décret 87-712, annexe, IV-d" in summary
    assert 'capture="environment"' in summary

    response = confirm(client, target, photos=[(io.BytesIO(jpeg()), "wc.jpg")])
    assert response.status_code == 303
    page = client.get(response.location).get_data(as_text=True)
    reference = re.search(r"RC-\d{4}-\d{6}", page).group(0)
    assert "Acknowledged" in page and "/attachments/" in page
    with claims_app.app_context():
        claim = db.session.scalar(select(Claim))
        person = db.session.get(Person, estate.person_a)
        assert (claim.channel.value, claim.person_id, claim.household_id,
                claim.dwelling_id, claim.filed_by_id) == \
            ("caretaker", person.id, person.household_id, estate.dwelling_a,
             estate.caretaker.id)
    # The dwelling lists it, and the tenant's household sees it on the portal.
    assert reference in client.get(
        f"/caretaker/claims/dwellings/{estate.dwelling_a}").get_data(as_text=True)
    tenant = claims_app.test_client()
    login(tenant, estate.tenant_a)
    assert reference in tenant.get("/portal/claims/").get_data(as_text=True)


def test_a_claim_for_the_common_parts_has_no_tenant(claims_app, estate, client, login):
    target = f"building/{estate.building_a}"
    building = client.get(f"/caretaker/claims/buildings/{estate.building_a}")
    assert f'href="/caretaker/claims/new/{target}"' in building.get_data(as_text=True)
    where = client.get(f"/caretaker/claims/new/{target}").get_data(as_text=True)
    assert f'href="/caretaker/claims/new/{target}/lift"' in where
    assert f'href="/caretaker/claims/new/{target}/toilet"' not in where
    # A room of a dwelling is not a common part.
    assert client.get(f"/caretaker/claims/new/{target}/toilet").status_code == 404
    assert client.get(f"/caretaker/claims/new/{target}/toilet/wc/wc.cistern_runs"
                      ).status_code == 404
    steps = (LIFT["place_id"], LIFT["equipment_id"], LIFT["problem_id"])
    # Nobody opens a door of the common parts: that answer is not offered.
    refused = answer_questions(client, target, *steps, access="present")
    assert refused.status_code == 400
    response = confirm(client, target, steps=steps, description="Stuck at the 3rd floor.")
    assert response.status_code == 303
    with claims_app.app_context():
        claim = db.session.scalar(select(Claim))
        assert (claim.channel.value, claim.person_id, claim.household_id, claim.dwelling_id,
                claim.building_id) == ("caretaker", None, None, None, estate.building_a)
        # The building's only entrance: its hall, its staircase.
        assert claim.entrance_id == db.session.get(Building, estate.building_a).entrances[0].id
        reference = claim.reference
    assert reference in client.get(
        f"/caretaker/claims/buildings/{estate.building_a}").get_data(as_text=True)
    tenant = claims_app.test_client()
    login(tenant, estate.tenant_a)
    assert reference not in tenant.get("/portal/claims/").get_data(as_text=True)


def test_a_building_with_two_entrances_asks_which_one(claims_app, estate, client):
    from core.estate import Entrance

    with claims_app.app_context():
        building = db.session.get(Building, estate.building_a)
        second = Entrance(reference=f"{building.reference}-E2", name="Entrance B",
                          building=building)
        db.session.add(second)
        db.session.commit()
        second_id = second.id
        other_entrance = db.session.get(Building, estate.building_b).entrances[0].id
    page = client.get(f"/caretaker/claims/buildings/{estate.building_a}").get_data(as_text=True)
    assert f'href="/caretaker/claims/new/entrance/{second_id}"' in page
    assert f'href="/caretaker/claims/new/building/{estate.building_a}"' in page  # outside
    target = f"entrance/{second_id}"
    assert "Entrance B" in client.get(f"/caretaker/claims/new/{target}").get_data(as_text=True)
    steps = (LIFT["place_id"], LIFT["equipment_id"], LIFT["problem_id"])
    assert confirm(client, target, steps=steps, description="Lift B stuck.").status_code == 303
    with claims_app.app_context():
        claim = db.session.scalar(select(Claim))
        assert (claim.building_id, claim.entrance_id, claim.dwelling_id) == (
            estate.building_a, second_id, None)
    # An entrance of a building that is not theirs: not found.
    assert client.get(f"/caretaker/claims/new/entrance/{other_entrance}").status_code == 404
    assert client.get("/caretaker/claims/new/entrance/999999").status_code == 404


def test_filing_for_a_building_not_assigned_is_refused_and_writes_nothing(
        claims_app, estate, client, file):
    # The filing itself refuses it (core.estate.CaretakerAssignment), with a message (in
    # French outside a request)...
    for where in ({"building_id": estate.building_b, **LIFT},
                  {"person_id": estate.person_b},
                  {"dwelling_id": estate.dwelling_b}):
        with pytest.raises(ClaimInvalid) as refused:
            file(estate.caretaker, channel="caretaker", **where)
        assert refused.value.errors["location"] == "Ce bâtiment ne fait pas partie des vôtres."
    assert claim_count(claims_app) == 0
    # ...and so do the pages, even with a confirmation made for a building of theirs.
    answer_questions(client, f"building/{estate.building_a}", *LIFT.values())
    fields = confirm_form(client, f"building/{estate.building_a}")
    for target in (f"building/{estate.building_b}", f"tenant/{estate.person_b}"):
        response = client.post(f"/caretaker/claims/new/{target}/confirm",
                               data={**fields, "description": "Stuck."})
        assert response.status_code == 404
        assert "is not in your buildings: nothing was recorded" in response.get_data(
            as_text=True)
    assert claim_count(claims_app) == 0


def test_another_buildings_dwelling_claim_and_tenant_are_not_found(estate, client, file):
    theirs = file(estate.tenant_b)
    for url in (f"/caretaker/claims/dwellings/{estate.dwelling_b}",
                f"/caretaker/claims/buildings/{estate.building_b}",
                f"/caretaker/claims/{theirs}",
                f"/caretaker/claims/new/tenant/{estate.person_b}",
                f"/caretaker/claims/new/building/{estate.building_b}",
                f"/caretaker/claims/new/building/{estate.building_b}/lift",
                "/caretaker/claims/new/moon/1"):
        assert client.get(url).status_code == 404, url
    ours = file(estate.tenant_a)
    assert client.get(f"/caretaker/claims/{ours}").status_code == 200


def test_other_roles_are_refused(claims_app, estate, login):
    tenant = claims_app.test_client()
    login(tenant, estate.tenant_a)
    assert tenant.get("/caretaker/claims/").status_code == 403


@pytest.mark.parametrize("change, message", [
    ({"description": "   "}, "Please describe the problem."),
    ({"description": "x" * 5001}, "5000 characters at most"),
    ({"problem": "tap.drips"}, "This problem does not belong to the chosen equipment."),
    ({"photos": [(io.BytesIO(b"%PDF-1.4 not a picture"), "bill.jpg")]}, None),
    ({"photos": [(io.BytesIO(jpeg()), f"{n}.jpg") for n in range(6)]}, "5 photos at most"),
    ({"token": "short"}, "This confirmation is not valid"),
])
def test_bad_confirmations_write_nothing(claims_app, estate, client, change, message):
    response = confirm(client, f"tenant/{estate.person_a}", **change)
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "error-summary" in html
    if message:
        assert message in html
    assert claim_count(claims_app) == 0


def test_an_expired_form_writes_nothing(claims_app, estate, client):
    response = confirm(client, f"building/{estate.building_a}", steps=tuple(LIFT.values()),
                       csrf_token="stale")
    assert response.status_code == 400
    assert claim_count(claims_app) == 0


def test_a_replayed_confirmation_is_refused_and_files_nothing_twice(claims_app, estate,
                                                                    client):
    target = f"building/{estate.building_a}"
    steps = tuple(LIFT.values())
    answer_questions(client, target, *steps)
    fields = {**confirm_form(client, target), "description": "Stuck."}
    first = client.post(f"/caretaker/claims/new/{target}/confirm", data=fields)
    assert first.status_code == 303
    again = client.post(f"/caretaker/claims/new/{target}/confirm", data=fields)
    html = again.get_data(as_text=True)
    assert again.status_code == 409
    assert "was already recorded as RC-" in html and "not filed a second time" in html
    assert claim_count(claims_app) == 1
