"""Collective incidents: look-alike claims of one entrance grouped, confirmed, carried along
together, and joined by other households in one tap."""
from __future__ import annotations

import threading
import uuid
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from core.accounts import User
from core.estate import Building, Dwelling, Entrance, Household, Lease, Person
from core.extensions import db
from core.testing.fixtures import csrf_token
from plugins.claims import incidents
from plugins.claims.models import (
    Claim,
    EventKind,
    Incident,
    IncidentStatus,
    Status,
)
from plugins.claims.tests.conftest import ANSWERS, LIFT, run_worker, token

# No heating anywhere in the home: shared heating, an urgent matter for the heating company.
HEATING = {"place_id": "living_room", "equipment_id": "radiator",
           "problem_id": "radiator.no_heating"}


@pytest.fixture
def estate(app_under_test, make_estate):
    """A building with two entrances: entrance 1 has four dwellings, entrance 2 one.
    Returns ids: building, entrance1, entrance2, dwellings1 (list), dwelling2."""

    def build():
        building_id = make_estate(dwellings=4)
        with app_under_test().app_context():
            building = db.session.get(Building, building_id)
            first = building.entrances[0]
            second = Entrance(reference=f"{building.reference}-E2", name="Entrée 2",
                              building=building)
            other = Dwelling(reference=f"{building.reference}-E2-001", entrance=second,
                             floor=0, door="E2-1", kind="T2", surface_m2=45)
            db.session.add_all([second, other])
            db.session.commit()
            return {"building": building_id, "entrance1": first.id, "entrance2": second.id,
                    "dwellings1": [d.id for d in first.dwellings], "dwelling2": other.id}

    return build


@pytest.fixture
def tenant_in(app_under_test, make_user):
    """A tenant (account in English) with a current lease of the given dwelling."""
    serial = iter(range(1, 1000))

    def factory(dwelling_id, **fields):
        n = next(serial)
        with app_under_test().app_context():
            household = Household(reference=f"HI{n}-{uuid.uuid4().hex[:6]}")
            person = Person(reference=f"P-{household.reference}", civility="Mme",
                            first_name="Tenant", last_name=f"N{n}", household=household)
            lease = Lease(reference=f"L-{household.reference}", dwelling_id=dwelling_id,
                          household=household, start_date=date.today() - timedelta(days=90))
            db.session.add_all([household, person, lease])
            db.session.commit()
            person_id = person.id
        return make_user("tenant", person_id=person_id, locale=fields.pop("locale", "en"),
                         display_name=f"Tenant N{n}", **fields)

    return factory


def report_heating(file, user, **fields):
    return file(user, **HEATING, description="No heating since this morning.", **fields)


def incident_of_claim(app, claim_id):
    with app.app_context():
        claim = db.session.get(Claim, claim_id)
        return claim.incident_id


def agent_of(app, make_user, building_id, **fields):
    with app.app_context():
        agency_id = db.session.get(Building, building_id).residence.agency_id
    return make_user("agent", agency_id=agency_id, locale="en", **fields)


def step(app, incident_id, user, to, **fields):
    with app.app_context():
        return incidents.apply_step(incident_id, db.session.get(User, user.id), to, **fields)


def test_three_tenants_of_one_entrance_one_incident_everyone_informed(
        notified_app, estate, tenant_in, make_user, file, smtp_server, login):
    place = estate()
    tenants = [tenant_in(dwelling) for dwelling in place["dwellings1"][:3]]
    neighbour = tenant_in(place["dwelling2"])  # the same building, another entrance
    claims = [report_heating(file, tenant) for tenant in tenants]
    other = report_heating(file, neighbour)

    with notified_app.app_context():
        [incident] = db.session.scalars(select(Incident)).all()
        assert incident.status is IncidentStatus.PROPOSED
        assert incident.reference.startswith(f"IC-{date.today().year}-")
        reference = incident.reference
        assert incident.entrance_id == place["entrance1"]
        assert [c.id for c in incident.claims] == claims
        assert db.session.get(Claim, other).incident_id is None
        # Each claim's history says it was grouped (for staff), and it was acknowledged.
        for claim_id in claims:
            kinds = [e.kind for e in db.session.get(Claim, claim_id).events]
            assert EventKind.INCIDENT in kinds
            assert db.session.get(Claim, claim_id).status is Status.ACKNOWLEDGED
        incident_id = incident.id

    agent = agent_of(notified_app, make_user, place["building"])
    with notified_app.app_context():
        report = incidents.confirm(incident_id, db.session.get(User, agent.id),
                                   "The boiler of entrance 1 is down: the heating company "
                                   "is on its way.")
        assert len(report.moved) == 3
    step(notified_app, incident_id, agent, "assigned", public_message="Heating company called.")
    step(notified_app, incident_id, agent, "in_progress", public_message="Repair under way.")
    step(notified_app, incident_id, agent, "resolved", public_message="Heating is back.")

    with notified_app.app_context():
        incident = db.session.get(Incident, incident_id)
        assert incident.status is IncidentStatus.RESOLVED
        assert incident.stage is Status.RESOLVED
        assert incident.public_message == "Heating is back."
        assert {db.session.get(Claim, c).status for c in claims} == {Status.RESOLVED}
        assert db.session.get(Claim, other).status is Status.ACKNOWLEDGED
    run_worker(notified_app)

    by_recipient: dict[str, list[str]] = {}
    for mail in smtp_server.messages:
        by_recipient.setdefault(mail["To"], []).append(
            mail.get_body(("plain",)).get_content())
    for tenant in tenants:
        bodies = by_recipient[tenant.email]
        # Acknowledged, then qualified (confirmation), assigned, in progress, resolved.
        assert len(bodies) == 5, tenant.email
        assert any("the heating company is on its way" in body for body in bodies)
        assert any("Heating is back." in body for body in bodies)
    assert len(by_recipient[neighbour.email]) == 1  # the acknowledgement only
    # Each tenant's claim page says the problem is shared, with the latest news.
    for tenant, claim_id in zip(tenants, claims, strict=True):
        client = notified_app.test_client()
        login(client, tenant)
        page = client.get(f"/portal/claims/{claim_id}").get_data(as_text=True)
        assert "A problem shared by several households" in page
        assert reference in page and "Heating is back." in page


def test_claims_outside_the_window_or_of_another_problem_are_not_grouped(
        claims_app, estate, tenant_in, file):
    place = estate()
    first, second, third = (tenant_in(d) for d in place["dwellings1"][:3])
    old = report_heating(file, first)
    with claims_app.app_context():
        claim = db.session.get(Claim, old)
        claim.created_at = datetime.utcnow() - timedelta(hours=73)
        db.session.commit()
    report_heating(file, second)
    other_problem = file(third, place_id="living_room", equipment_id="radiator",
                         problem_id="radiator.one_cold", description="Cold radiator.")
    with claims_app.app_context():
        assert db.session.scalar(select(func.count(Incident.id))) == 0
        assert db.session.get(Claim, other_problem).incident_id is None


def test_a_problem_of_one_home_is_never_an_incident(claims_app, estate, tenant_in, file):
    place = estate()
    for dwelling in place["dwellings1"][:3]:  # three dripping taps in one entrance
        file(tenant_in(dwelling), place_id="kitchen", equipment_id="tap",
             problem_id="tap.drips", description="The tap drips.")
    with claims_app.app_context():
        assert db.session.scalar(select(func.count(Incident.id))) == 0
        assert db.session.scalar(select(func.count(Claim.id)).where(
            Claim.incident_id.is_not(None))) == 0


def test_one_household_reporting_twice_is_not_an_incident(claims_app, estate, tenant_in,
                                                          file):
    place = estate()
    tenant = tenant_in(place["dwellings1"][0])
    report_heating(file, tenant)
    report_heating(file, tenant)
    with claims_app.app_context():
        assert db.session.scalar(select(func.count(Incident.id))) == 0


def test_the_window_and_threshold_are_settings(make_app, estate, tenant_in, file):
    app = make_app(plugins=["claims"], CLAIMS_INCIDENT_MIN_CLAIMS=3)
    place = estate()
    households = [tenant_in(d) for d in place["dwellings1"][:3]]
    claims = [report_heating(file, households[0]), report_heating(file, households[1])]
    assert incident_of_claim(app, claims[1]) is None  # two households: not yet
    claims.append(report_heating(file, households[2]))
    assert incident_of_claim(app, claims[2]) is not None
    assert incident_of_claim(app, claims[0]) == incident_of_claim(app, claims[2])


def test_dismiss_unlinks_and_they_are_not_grouped_again(claims_app, estate, tenant_in, file,
                                                       make_user):
    place = estate()
    claims = [report_heating(file, tenant_in(d)) for d in place["dwellings1"][:2]]
    incident_id = incident_of_claim(claims_app, claims[0])
    agent = agent_of(claims_app, make_user, place["building"])
    with claims_app.app_context():
        from plugins.claims.filing import ClaimInvalid

        with pytest.raises(ClaimInvalid):
            incidents.dismiss(incident_id, db.session.get(User, agent.id), "  ")
        assert incidents.dismiss(incident_id, db.session.get(User, agent.id),
                                 "Two different radiators, not the boiler.") == 2
        incident = db.session.get(Incident, incident_id)
        assert incident.status is IncidentStatus.DISMISSED
        for claim_id in claims:
            claim = db.session.get(Claim, claim_id)
            assert claim.incident_id is None
            last = claim.events[-1]
            assert last.kind is EventKind.INCIDENT
            assert "Two different radiators" in last.internal_note
            assert last.from_status is last.to_status is claim.status
    # A third household: grouped with nobody already taken out, so no incident yet.
    third = report_heating(file, tenant_in(place["dwellings1"][2]))
    assert incident_of_claim(claims_app, third) is None


def test_steps_need_a_confirmed_incident_and_report_claims_left_behind(
        claims_app, estate, tenant_in, file, move, make_user):
    place = estate()
    claims = [report_heating(file, tenant_in(d)) for d in place["dwellings1"][:3]]
    incident_id = incident_of_claim(claims_app, claims[0])
    agent = agent_of(claims_app, make_user, place["building"])
    from plugins.claims.filing import ClaimInvalid

    with pytest.raises(ClaimInvalid):
        step(claims_app, incident_id, agent, "assigned")  # not confirmed yet
    with claims_app.app_context():
        incidents.confirm(incident_id, db.session.get(User, agent.id))
    # One claim handled on its own meanwhile, already further on.
    move(claims[2], "assigned", agent)
    move(claims[2], "in_progress", agent)
    report = step(claims_app, incident_id, agent, "assigned")
    assert report.moved == [ref(claims_app, claims[0]), ref(claims_app, claims[1])]
    assert [reference for reference, _why in report.skipped] == [ref(claims_app, claims[2])]
    # A step that needs a date, without it: nothing written.
    with pytest.raises(ClaimInvalid):
        step(claims_app, incident_id, agent, "appointment_planned")
    with claims_app.app_context():
        assert db.session.get(Claim, claims[0]).status is Status.ASSIGNED
        assert db.session.get(Incident, incident_id).stage is Status.ASSIGNED


def ref(app, claim_id):
    with app.app_context():
        return db.session.get(Claim, claim_id).reference


def test_a_household_that_joins_later_catches_up(claims_app, estate, tenant_in, file,
                                                 make_user):
    place = estate()
    claims = [report_heating(file, tenant_in(d)) for d in place["dwellings1"][:2]]
    incident_id = incident_of_claim(claims_app, claims[0])
    agent = agent_of(claims_app, make_user, place["building"])
    with claims_app.app_context():
        incidents.confirm(incident_id, db.session.get(User, agent.id))
    step(claims_app, incident_id, agent, "assigned")
    step(claims_app, incident_id, agent, "in_progress")
    late = tenant_in(place["dwellings1"][2])
    with claims_app.app_context():
        claim = incidents.join(incident_id, db.session.get(User, late.id),
                               idempotency_token=token())
        joined = claim.id
        assert claim.incident_id == incident_id
        assert claim.status is Status.ACKNOWLEDGED
        assert claim.description.startswith("Also affected: ")
    report = step(claims_app, incident_id, agent, "resolved", public_message="Fixed.")
    assert ref(claims_app, joined) in report.moved
    with claims_app.app_context():
        statuses = [e.to_status for e in db.session.get(Claim, joined).events
                    if e.kind is EventKind.STATUS]
        assert statuses == [Status.SUBMITTED, Status.ACKNOWLEDGED, Status.QUALIFIED,
                            Status.ASSIGNED, Status.IN_PROGRESS, Status.RESOLVED]


def test_common_parts_claims_are_grouped_by_entrance(claims_app, estate, tenant_in, file):
    place = estate()
    first, second = (tenant_in(d) for d in place["dwellings1"][:2])
    neighbour = tenant_in(place["dwelling2"])
    a = file(first, **LIFT, description="The lift is stuck.")
    b = file(second, **LIFT, description="Lift out of order.")
    c = file(neighbour, **LIFT, description="Lift broken.")
    assert incident_of_claim(claims_app, a) == incident_of_claim(claims_app, b) is not None
    assert incident_of_claim(claims_app, c) is None


def test_agents_of_another_agency_do_not_see_the_incident(claims_app, estate, tenant_in, file,
                                                         make_user, make_estate):
    place = estate()
    claims = [report_heating(file, tenant_in(d)) for d in place["dwellings1"][:2]]
    incident_id = incident_of_claim(claims_app, claims[0])
    stranger = agent_of(claims_app, make_user, make_estate())
    with claims_app.app_context():
        with pytest.raises(incidents.IncidentNotFound):
            incidents.confirm(incident_id, db.session.get(User, stranger.id))
        assert db.session.get(Incident, incident_id).status is IncidentStatus.PROPOSED


def test_manual_link_and_unlink(claims_app, estate, tenant_in, file, make_user, make_tenant):
    place = estate()
    claims = [report_heating(file, tenant_in(d)) for d in place["dwellings1"][:2]]
    incident_id = incident_of_claim(claims_app, claims[0])
    cold = file(tenant_in(place["dwellings1"][2]), place_id="bedroom", equipment_id="radiator",
                problem_id="radiator.one_cold", description="Radiator cold.")
    elsewhere = file(make_tenant(locale="en"), **HEATING, description="No heating.")
    agent = make_user("manager")
    from plugins.claims.filing import ClaimInvalid

    with claims_app.app_context():
        actor = db.session.get(User, agent.id)
        incidents.link(incident_id, cold, actor)
        assert db.session.get(Claim, cold).incident_id == incident_id
        with pytest.raises(ClaimInvalid):
            incidents.link(incident_id, elsewhere, actor)  # another building
        incidents.unlink(cold, actor, "Only one radiator.")
        assert db.session.get(Claim, cold).incident_id is None
        assert db.session.get(Claim, elsewhere).incident_id is None


def test_concurrent_filings_make_one_incident(make_app, estate, tenant_in, request):
    """Four households of one entrance file at the same moment, each request in its own
    thread with its own connection: one incident, with the four claims."""
    if request.config.getoption("--palier-db") != "postgresql":
        pytest.skip("concurrent writers: PostgreSQL (SQLite has one writer at a time)")
    from plugins.claims.workflow import file_claim

    app = make_app(plugins=["claims"])
    place = estate()
    tenants = []
    extra = []
    with app.app_context():
        entrance = db.session.get(Entrance, place["entrance1"])
        for i in range(2):
            dwelling = Dwelling(reference=f"X{uuid.uuid4().hex[:8]}", entrance=entrance,
                                floor=3, door=f"X{i}", kind="T3", surface_m2=60)
            db.session.add(dwelling)
            db.session.commit()
            extra.append(dwelling.id)
    for dwelling in [*place["dwellings1"], *extra]:
        tenants.append(tenant_in(dwelling))
    barrier = threading.Barrier(len(tenants))
    errors = []

    def submit(user):
        try:
            with app.app_context():
                filer = db.session.get(User, user.id)
                barrier.wait(timeout=30)
                file_claim(filer, **HEATING, description="No heating.",
                           answers=dict(ANSWERS), idempotency_token=token())
        except Exception as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=submit, args=(t,)) for t in tenants]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    with app.app_context():
        [incident] = db.session.scalars(select(Incident)).all()
        assert len(incident.claims) == len(tenants) == 6
        assert db.session.scalar(select(func.count(Claim.id))
                                 .where(Claim.incident_id.is_(None))) == 0


# -- pages -----------------------------------------------------------------------------------

def confirmed_incident(app, estate, tenant_in, file, make_user):
    place = estate()
    claims = [report_heating(file, tenant_in(d)) for d in place["dwellings1"][:2]]
    incident_id = incident_of_claim(app, claims[0])
    agent = agent_of(app, make_user, place["building"])
    with app.app_context():
        incidents.confirm(incident_id, db.session.get(User, agent.id), "Boiler down.")
        reference = db.session.get(Incident, incident_id).reference
    return place, incident_id, reference, agent


def test_a_tenant_of_the_entrance_is_told_and_joins_in_one_tap(claims_app, estate, tenant_in,
                                                               file, make_user, login):
    place, incident_id, reference, _agent = confirmed_incident(claims_app, estate, tenant_in,
                                                               file, make_user)
    late = tenant_in(place["dwellings1"][2])
    client = claims_app.test_client()
    login(client, late)
    page = client.get("/portal/claims/new/bedroom/radiator").get_data(as_text=True)
    assert f"This problem is already known and being handled ({reference})" in page
    assert "Boiler down." in page
    # Another equipment: no notice.
    assert reference not in client.get("/portal/claims/new/kitchen/tap").get_data(as_text=True)
    # The questions of that very problem say it again; another problem of a radiator does not.
    questions = client.get("/portal/claims/new/bedroom/radiator/radiator.no_heating")
    assert f"already known and being handled ({reference})" in questions.get_data(as_text=True)
    other = client.get("/portal/claims/new/bedroom/radiator/radiator.one_cold")
    assert reference not in other.get_data(as_text=True)

    import re

    def hidden(name):
        return re.search(rf'name="join{incident_id}-{name}"[^>]*value="([^"]*)"', page).group(1)

    action = f"/portal/claims/incidents/{incident_id}/join"
    assert f'action="{action}"' in page
    csrf, place_value, join_token = hidden("csrf_token"), hidden("place"), hidden("token")
    assert place_value == "bedroom"
    prefix = f"join{incident_id}-"
    data = {f"{prefix}csrf_token": csrf, f"{prefix}place": place_value,
            f"{prefix}token": join_token}
    first = client.post(action, data=data)
    again = client.post(action, data=data)  # a double tap
    assert first.status_code == again.status_code == 303
    assert first.headers["Location"] == again.headers["Location"]
    receipt = client.get(first.headers["Location"]).get_data(as_text=True)
    with claims_app.app_context():
        [claim] = db.session.scalars(select(Claim).where(
            Claim.household_id == db.session.get(Person, db.session.get(
                User, late.id).person_id).household_id)).all()
        assert claim.incident_id == incident_id
        assert claim.place_id == "bedroom"
        assert claim.status is Status.ACKNOWLEDGED
        assert claim.reference in receipt
    # No CSRF token: refused, nothing filed.
    assert client.post(action, data={f"{prefix}place": "bedroom",
                                     f"{prefix}token": token()}).status_code == 400


def test_a_tenant_of_another_building_cannot_join(claims_app, estate, tenant_in, file,
                                                 make_user, make_tenant, login):
    _place, incident_id, reference, _agent = confirmed_incident(claims_app, estate, tenant_in,
                                                                file, make_user)
    stranger = make_tenant(locale="en")
    client = claims_app.test_client()
    login(client, stranger)
    page = client.get("/portal/claims/new/bedroom/radiator").get_data(as_text=True)
    assert reference not in page
    csrf = csrf_token(client, "/portal/claims/new/bedroom/radiator")
    response = client.post(f"/portal/claims/incidents/{incident_id}/join",
                           data={f"join{incident_id}-csrf_token": csrf,
                                 f"join{incident_id}-place": "bedroom",
                                 f"join{incident_id}-token": token()})
    assert response.status_code == 404
    with claims_app.app_context():
        assert db.session.scalar(select(func.count(Claim.id))) == 2


def test_agents_confirm_and_apply_steps_in_the_back_office(claims_app, estate, tenant_in, file,
                                                           make_user, make_estate, login):
    place = estate()
    claims = [report_heating(file, tenant_in(d)) for d in place["dwellings1"][:2]]
    incident_id = incident_of_claim(claims_app, claims[0])
    agent = agent_of(claims_app, make_user, place["building"])
    with claims_app.app_context():
        reference = db.session.get(Incident, incident_id).reference
        claim_refs = [db.session.get(Claim, c).reference for c in claims]
    client = claims_app.test_client()
    login(client, agent)
    listing = client.get("/backoffice/claims/incidents/").get_data(as_text=True)
    assert reference in listing and "Proposed, to confirm" in listing
    url = f"/backoffice/claims/incidents/{incident_id}"
    page = client.get(url).get_data(as_text=True)
    assert all(ref_ in page for ref_ in claim_refs)
    csrf = csrf_token(client, url)
    response = client.post(f"{url}/confirm", data={"csrf_token": csrf,
                                                    "confirm-public_message": "Known."})
    assert response.status_code == 303
    # A step that needs a date, without one: the page again, 400, nothing written.
    response = client.post(f"{url}/step", data={"csrf_token": csrf,
                                                "step-to": "appointment_planned"})
    assert response.status_code == 400
    assert "Please give the date." in response.get_data(as_text=True)
    response = client.post(f"{url}/step", data={
        "csrf_token": csrf, "step-to": "appointment_planned",
        "step-planned_for": "2026-03-10T09:00", "step-public_message": "Tuesday morning."})
    assert response.status_code == 303
    with claims_app.app_context():
        for claim_id in claims:
            claim = db.session.get(Claim, claim_id)
            assert claim.status is Status.APPOINTMENT_PLANNED
            assert claim.planned_for == datetime(2026, 3, 10, 8, 0)  # Paris time, UTC
    # An agent of another agency: not found, and not listed.
    stranger = agent_of(claims_app, make_user, make_estate())
    other = claims_app.test_client()
    login(other, stranger)
    assert other.get(url).status_code == 404
    assert reference not in other.get("/backoffice/claims/incidents/").get_data(as_text=True)
    csrf = csrf_token(other, "/backoffice/claims/incidents/")
    assert other.post(f"{url}/dismiss", data={"csrf_token": csrf,
                                              "dismiss-reason": "x"}).status_code == 404
    # A tenant: refused.
    tenant_client = claims_app.test_client()
    login(tenant_client, tenant_in(place["dwellings1"][3]))
    assert tenant_client.get(url).status_code == 403


# -- in a browser ----------------------------------------------------------------------------

@pytest.fixture
def live_app(make_app):
    from core.testing.smtp import free_port

    return make_app(plugins=["claims"], PUBLIC_URL=f"http://127.0.0.1:{free_port()}")


@pytest.mark.browser
def test_in_a_browser_the_tenant_joins_and_the_agent_handles(page, browser, live_server,
                                                            live_app, estate, tenant_in, file,
                                                            make_user):
    from core.testing.browser import assert_accessible, log_in

    place, incident_id, reference, agent = confirmed_incident(live_app, estate, tenant_in,
                                                              file, make_user)
    late = tenant_in(place["dwellings1"][2])
    log_in(page, late.email)
    page.wait_for_url("**/portal/")
    page.goto("/portal/claims/new/bedroom/radiator")
    notice = page.get_by_role("heading", name=f"This problem is already known and being "
                                              f"handled ({reference})")
    assert notice.is_visible()
    assert_accessible(page)
    page.get_by_role("button", name=f"Join {reference}").click()
    page.wait_for_url("**/receipt")
    with live_app.app_context():
        claim = db.session.scalars(select(Claim).where(Claim.incident_id == incident_id)
                                   .order_by(Claim.id.desc())).first()
        assert claim.place_id == "bedroom"
        assert claim.reference in page.content()

    context = browser.new_context(locale="fr-FR", base_url=live_server.url)
    office = context.new_page()
    try:
        log_in(office, agent.email)
        office.goto("/backoffice/claims/incidents/")
        assert office.get_by_role("link", name=reference).is_visible()
        assert_accessible(office)
        office.get_by_role("link", name=reference).click()
        office.wait_for_url(f"**/backoffice/claims/incidents/{incident_id}")
        assert_accessible(office)
        office.get_by_label("Step", exact=True).select_option("assigned")
        office.get_by_label("Message to the tenants concerned (optional)").fill(
            "The heating company comes today.")
        office.get_by_role("button", name="Apply the step").click()
        office.wait_for_url(f"**/backoffice/claims/incidents/{incident_id}")
        assert "Step applied to 3 claims." in office.content()
        assert_accessible(office)
    finally:
        context.close()


def test_taking_a_claim_out_in_the_back_office(claims_app, estate, tenant_in, file, make_user,
                                               login):
    place = estate()
    claims = [report_heating(file, tenant_in(d)) for d in place["dwellings1"][:3]]
    incident_id = incident_of_claim(claims_app, claims[0])
    client = claims_app.test_client()
    login(client, agent_of(claims_app, make_user, place["building"]))
    url = f"/backoffice/claims/incidents/{incident_id}"
    csrf = csrf_token(client, url)
    response = client.post(f"{url}/unlink/{claims[2]}", data={"unlink-csrf_token": csrf})
    assert response.status_code == 303
    assert incident_of_claim(claims_app, claims[2]) is None
    # Again: that claim is no longer in it.
    assert client.post(f"{url}/unlink/{claims[2]}",
                       data={"unlink-csrf_token": csrf}).status_code == 404
    # Linked back by its reference.
    response = client.post(f"{url}/link", data={"csrf_token": csrf,
                                                "link-reference": ref(claims_app, claims[2])})
    assert response.status_code == 303
    assert incident_of_claim(claims_app, claims[2]) == incident_id
    response = client.post(f"{url}/link", data={"csrf_token": csrf,
                                                "link-reference": "RC-1999-000001"})
    assert response.status_code == 400
    assert "No claim of yours has this reference." in response.get_data(as_text=True)
