"""The audit log: what it records, what it never records, and that tampering is detected."""
import json
import threading
from datetime import date, timedelta

import pytest
from flask_login import login_user
from sqlalchemy import select, text

from core import audit
from core.accounts import User, utcnow
from core.audit import AuditEvent, verify_chain
from core.config import ConfigError
from core.estate import Dwelling, Person
from core.extensions import db
from core.testing.browser import axe_violations
from core.testing.fixtures import DEFAULT_PASSWORD, csrf_token


def all_events(app) -> list[dict]:
    with app.app_context():
        rows = db.session.execute(select(AuditEvent.__table__).order_by(AuditEvent.seq))
        return [dict(row) for row in rows.mappings()]


def dump(events) -> str:
    return json.dumps(events, default=str, ensure_ascii=False)


def verify(app, *args):
    return app.test_cli_runner().invoke(args=["audit", "verify", *args])


def post_login(client, email, password):
    return client.post("/login", data={"csrf_token": csrf_token(client, "/login"),
                                       "email": email, "password": password})


# What is recorded ---------------------------------------------------------------------------

def test_login_and_failed_logins_are_recorded_without_the_password(client, app, make_user):
    agent = make_user("agent", email="sophie.lambert@example.org")
    assert post_login(client, "Sophie.Lambert@Example.ORG", "Tr0ub4dor&3-wrong").status_code \
        == 401
    assert post_login(client, "nobody@example.org", "another-secret-9").status_code == 401
    assert post_login(client, agent.email, DEFAULT_PASSWORD).status_code == 302

    events = [e for e in all_events(app) if e["action"].startswith("login")]
    failed_known, failed_unknown, success = events
    assert failed_known["action"] == "login_failed"
    assert failed_known["detail"] == {"email": "sophie.lambert@example.org"}
    assert failed_known["actor_id"] is None
    assert (failed_known["object_type"], failed_known["object_id"]) == ("user_account",
                                                                         str(agent.id))
    assert failed_known["client_address"] == "127.0.0.1"
    assert failed_unknown["detail"] == {"email": "nobody@example.org"}
    assert failed_unknown["object_id"] is None
    assert success["action"] == "login"
    assert (success["actor_id"], success["actor_label"]) == (agent.id, agent.email)
    everything = dump(all_events(app))
    for password in ("Tr0ub4dor&3-wrong", "another-secret-9", DEFAULT_PASSWORD):
        assert password not in everything


def test_logout_is_recorded_and_the_session_version_is_masked(client, app, make_user, login):
    agent = make_user("agent")
    login(client, agent)
    token = csrf_token(client, "/backoffice/")
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    logout, = [e for e in all_events(app) if e["action"] == "logout"]
    assert logout["actor_id"] == agent.id
    change, = [e for e in all_events(app) if e["action"] == "update"
               and e["object_type"] == "user_account"]
    assert change["detail"] == {"changed": {"session_version": "[masked]"}}


def test_a_change_to_a_dwelling_names_its_actor_and_changed_fields(app, make_estate,
                                                                    make_user):
    make_estate(dwellings=1)
    agent = make_user("agent", email="agent@example.org")
    with app.test_request_context("/backoffice/", environ_base={"REMOTE_ADDR": "192.0.2.7"}):
        login_user(db.session.get(User, agent.id))
        dwelling = db.session.scalar(select(Dwelling))
        dwelling.floor, dwelling.kind = 5, "T4"
        db.session.commit()
        dwelling_id = dwelling.id

    change = all_events(app)[-1]
    assert change["action"] == "update"
    assert (change["object_type"], change["object_id"]) == ("dwelling", str(dwelling_id))
    assert (change["actor_id"], change["actor_label"]) == (agent.id, "agent@example.org")
    assert change["client_address"] == "192.0.2.7"
    assert change["detail"] == {"changed": {"floor": 5, "kind": "T4"}}


def test_creations_are_recorded_by_the_system_outside_requests(app, make_estate):
    make_estate(dwellings=2)
    events = all_events(app)
    assert [(e["action"], e["object_type"]) for e in events] == [
        ("create", table) for table in
        sorted(["agency", "residence", "building", "entrance", "dwelling", "dwelling"],
               key=[e["object_type"] for e in events].index)]
    assert {e["actor_label"] for e in events} == {"system"}
    dwelling = next(e for e in events if e["object_type"] == "dwelling")
    assert dwelling["detail"]["fields"]["surface_m2"] == 64.5
    assert "id" not in dwelling["detail"]["fields"]


def test_secret_values_never_reach_the_log(app, make_user, make_tenant):
    tenant = make_tenant()
    with app.app_context():
        user = db.session.get(User, tenant.id)
        user.set_password("a brand new passphrase")
        user.end_all_sessions()
        person = db.session.get(Person, tenant.person_id)
        person.phone = "06 12 34 56 78"
        db.session.commit()
        password_hash = user.password_hash
        person_id = person.id
    events = all_events(app)
    everything = dump(events)
    assert "a brand new passphrase" not in everything
    assert password_hash not in everything and "$argon2" not in everything
    assert "12 34 56" not in everything and "0612345678" not in everything
    account_change = next(e for e in events if e["action"] == "update"
                          and e["object_type"] == "user_account")
    assert account_change["detail"] == {"changed": {"password_hash": "[masked]",
                                                    "session_version": "[masked]"}}
    person_change = events[-1]
    assert person_change["detail"] == {"changed": {"phone": "…78"}}
    assert person_change["person_id"] == person_id


def test_masking_rules():
    values = {"reset_token": "abc", "api_key": "k", "otp_secret": "s", "postcode": "11000",
              "mobile_phone": "+33 6 12 34 56 78", "nested": {"password": "p", "floor": 2},
              "when": date(2026, 3, 14)}
    assert audit.masked(values) == {
        "reset_token": "[masked]", "api_key": "[masked]", "otp_secret": "[masked]",
        "postcode": "11000", "mobile_phone": "…78",
        "nested": {"password": "[masked]", "floor": 2}, "when": "2026-03-14"}


def test_an_event_rolls_back_with_the_change_it_describes(app, make_estate):
    make_estate(dwellings=1)
    before = len(all_events(app))
    with app.app_context():
        dwelling = db.session.scalar(select(Dwelling))
        dwelling.floor = 7
        db.session.flush()
        audit.record("export", obj=dwelling, detail={"format": "csv"})
        db.session.rollback()
    assert len(all_events(app)) == before
    assert verify(app).exit_code == 0


# Staff viewing a tenant's file --------------------------------------------------------------

def test_a_staff_view_of_a_tenant_file_is_recorded(client, app, make_tenant, make_user, login):
    tenant = make_tenant(first_name="Josiane", last_name="Fabre")
    agent = make_user("agent", email="viewer@example.org")
    login(client, agent)

    found = client.get("/backoffice/people?q=fabre").get_data(as_text=True)
    assert "Mme Josiane Fabre" in found
    assert len([e for e in all_events(app) if e["action"] == "view_tenant_file"]) == 0

    page = client.get(f"/backoffice/people/{tenant.person_id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Mme Josiane Fabre" in html and tenant.email in html and "rue de la Paix" in html
    view, = [e for e in all_events(app) if e["action"] == "view_tenant_file"]
    assert (view["actor_id"], view["actor_label"]) == (agent.id, "viewer@example.org")
    assert view["person_id"] == tenant.person_id
    assert (view["object_type"], view["object_id"]) == ("person", str(tenant.person_id))


def test_people_are_found_by_lease_reference_and_bad_searches_are_explained(
        client, app, make_tenant, make_user, login):
    tenant = make_tenant(first_name="Paul", last_name="Roux")
    login(client, make_user("agent"))
    with app.app_context():
        lease_reference = db.session.get(Person, tenant.person_id).household.leases[0].reference
    assert "Paul Roux" in client.get(
        f"/backoffice/people?q={lease_reference.lower()}").get_data(as_text=True)
    assert "Personne ne correspond" in client.get(
        "/backoffice/people?q=zzzz").get_data(as_text=True)
    short = client.get("/backoffice/people?q=x")
    assert short.status_code == 400
    assert "de 2 à 120 caractères" in short.get_data(as_text=True)


def test_tenant_files_are_for_staff_only(client, app, make_tenant, make_user, login):
    tenant = make_tenant()
    other = make_tenant(first_name="Autre")
    login(client, tenant)
    assert client.get(f"/backoffice/people/{other.person_id}").status_code == 403
    client = app.test_client()
    login(client, make_user("agent"))
    assert client.get("/backoffice/people/999999").status_code == 404
    assert [e for e in all_events(app) if e["action"] == "view_tenant_file"] == []


# The chain ----------------------------------------------------------------------------------

@pytest.fixture
def chained(app, make_estate, make_user):
    """An app whose audit log holds a dozen events."""
    make_estate(dwellings=3)
    make_user("agent")
    make_user("admin")
    assert len(all_events(app)) >= 9
    return app


def test_the_chain_verifies(chained):
    result = verify(chained)
    assert result.exit_code == 0, result.output
    head = all_events(chained)[-1]
    assert f"{len(all_events(chained))} events intact" in result.output
    assert f"Head: {head['seq']}:{head['hash']}" in result.output
    assert verify(chained, "--anchor", f"{head['seq']}:{head['hash']}").exit_code == 0


def test_an_empty_log_verifies(app):
    result = verify(app)
    assert result.exit_code == 0 and "no event yet" in result.output


def tamper(app, *statements, **params):
    with app.app_context():
        for statement in statements:
            db.session.execute(text(statement), params)
        db.session.commit()


@pytest.mark.parametrize("statement", [
    "UPDATE audit_event SET actor_label = 'someone.else@example.org' WHERE seq = 4",
    "UPDATE audit_event SET action = 'delete' WHERE seq = 4",
    "UPDATE audit_event SET object_id = '999' WHERE seq = 4",
])
def test_an_edited_field_is_detected(chained, statement):
    tamper(chained, statement)
    result = verify(chained)
    assert result.exit_code == 1
    assert "BROKEN at event 4" in result.output


def test_an_edit_with_its_hashes_recomputed_is_detected_at_the_next_event(chained):
    event = all_events(chained)[3]
    event["actor_label"] = "someone.else@example.org"
    event["body_hash"] = audit.content_hash(event)
    event["hash"] = audit.event_hash(event)
    tamper(chained, "UPDATE audit_event SET actor_label = :label, body_hash = :body, "
                    "hash = :hash WHERE seq = 4",
           label=event["actor_label"], body=event["body_hash"], hash=event["hash"])
    result = verify(chained)
    assert result.exit_code == 1
    assert "BROKEN at event 5: it does not follow event 4" in result.output


def test_a_deleted_event_is_detected(chained):
    tamper(chained, "DELETE FROM audit_event WHERE seq = 3")
    result = verify(chained)
    assert result.exit_code == 1
    assert "BROKEN at event 3: event 3 is missing" in result.output


def test_an_inserted_forged_event_is_detected(chained):
    events = all_events(chained)
    forged = {"seq": 3, "occurred_at": events[2]["occurred_at"], "action": "login",
              "actor_id": None, "actor_label": "forger@example.org", "object_type": None,
              "object_id": None, "person_id": None, "client_address": None, "detail": None,
              "redacted": False, "prev_hash": events[1]["hash"]}
    forged["body_hash"] = audit.content_hash(forged)
    forged["hash"] = audit.event_hash(forged)
    # Make room at number 3, then slip the forged event in, hashes computed as the log does.
    tamper(chained, "UPDATE audit_event SET seq = seq + 1000 WHERE seq >= 3",
           "UPDATE audit_event SET seq = seq - 999 WHERE seq >= 1003")
    with chained.app_context():
        db.session.execute(AuditEvent.__table__.insert(), forged)
        db.session.commit()
    result = verify(chained)
    assert result.exit_code == 1
    assert "BROKEN at event 4" in result.output


def test_an_appended_event_with_a_made_up_hash_is_detected(chained):
    last = all_events(chained)[-1]
    tamper(chained, "INSERT INTO audit_event (seq, occurred_at, action, redacted, body_hash, "
                    "prev_hash, hash) VALUES (:seq, :at, 'login', false, :fake, :prev, :fake)",
           seq=last["seq"] + 1, at=last["occurred_at"], prev=last["hash"], fake="f" * 64)
    result = verify(chained)
    assert result.exit_code == 1
    assert f"BROKEN at event {last['seq'] + 1}" in result.output


def test_swapped_events_are_detected(chained):
    tamper(chained, "UPDATE audit_event SET seq = -1 WHERE seq = 3",
           "UPDATE audit_event SET seq = 3 WHERE seq = 4",
           "UPDATE audit_event SET seq = 4 WHERE seq = -1")
    result = verify(chained)
    assert result.exit_code == 1
    assert "BROKEN at event 3" in result.output


def test_a_cut_end_is_detected_with_an_anchor(chained):
    head = all_events(chained)[-1]
    tamper(chained, "DELETE FROM audit_event WHERE seq = :seq", seq=head["seq"])
    assert verify(chained).exit_code == 0  # no chain can see this by itself
    result = verify(chained, "--anchor", f"{head['seq']}:{head['hash']}")
    assert result.exit_code == 1
    assert f"BROKEN at event {head['seq']}" in result.output
    assert verify(chained, "--anchor", "12:nonsense").exit_code == 2


def test_concurrent_writers_keep_one_chain(app, make_estate):
    """Eight threads recording and changing at once: one linear chain, nothing lost."""
    make_estate(dwellings=8)
    with app.app_context():
        dwelling_ids = list(db.session.scalars(select(Dwelling.id)))
    errors = []

    def writer(n):
        try:
            with app.app_context():
                for i in range(10):
                    dwelling = db.session.get(Dwelling, dwelling_ids[n])
                    dwelling.door = f"{n}-{i}"
                    audit.record("export", obj=dwelling, detail={"writer": n, "round": i})
                    db.session.commit()
        except Exception as exc:  # the assertion below reports it
            errors.append(repr(exc))

    before = len(all_events(app))
    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    events = all_events(app)
    assert len(events) == before + 8 * 10 * 2
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    with app.app_context():
        result = verify_chain()
    assert result.ok, result.problem


# Retention ----------------------------------------------------------------------------------

def record_views(app, make_tenant, count=3):
    tenant = make_tenant()
    with app.app_context():
        person = db.session.get(Person, tenant.person_id)
        for _ in range(count):
            audit.record("view_tenant_file", obj=person)
        db.session.commit()
    return tenant


def test_purge_blanks_expired_view_records_and_the_chain_still_verifies(app, make_tenant):
    record_views(app, make_tenant)
    with app.app_context():
        blanked = audit.purge_views(date.today() + timedelta(days=1))
    assert blanked == 3
    events = all_events(app)
    views = [e for e in events if e["action"] == "view_tenant_file"]
    assert all(e["redacted"] and e["person_id"] is None and e["actor_label"] is None
               for e in views)
    assert events[-1]["action"] == "audit_purge"
    assert events[-1]["detail"]["blanked"] == 3
    assert [e for e in events if e["action"] == "create"] and not any(
        e["redacted"] for e in events if e["action"] != "view_tenant_file")
    with app.app_context():
        # A year later, as the purge would have run: every blanked record is old enough.
        assert verify_chain(now=utcnow() + timedelta(days=400)).ok
        # Today, the same records were blanked too young: that is tampering.
        early = verify_chain()
    assert not early.ok and "183 days" in early.problem


def test_blanking_another_kind_of_event_is_detected(chained):
    tamper(chained, "UPDATE audit_event SET redacted = true, actor_id = NULL, "
                    "actor_label = NULL, object_type = NULL, object_id = NULL, "
                    "person_id = NULL, client_address = NULL, detail = NULL WHERE seq = 2")
    with chained.app_context():
        result = verify_chain(now=utcnow() + timedelta(days=400))
    assert result.broken_seq == 2 and "never blanked" in result.problem


def test_purge_command_keeps_the_retention_period(app, make_tenant):
    record_views(app, make_tenant)
    runner = app.test_cli_runner()
    too_recent = runner.invoke(args=["audit", "purge", "--before", date.today().isoformat()])
    assert too_recent.exit_code == 2
    assert "AUDIT_VIEW_RETENTION_DAYS=365" in too_recent.output
    result = runner.invoke(args=["audit", "purge"])
    assert result.exit_code == 0, result.output
    assert "Blanked 0 view records older than" in result.output
    assert len([e for e in all_events(app) if e["redacted"]]) == 0
    assert verify(app).exit_code == 0


@pytest.mark.parametrize("days", [30, 400, "365"])
def test_the_view_retention_must_be_six_to_twelve_months(make_app, days):
    with pytest.raises(ConfigError, match="from 183 to 366"):
        make_app(AUDIT_VIEW_RETENTION_DAYS=days)


# The administrators' page --------------------------------------------------------------------

def test_admins_search_the_audit_log(client, app, make_user, make_tenant, login):
    tenant = make_tenant()
    admin = make_user("admin", email="admin@example.org")
    post_login(app.test_client(), "ghost@example.org", "wrong-password-1")
    login(client, admin)

    page = client.get("/backoffice/admin/audit")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Journal d’audit" in html and "Échec de connexion" in html

    failed = client.get("/backoffice/admin/audit?action=login_failed").get_data(as_text=True)
    assert "ghost@example.org" in failed and "admin@example.org" not in failed
    by_actor = client.get("/backoffice/admin/audit?actor=ADMIN@example").get_data(as_text=True)
    assert "Connexion" in by_actor and "ghost@example.org" not in by_actor
    client.get(f"/backoffice/people/{tenant.person_id}")
    about = client.get(f"/backoffice/admin/audit?person={tenant.person_id}&action=view_tenant_file")
    assert about.get_data(as_text=True).count("Dossier locataire consulté</td>") == 1
    tomorrow = (date.today() + timedelta(days=2)).isoformat()
    future = client.get(f"/backoffice/admin/audit?start={tomorrow}").get_data(as_text=True)
    assert "Aucun événement ne correspond" in future


def test_the_audit_log_pages_newest_first(client, app, make_user, login):
    with app.app_context():
        for n in range(60):
            audit.record("export", detail={"n": n})
        db.session.commit()
    login(client, make_user("admin"))
    first = client.get("/backoffice/admin/audit?action=export").get_data(as_text=True)
    assert first.index("<code>n</code> 59") < first.index("<code>n</code> 58")
    assert "<code>n</code> 9<" not in first and "Événements plus anciens" in first
    second = client.get("/backoffice/admin/audit?action=export&page=2").get_data(as_text=True)
    assert "<code>n</code> 9<" in second and "<code>n</code> 0<" in second
    assert "<code>n</code> 10<" not in second
    assert "Événements plus récents" in second and "Événements plus anciens" not in second


def test_bad_audit_searches_are_explained_and_write_nothing(client, app, make_user, login):
    login(client, make_user("admin"))
    before = len(all_events(app))
    response = client.get("/backoffice/admin/audit?start=2026-05-10&end=2026-05-01&person=x"
                          "&page=0")
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "La date de fin ne doit pas précéder la date de début." in html
    assert '<a href="#person">Saisissez un numéro de personne, par exemple 42.</a>' in html
    assert "<li>Cette page n’existe pas.</li>" in html
    assert 'aria-invalid="true"' in html
    assert len(all_events(app)) == before


def test_the_audit_log_is_refused_to_an_agent(client, make_user, login):
    login(client, make_user("agent"))
    assert client.get("/backoffice/admin/audit").status_code == 403


def test_only_admins_see_the_audit_log_in_the_menu(client, app, make_user, login):
    login(client, make_user("agent"))
    html = client.get("/backoffice/").get_data(as_text=True)
    assert "Dossiers locataires" in html and "Journal d’audit" not in html


# In a browser ---------------------------------------------------------------------------------

@pytest.mark.browser
def test_an_admin_views_a_tenant_file_then_finds_it_in_the_audit_log(page, live_server,
                                                                    make_tenant, make_user):
    make_tenant(first_name="Josiane", last_name="Fabre")
    admin = make_user("admin", email="chef@example.org", display_name="Claire Admin")
    page.goto("/login")
    page.get_by_label("Adresse e-mail").fill(admin.email)
    page.get_by_label("Mot de passe", exact=True).fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url("**/backoffice/")

    page.get_by_role("link", name="Dossiers locataires").click()
    page.get_by_label("Nom ou référence de bail").fill("Fabre")
    page.get_by_role("button", name="Rechercher").click()
    page.get_by_role("link", name="Mme Josiane Fabre").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Mme Josiane Fabre"
    assert axe_violations(page) == []

    page.get_by_role("link", name="Journal d’audit").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Journal d’audit"
    assert axe_violations(page) == []
    page.get_by_label("Action", exact=True).fill("view_tenant_file")
    page.get_by_role("button", name="Rechercher").click()
    rows = page.locator(".audit-table tbody tr")
    assert rows.count() == 1
    assert "chef@example.org" in rows.first.inner_text()
    assert "Dossier locataire consulté" in rows.first.inner_text()
    page.get_by_label("Du", exact=True).fill("2026-05-10")
    page.get_by_label("Au", exact=True).fill("2026-05-01")
    page.get_by_role("button", name="Rechercher").click()
    assert "La date de fin" in page.get_by_role("alert").inner_text()
    assert axe_violations(page) == []


def test_a_caretaker_finds_only_the_occupants_of_their_buildings(app, make_estate, make_tenant,
                                                                 make_user, login):
    from core.estate import CaretakerAssignment

    mine, other = make_estate(), make_estate()
    neighbour = make_tenant(first_name="Lucie", last_name="Voisin", building_id=mine)
    stranger = make_tenant(first_name="Lucie", last_name="Ailleurs", building_id=other)
    caretaker = make_user("caretaker")
    with app.app_context():
        db.session.add(CaretakerAssignment(user_id=caretaker.id, building_id=mine))
        db.session.commit()
    client = app.test_client()
    login(client, caretaker)
    results = client.get("/backoffice/people?q=Lucie").get_data(as_text=True)
    assert "Voisin" in results and "Ailleurs" not in results
    assert client.get(f"/backoffice/people/{neighbour.person_id}").status_code == 200
    assert client.get(f"/backoffice/people/{stranger.person_id}").status_code == 404
    agent = app.test_client()
    login(agent, make_user("agent"))
    assert "Ailleurs" in agent.get("/backoffice/people?q=Lucie").get_data(as_text=True)


def test_committee_members_do_not_open_tenant_files(app, make_tenant, make_user, login):
    tenant = make_tenant()
    member = app.test_client()
    login(member, make_user("committee_member"))
    assert member.get(f"/backoffice/people/{tenant.person_id}").status_code == 403
    assert "Dossiers locataires" not in member.get("/backoffice/").get_data(as_text=True)
