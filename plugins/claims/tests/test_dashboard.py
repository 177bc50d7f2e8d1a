"""The claims dashboard: its figures are the seeded claims' (ages, breaches per agency and per
caretaker, ratings, who pays), an agent sees their agency's only, each chart has an accessible
name and a table, and axe finds nothing serious in a real browser."""
from __future__ import annotations

import re
from datetime import timedelta
from html.parser import HTMLParser

import pytest
from sqlalchemy import update

from core import Plugin, hookimpl
from core.accounts import User, utcnow
from core.estate import CaretakerAssignment
from core.extensions import db
from core.testing.browser import assert_accessible, log_in
from core.testing.smtp import free_port
from plugins.claims.models import Claim
from plugins.claims.tests.conftest import LIFT


class Tables(HTMLParser):
    """The page's tables as {caption: [[cell, ...], ...]} (body rows only)."""

    def __init__(self, html: str):
        super().__init__()
        self.tables, self._caption, self._row, self._text = {}, None, None, None
        self._in_caption = self._in_body = False
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        if tag == "caption":
            self._in_caption, self._caption = True, ""
        elif tag == "tbody":
            self._in_body = True
            self.tables[self._caption] = []
        elif tag == "tr" and self._in_body:
            self._row = []
        elif tag in ("th", "td") and self._row is not None:
            self._text = ""

    def handle_endtag(self, tag):
        if tag == "caption":
            self._in_caption = False
        elif tag == "tbody":
            self._in_body = False
        elif tag in ("th", "td") and self._text is not None:
            self._row.append(" ".join(self._text.split()))
            self._text = None
        elif tag == "tr" and self._row is not None:
            self.tables[self._caption].append(self._row)
            self._row = None

    def handle_data(self, data):
        if self._in_caption:
            self._caption += data
        elif self._text is not None:
            self._text += data


def client_as(app, user):
    client = app.test_client()
    with app.app_context():
        identifier = db.session.get(User, user.id).get_id()
    with client.session_transaction() as session:
        session["_user_id"] = identifier
        session["_fresh"] = True
    return client


@pytest.fixture
def seeded(claims_app, make_estate, make_tenant, make_user, file, move, monkeypatch):
    """Two agencies (1: building a, 2: building b), a caretaker each, and claims filed at
    chosen ages through the real filing (deadlines from the business calendar):

    agency 1: two taps today, one 5 days old, one 20 days old (10 working days: breached),
              one 40 days old and closed, rated 5;
    agency 2: a tap 40 days old (breached), a lift 10 days old (1 working day: breached),
              a tap 60 days old resolved, rated 2.
    """
    now = utcnow()
    building_a, building_b = make_estate(), make_estate()
    tenant_a = make_tenant(building_id=building_a)
    tenant_b = make_tenant(first_name="Yanis", last_name="Roux", building_id=building_b)
    staff = make_user("manager", locale="en", display_name="Mona Manager")
    with claims_app.app_context():
        caretakers = []
        for name, building in (("Gaston Gardien", building_a), ("Inès Concierge", building_b)):
            caretaker = User(email=f"{name.split()[0].lower()}@example.org", display_name=name,
                             role="caretaker", locale="en")
            db.session.add(caretaker)
            db.session.flush()
            db.session.add(CaretakerAssignment(user_id=caretaker.id, building_id=building))
            caretakers.append(caretaker.id)
        db.session.commit()

    def filed(tenant, days_ago, **fields):
        monkeypatch.setattr("plugins.claims.workflow.utcnow",
                            lambda: now - timedelta(days=days_ago))
        return file(tenant, **fields)

    def solve(claim_id, rating, last):
        for status in ("qualified", "assigned", "in_progress", "resolved", *last):
            move(claim_id, status, staff)
        with claims_app.app_context():
            db.session.execute(update(Claim).where(Claim.id == claim_id)
                               .values(rating=rating, rated_at=now - timedelta(days=1)))
            db.session.commit()

    for days in (0, 0, 5, 20):
        filed(tenant_a, days)
    solve(filed(tenant_a, 40), 5, ["closed"])
    filed(tenant_b, 40)
    filed(tenant_b, 10, **LIFT)
    solve(filed(tenant_b, 60), 2, [])
    monkeypatch.undo()
    return {"staff": staff, "building_a": building_a, "building_b": building_b}


def page_tables(app, user, query=""):
    response = client_as(app, user).get("/backoffice/claims/dashboard" + query)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    return html, Tables(html).tables


def test_the_figures_are_the_seeded_claims(claims_app, seeded):
    html, tables = page_tables(claims_app, seeded["staff"])
    assert tables["Open claims by age"] == [
        ["0 to 2 days", "2", "33 %"], ["3 to 7 days", "1", "17 %"],
        ["8 to 30 days", "2", "33 %"], ["over 30 days", "1", "17 %"]]
    assert tables["Deadline breaches by agency"] == [
        ["Agence 1", "4", "1", "25 %"], ["Agence 2", "2", "2", "100 %"]]
    assert tables["Deadline breaches in each caretaker's buildings"] == [
        ["Inès Concierge", "2", "2", "100 %"], ["Gaston Gardien", "4", "1", "25 %"]]
    assert tables["Tenants' satisfaction"] == [
        ["1 star", "0", "0 %"], ["2 stars", "1", "50 %"], ["3 stars", "0", "0 %"],
        ["4 stars", "0", "0 %"], ["5 stars", "1", "50 %"]]
    assert "3.5 out of 5" in html and "(2 ratings)" in html
    assert tables["Claims by responsibility"] == [
        ["Covered by a maintenance contract (paid through the service charges)", "1",
         "12 %"], ["Charged to the tenant", "7", "88 %"]]
    # No video diagnosis plugin: no "solved remotely" widget, not even a zero.
    assert "solved remotely" not in html.lower()


def test_an_agent_sees_their_agencys_figures_only(claims_app, seeded, make_user):
    from core.estate import Building

    with claims_app.app_context():
        agency_1 = db.session.get(Building, seeded["building_a"]).residence.agency_id
    agent = make_user("agent", locale="en", agency_id=agency_1)
    html, tables = page_tables(claims_app, agent)
    assert "Figures of the claims of your agency, Agence 1." in html
    assert tables["Open claims by age"] == [
        ["0 to 2 days", "2", "50 %"], ["3 to 7 days", "1", "25 %"],
        ["8 to 30 days", "1", "25 %"], ["over 30 days", "0", "0 %"]]
    assert tables["Deadline breaches by agency"] == [["Agence 1", "4", "1", "25 %"]]
    assert tables["Deadline breaches in each caretaker's buildings"] == [
        ["Gaston Gardien", "4", "1", "25 %"]]
    assert [row[1] for row in tables["Tenants' satisfaction"]] == ["0", "0", "0", "0", "1"]
    assert "Agence 2" not in html and "Inès Concierge" not in html


def test_each_chart_is_an_image_named_by_its_title_with_a_table(claims_app, seeded):
    html, tables = page_tables(claims_app, seeded["staff"])
    charts = re.findall(r'<svg class="chart__svg" role="img" aria-labelledby="([^"]+)"', html)
    assert len(charts) == 5
    for labelled_by in charts:
        title, desc = labelled_by.split()
        assert re.search(rf'<title id="{title}">[^<]+</title>', html)
        assert re.search(rf'<desc id="{desc}">[^<]+</desc>', html)
    assert html.count("<details class=\"chart__data\">") == 5
    assert len(tables) == 5


def test_the_period_limits_ratings_and_responsibility_not_open_claims(claims_app, seeded):
    with claims_app.app_context():
        db.session.execute(update(Claim).values(created_at=Claim.created_at - timedelta(
            days=100), rated_at=utcnow() - timedelta(days=100)))
        db.session.commit()
    html, tables = page_tables(claims_app, seeded["staff"], "?period=30")
    assert "No rating in this period." in html
    assert "No claim filed in this period." in html
    assert sum(int(row[1]) for row in tables["Open claims by age"]) == 6
    html, tables = page_tables(claims_app, seeded["staff"], "?period=nonsense")
    assert '<option value="365" selected>' in html


def test_an_empty_dashboard_says_so(claims_app, make_user):
    html, tables = page_tables(claims_app, make_user("admin", locale="en"))
    assert html.count("No open claim.") == 2 and tables == {}


class VideoDiagnosis(Plugin):
    """Stands for the video diagnosis plugin: claim ids listed here were solved remotely."""

    name = "remote_probe"

    def __init__(self):
        self.solved: list[int] = []

    @hookimpl
    def claims_solved_remotely(self):
        return Claim.id.in_(self.solved)


def test_the_remote_share_shows_with_video_diagnosis(make_app, make_estate, make_tenant,
                                                     make_user, file, move):
    video = VideoDiagnosis()
    app = make_app(plugins=["claims", "remote_probe"], extra_plugins={"remote_probe": video})
    tenant = make_tenant()
    manager = make_user("manager", locale="en")
    ids = [file(tenant) for _ in range(4)]
    for claim_id in ids[:3]:
        for status in ("qualified", "assigned", "in_progress", "resolved"):
            move(claim_id, status, manager)
    video.solved = [ids[0], ids[3]]  # the fourth is not resolved: not counted
    html, tables = page_tables(app, manager)
    assert tables["Claims solved remotely"] == [["Solved remotely", "1", "33 %"],
                                                ["With a visit", "2", "67 %"]]


def test_the_home_page_widget_and_menu(claims_app, seeded, make_user):
    response = client_as(claims_app, seeded["staff"]).get("/backoffice/")
    html = response.get_data(as_text=True)
    # The figure counts what the dashboard counts (open, not resolved, past the deadline) and
    # leads to those claims in the queue; the dashboard is in the menu.
    figure = re.search(r'href="/backoffice/claims/\?breached=1">Claims past their deadline</a>'
                       r'</h2><p class="widget__figure">(\d+)', html)
    assert figure and figure.group(1) == "3"
    assert 'href="/backoffice/claims/dashboard"' in html
    agent_home = client_as(claims_app, make_user("agent", locale="en")).get("/backoffice/")
    assert "Claims dashboard" in agent_home.get_data(as_text=True)
    assert client_as(claims_app, make_user("caretaker")).get(
        "/backoffice/claims/dashboard").status_code == 403


@pytest.fixture
def live_app(make_app):
    port = free_port()
    return make_app(plugins=["claims"], PUBLIC_URL=f"http://127.0.0.1:{port}")


@pytest.mark.browser
def test_the_dashboard_in_a_browser_is_accessible(live_app, live_server, page, make_tenant,
                                                  make_user, file):
    for _ in range(3):
        file(make_tenant())
    manager = make_user("manager", locale="fr")
    log_in(page, manager.email)
    page.goto("/backoffice/claims/dashboard")
    chart = page.get_by_role("img", name=re.compile("Réclamations ouvertes par ancienneté|"
                                                    "Open claims by age"))
    assert chart.is_visible()
    page.get_by_text(re.compile("Figures as a table|Les chiffres en tableau")).first.click()
    assert page.get_by_role("table").first.is_visible()
    assert_accessible(page)
