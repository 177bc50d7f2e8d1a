"""The agents' back office through the test client: the queue's filters, sorting and pages,
the CSV export, a claim's page and its forms, bulk changes, and one agency's agents never
seeing another's claims. Pages are read in English (the agents' account locale)."""
from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from core.accounts import utcnow
from core.audit import AuditEvent
from core.estate import Building, Residence
from core.extensions import db
from core.testing.fixtures import csrf_token
from plugins.claims.models import Claim, ClaimEvent, EventKind, Incident, Status
from plugins.claims.tests.conftest import LIFT

REFERENCE = re.compile(r'<th scope="row"><a href="/backoffice/claims/\d+">(RC-\d{4}-\d{6})</a>')


def references(client, query: str = "") -> list[str]:
    response = client.get("/backoffice/claims/" + query)
    assert response.status_code == 200, response.get_data(as_text=True)
    return REFERENCE.findall(response.get_data(as_text=True))


def reference_of(app, claim_id: int) -> str:
    with app.app_context():
        return db.session.get(Claim, claim_id).reference


def set_claim(app, claim_id: int, **values) -> None:
    with app.app_context():
        db.session.execute(update(Claim).where(Claim.id == claim_id).values(**values))
        db.session.commit()


def agency_of(app, building_id: int) -> int:
    with app.app_context():
        return db.session.scalar(select(Residence.agency_id).join(Building)
                                 .where(Building.id == building_id))


@pytest.fixture
def estate(claims_app, make_estate):
    """Two agencies, one building each."""
    north, south = make_estate(), make_estate()
    return {"north": north, "south": south, "north_agency": agency_of(claims_app, north),
            "south_agency": agency_of(claims_app, south)}


@pytest.fixture
def agent_client(claims_app, make_user, login):
    def as_user(role="agent", **fields):
        user = make_user(role, locale="en", **fields)
        client = claims_app.test_client()
        login(client, user)
        return client, user

    return as_user


def test_each_filter_narrows_the_queue(claims_app, estate, make_tenant, make_user, file, move,
                                       agent_client):
    north_tenant = make_tenant(building_id=estate["north"])
    south_tenant = make_tenant(building_id=estate["south"])
    staff = make_user("agent")
    tap = file(north_tenant)                                    # plumbing, tenant pays
    lift = file(staff, **LIFT, building_id=estate["north"])     # lift, maintenance contract
    south = file(south_tenant)
    old = file(north_tenant)
    late = file(north_tenant)
    grouped = file(north_tenant)
    qualified = file(north_tenant)
    closed = file(north_tenant)
    move(qualified, "qualified", staff)
    move(closed, "rejected", staff, reason="Not ours.")
    now = utcnow()
    set_claim(claims_app, old, created_at=now - timedelta(days=40))
    set_claim(claims_app, late, due_at=now - timedelta(hours=2))
    set_claim(claims_app, closed, due_at=now - timedelta(hours=2))
    with claims_app.app_context():
        tap_claim = db.session.get(Claim, grouped)
        incident = Incident(building_id=tap_claim.building_id, agency_id=tap_claim.agency_id,
                            equipment_id=tap_claim.equipment_id,
                            problem_id=tap_claim.problem_id, wording=tap_claim.wording)
        db.session.add(incident)
        db.session.flush()
        tap_claim.incident_id = incident.id
        db.session.commit()
    ref = {claim_id: reference_of(claims_app, claim_id) for claim_id in (
        tap, lift, south, old, late, grouped, qualified, closed)}
    opened = {ref[i] for i in (tap, lift, south, old, late, grouped, qualified)}
    client, _manager = agent_client("manager")

    assert set(references(client)) == opened  # open claims by default
    assert set(references(client, "?status=rejected")) == {ref[closed]}
    assert set(references(client, "?status=qualified&status=rejected")) == {
        ref[qualified], ref[closed]}
    assert set(references(client, f"?agency={estate['south_agency']}")) == {ref[south]}
    assert set(references(client, f"?building={estate['south']}")) == {ref[south]}
    with claims_app.app_context():
        trade = db.session.get(Claim, lift).trade
    assert set(references(client, f"?trade={trade}")) == {ref[lift]}
    assert set(references(client, "?responsibility=maintenance_contract")) == {ref[lift]}
    assert set(references(client, "?age=30")) == {ref[old]}
    # Past the deadline: open claims only (the rejected one's deadline no longer runs).
    assert set(references(client, "?breached=1")) == {ref[late]}
    assert set(references(client, "?incident=yes")) == {ref[grouped]}
    assert set(references(client, "?incident=no")) == opened - {ref[grouped]}
    assert references(client, f"?q={ref[south].lower()}") == [ref[south]]
    # Filters combine.
    assert set(references(client, f"?building={estate['north']}&responsibility=tenant"
                                   "&age=30")) == {ref[old]}


def test_bad_filters_get_a_clear_message(claims_app, agent_client):
    client, _agent = agent_client("manager")
    for query in ("?status=lost", "?age=-3", "?age=soon", "?sort=price", "?page=0",
                  "?agency=north", "?breached=yes", "?incident=maybe"):
        response = client.get("/backoffice/claims/" + query)
        assert response.status_code == 400, query
        assert "Please correct the following" in response.get_data(as_text=True)


def test_the_queue_sorts_by_deadline_or_filing_time(claims_app, estate, make_tenant, file,
                                                    agent_client):
    tenant = make_tenant(building_id=estate["north"])
    ids = [file(tenant) for _ in range(3)]
    now = utcnow()
    # Filed first, due last; filed last, due first.
    for position, claim_id in enumerate(ids):
        set_claim(claims_app, claim_id, created_at=now - timedelta(days=10 - position),
                  due_at=now + timedelta(days=5 - position))
    refs = [reference_of(claims_app, claim_id) for claim_id in ids]
    client, _agent = agent_client()
    assert references(client) == refs[::-1]  # the nearest deadline first
    assert references(client, "?sort=-due") == refs
    assert references(client, "?sort=created") == refs
    assert references(client, "?sort=-created") == refs[::-1]

    html = client.get("/backoffice/claims/?sort=-created").get_data(as_text=True)
    assert 'aria-sort="descending"><a href="/backoffice/claims/?sort=created">' in html
    assert '<th scope="col"><a href="/backoffice/claims/?sort=due">Deadline' in html


def test_the_queue_comes_in_pages(make_app, make_estate, make_tenant, make_user, file, login):
    app = make_app(plugins=["claims"], CLAIMS_QUEUE_PAGE_SIZE=2)
    tenant = make_tenant(building_id=make_estate())
    ids = [file(tenant) for _ in range(5)]
    now = utcnow()
    for position, claim_id in enumerate(ids):
        set_claim(app, claim_id, due_at=now + timedelta(days=position + 1))
    refs = [reference_of(app, claim_id) for claim_id in ids]
    client = app.test_client()
    login(client, make_user("agent", locale="en"))
    html = client.get("/backoffice/claims/?status=acknowledged").get_data(as_text=True)
    assert REFERENCE.findall(html) == refs[:2]
    assert 'rel="next" href="/backoffice/claims/?status=acknowledged&amp;page=2"' in html
    assert 'rel="prev"' not in html
    html = client.get("/backoffice/claims/?status=acknowledged&page=2").get_data(as_text=True)
    assert REFERENCE.findall(html) == refs[2:4]
    assert 'rel="prev" href="/backoffice/claims/?status=acknowledged&amp;page=1"' in html
    html = client.get("/backoffice/claims/?status=acknowledged&page=3").get_data(as_text=True)
    assert REFERENCE.findall(html) == refs[4:]
    assert 'rel="next"' not in html


def csv_rows(response) -> list[list[str]]:
    data = response.get_data()
    assert data.startswith(b"\xef\xbb\xbf")  # the BOM French Excel needs to read UTF-8
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))


def test_the_csv_export_has_the_queue_with_formulas_made_inert(
        claims_app, estate, make_tenant, make_user, file, move, agent_client, monkeypatch):
    from plugins.claims.views import backoffice

    # One claim per batch: the rows follow each other across batches, none twice.
    monkeypatch.setattr(backoffice, "EXPORT_BATCH", 1)
    tenant = make_tenant(building_id=estate["north"])
    technician = make_user("technician", display_name="@Dupont")
    staff = make_user("agent")
    assigned, other = file(tenant), file(tenant)
    move(assigned, "qualified", staff)
    move(assigned, "assigned", staff, technician_id=technician.id)
    set_claim(claims_app, other, due_at=utcnow() - timedelta(hours=1))
    with claims_app.app_context():
        db.session.execute(update(Building).where(Building.id == estate["north"])
                           .values(name='=HYPERLINK("http://evil.example","Bât")'))
        db.session.commit()
    client, _agent = agent_client()
    response = client.get("/backoffice/claims/export.csv?sort=created")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    header, *rows = csv_rows(response)
    assert header[:3] == ["Reference", "Filed", "Place"]
    assert [row[0] for row in rows] == [reference_of(claims_app, assigned),
                                        reference_of(claims_app, other)]
    column = {name: index for index, name in enumerate(header)}
    first, second = rows
    assert first[column["Building"]] == '\'=HYPERLINK("http://evil.example","Bât")'
    assert first[column["Assigned to"]] == "'@Dupont"
    assert first[column["Status"]] == "Assigned"
    assert first[column["Who pays"]] == "Charged to the tenant"
    assert (first[column["Past the deadline"]], second[column["Past the deadline"]]) == (
        "no", "yes")
    _header, *reverse = csv_rows(client.get("/backoffice/claims/export.csv?sort=-created"))
    assert reverse == rows[::-1]
    # The same filters as the queue.
    _header, *only = csv_rows(client.get("/backoffice/claims/export.csv?breached=1"))
    assert [row[0] for row in only] == [reference_of(claims_app, other)]
    with claims_app.app_context():
        exports = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "export"))
        assert [event.detail["what"] for event in exports] == ["claims"] * 3


def test_an_agent_never_sees_another_agency_s_claims(claims_app, estate, make_tenant,
                                                     file, agent_client):
    ours = file(make_tenant(building_id=estate["north"]))
    theirs = file(make_tenant(building_id=estate["south"]))
    client, _agent = agent_client(agency_id=estate["north_agency"])
    ours_ref, theirs_ref = reference_of(claims_app, ours), reference_of(claims_app, theirs)

    assert references(client) == [ours_ref]
    assert references(client, f"?agency={estate['south_agency']}") == [ours_ref]
    assert references(client, f"?building={estate['south']}") == []
    assert references(client, f"?q={theirs_ref}") == []
    html = client.get("/backoffice/claims/").get_data(as_text=True)
    assert 'name="agency"' not in html  # no list of the other agencies
    assert "Agence 2" not in html
    _header, *rows = csv_rows(client.get("/backoffice/claims/export.csv"))
    assert [row[0] for row in rows] == [ours_ref]
    _header, *rows = csv_rows(client.get(f"/backoffice/claims/export.csv?q={theirs_ref}"))
    assert rows == []

    assert client.get(f"/backoffice/claims/{theirs}").status_code == 404
    token = csrf_token(client, f"/backoffice/claims/{ours}")
    for path, data in ((f"{theirs}/note", {"note-text": "Hi"}),
                       (f"{theirs}/message", {"message-text": "Hi"}),
                       (f"{theirs}/status/qualified", {}),
                       (f"{theirs}/responsibility", {"responsibility-responsibility": "landlord",
                                                     "responsibility-reason": "Wear"})):
        response = client.post(f"/backoffice/claims/{path}", data={"csrf_token": token, **data})
        assert response.status_code == 404, path
    with claims_app.app_context():
        assert db.session.get(Claim, theirs).status is Status.ACKNOWLEDGED
        assert len(db.session.get(Claim, theirs).events) == 2
    # A manager chooses among the agencies.
    manager, _user = agent_client("manager")
    html = manager.get("/backoffice/claims/").get_data(as_text=True)
    assert 'name="agency"' in html and "Agence 2" in html


def test_the_claim_page_shows_everything_and_moves_the_claim(claims_app, estate, make_tenant,
                                                             make_user, file, move,
                                                             agent_client):
    tenant = make_tenant(building_id=estate["north"], first_name="Josiane", last_name="Fabre")
    technician = make_user("technician", display_name="Luc Plombier")
    claim_id = file(tenant, description="Water under the sink since Monday.")
    staff = make_user("agent")
    move(claim_id, "qualified", staff, internal_note="Known leaky block.")
    client, _agent = agent_client()
    url = f"/backoffice/claims/{claim_id}"
    html = client.get(url).get_data(as_text=True)
    assert reference_of(claims_app, claim_id) in html
    assert "Josiane Fabre" in html and "Water under the sink since Monday." in html
    assert "Internal (staff only):</strong> Known leaky block." in html
    assert "Luc Plombier" in html  # offered in the assignment form
    # One form per allowed next status.
    assert sorted(re.findall(rf'action="{url}/status/(\w+)"', html)) == [
        "assigned", "cancelled", "rejected"]

    token = csrf_token(client, url)
    # A rejection without its reason: the message next to the field, nothing written.
    response = client.post(f"{url}/status/rejected", data={
        "csrf_token": token, "rejected-expected_status": "qualified"})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert 'id="rejected-reason-error">Please give the reason.' in page
    with claims_app.app_context():
        assert db.session.get(Claim, claim_id).status is Status.QUALIFIED

    response = client.post(f"{url}/status/assigned", data={
        "csrf_token": token, "assigned-expected_status": "qualified",
        "assigned-trade": "plumbing", "assigned-technician": str(technician.id),
        "assigned-public_message": "A plumber is on the case.",
        "assigned-internal_note": "Call before going."})
    assert response.status_code == 303, response.get_data(as_text=True)
    with claims_app.app_context():
        claim = db.session.get(Claim, claim_id)
        assert (claim.status, claim.assigned_technician_id) == (Status.ASSIGNED, technician.id)
    html = client.get(url).get_data(as_text=True)
    assert "The claim is now “Assigned”." in html

    # Sent from a page read before the change: a conflict, said plainly.
    response = client.post(f"{url}/status/cancelled", data={
        "csrf_token": token, "cancelled-expected_status": "qualified"})
    assert response.status_code == 409
    assert "This claim was changed meanwhile" in response.get_data(as_text=True)
    # A move the status does not allow.
    response = client.post(f"{url}/status/closed", data={"csrf_token": token})
    assert response.status_code == 409
    assert "it cannot become “Closed”" in response.get_data(as_text=True)
    assert client.post(f"{url}/status/lost", data={"csrf_token": token}).status_code == 404


def test_notes_messages_and_who_pays_from_the_claim_page(claims_app, estate, make_tenant,
                                                         file, agent_client, login):
    tenant = make_tenant(building_id=estate["north"], locale="en")
    claim_id = file(tenant)
    client, _agent = agent_client()
    url = f"/backoffice/claims/{claim_id}"
    token = csrf_token(client, url)

    response = client.post(f"{url}/note", data={"csrf_token": token, "note-text": " "})
    assert response.status_code == 400
    assert 'id="note-text-error">Please write the note.' in response.get_data(as_text=True)
    assert client.post(f"{url}/note", data={
        "csrf_token": token, "note-text": "Keys at the caretaker's."}).status_code == 303
    assert client.post(f"{url}/message", data={
        "csrf_token": token, "message-text": "We call you on Monday."}).status_code == 303
    response = client.post(f"{url}/responsibility", data={
        "csrf_token": token, "responsibility-responsibility": "landlord",
        "responsibility-reason": ""})
    assert response.status_code == 400
    assert 'id="responsibility-reason-error">Please give the reason.' in \
        response.get_data(as_text=True)
    assert client.post(f"{url}/responsibility", data={
        "csrf_token": token, "responsibility-responsibility": "landlord",
        "responsibility-reason": "Worn out after 20 years."}).status_code == 303
    # Without its token, nothing.
    assert client.post(f"{url}/note", data={"note-text": "No token"}).status_code == 400

    html = client.get(url).get_data(as_text=True)
    assert "Internal note</h3>" in html and "Keys at the caretaker&#39;s." in html
    assert "We call you on Monday." in html
    assert "Charged to the landlord" in html
    assert "According to the catalogue: Charged to the tenant" in html
    with claims_app.app_context():
        kinds = [event.kind for event in db.session.scalars(select(ClaimEvent).where(
            ClaimEvent.claim_id == claim_id).order_by(ClaimEvent.id))]
        assert kinds[2:] == [EventKind.NOTE, EventKind.MESSAGE, EventKind.RESPONSIBILITY]

    tenant_client = claims_app.test_client()
    login(tenant_client, tenant)
    page = tenant_client.get(f"/portal/claims/{claim_id}").get_data(as_text=True)
    assert "Keys at the caretaker" not in page and "No token" not in page
    assert "We call you on Monday." in page
    assert "Charged to the landlord" in page and "Worn out after 20 years." in page


def test_a_bulk_change_from_the_queue_reports_what_was_refused(
        claims_app, estate, make_tenant, make_user, file, move, agent_client):
    tenant = make_tenant(building_id=estate["north"])
    first, second, cancelled = file(tenant), file(tenant), file(tenant)
    move(cancelled, "cancelled", tenant)
    client, _agent = agent_client()
    token = csrf_token(client, "/backoffice/claims/")
    response = client.post("/backoffice/claims/bulk", data={
        "csrf_token": token, "claim": [str(first), str(second), str(cancelled)],
        "to": "qualified", "public_message": "Your claim is being handled.",
        "back": "/backoffice/claims/?status=acknowledged"})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "2 changed, 1 refused." in html
    refused = html[html.index('id="refused-title"'):html.index('id="done-title"')]
    assert reference_of(claims_app, cancelled) in refused
    assert "it cannot become “Qualified”" in refused
    assert 'href="/backoffice/claims/?status=acknowledged"' in html
    with claims_app.app_context():
        assert [db.session.get(Claim, i).status for i in (first, second, cancelled)] == [
            Status.QUALIFIED, Status.QUALIFIED, Status.CANCELLED]
    # Nothing ticked, or an address elsewhere to go back to: a message, nothing written.
    response = client.post("/backoffice/claims/bulk", data={
        "csrf_token": token, "to": "closed", "back": "https://evil.example/"})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "Tick at least one claim in the queue." in html
    assert "evil.example" not in html


def test_the_back_office_menu_and_widgets(claims_app, estate, make_tenant, file,
                                          agent_client, make_user, login):
    tenant = make_tenant(building_id=estate["north"])
    file(tenant)
    late = file(tenant)
    set_claim(claims_app, late, due_at=utcnow() - timedelta(hours=3))
    client, _agent = agent_client()
    html = client.get("/backoffice/").get_data(as_text=True)
    assert '<a href="/backoffice/claims/">Claims</a>' in html
    assert re.search(r'Open claims</a></h2>\s*<p class="widget__figure">2</p>', html)
    assert re.search(r'Claims past their deadline</a></h2>\s*<p class="widget__figure">1</p>',
                     html)
    caretaker = claims_app.test_client()
    login(caretaker, make_user("caretaker", locale="en"))
    html = caretaker.get("/backoffice/").get_data(as_text=True)
    assert "/backoffice/claims/" not in html
    assert caretaker.get("/backoffice/claims/").status_code == 403


def test_the_queue_marks_claims_with_news_from_the_tenant(claims_app, estate, make_tenant,
                                                         file, move, agent_client):
    from core.accounts import User
    from plugins.claims.tracking import add_information

    tenant = make_tenant(building_id=estate["north"])
    quiet, busy = file(tenant), file(tenant)
    with claims_app.app_context():
        add_information(busy, db.session.get(User, tenant.id), "The leak now reaches the floor.")
    client, agent = agent_client()

    def marked() -> set[str]:
        html = client.get("/backoffice/claims/").get_data(as_text=True)
        return set(re.findall(r'>(RC-\d{4}-\d{6})</a><br><strong class="claims-news">', html))

    assert marked() == {reference_of(claims_app, busy)}
    assert reference_of(claims_app, quiet) not in marked()
    # Once staff act on it (here a status change), the news has been seen.
    move(busy, "qualified", agent)
    assert marked() == set()
