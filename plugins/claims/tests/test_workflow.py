"""Filing a claim and moving it along: one transaction each, nothing half-written, the table of
transitions enforced, concurrent changes taking turns, the plugin's own hooks."""
from __future__ import annotations

import io
import re
import threading
import time
from datetime import datetime

import pytest
from PIL import Image
from sqlalchemy import func, select

from core import Plugin, hookimpl
from core.accounts import User
from core.attachments import Attachment
from core.audit import AuditEvent
from core.estate import Building, CaretakerAssignment
from core.extensions import db
from plugins.claims.models import PHOTO_OWNER_TYPE, Claim, ClaimEvent, ReferenceCounter, Status
from plugins.claims.notices import notifications_enabled
from plugins.claims.tests.conftest import ANSWERS, LIFT, TAP, token
from plugins.claims.workflow import (
    TRANSITIONS,
    ClaimConflict,
    ClaimForbidden,
    ClaimInvalid,
    ClaimNotFound,
    IllegalTransition,
    change_status,
    file_claim,
)


def jpeg(colour=(200, 30, 30)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), colour).save(buffer, "JPEG")
    return buffer.getvalue()


def counts() -> dict:
    """What filing writes, table by table (run inside an app context)."""
    tables = {"claims": Claim.id, "events": ClaimEvent.id, "counters": ReferenceCounter.year,
              "photos": Attachment.id, "audit": AuditEvent.seq}
    found = {name: db.session.scalar(select(func.count(column))) for name, column in
             tables.items()}
    if notifications_enabled():
        from plugins.notifications.models import Message

        found["messages"] = db.session.scalar(select(func.count(Message.id)))
    return found


def stored_files(app) -> list:
    from pathlib import Path

    folder = Path(app.config.get("ATTACHMENTS_DIR") or Path(app.instance_path) / "attachments")
    return [p for p in folder.rglob("*") if p.is_file()] if folder.exists() else []


class Recorder(Plugin):
    """Listens to the claims plugin's events; can be told to fail or to linger."""

    name = "recorder"

    def __init__(self):
        self.calls = []
        self.fail_on = None
        self.linger_on = None

    def _note(self, name, claim, event=None):
        # Inside the transaction: the rows are flushed (ids known), nothing committed yet.
        self.calls.append((name, claim.reference, event.to_status.value if event else None,
                           db.session().in_transaction()))
        if self.fail_on == name:
            raise RuntimeError(f"listener failed on {name}")
        if event is not None and self.linger_on == event.to_status:
            time.sleep(0.4)

    @hookimpl
    def claim_submitted(self, claim):
        self._note("claim_submitted", claim)

    @hookimpl
    def claim_status_changed(self, claim, event):
        self._note("claim_status_changed", claim, event)

    @hookimpl
    def claim_postponed(self, claim, event):
        self._note("claim_postponed", claim, event)


@pytest.fixture
def recorder():
    return Recorder()


@pytest.fixture
def recorded_app(make_app, smtp_server, recorder):
    return make_app(plugins=["notifications", "claims", "recorder"],
                    extra_plugins={"recorder": recorder}, MAIL_SERVER=smtp_server.host,
                    MAIL_PORT=smtp_server.port, NOTIFICATIONS_CHANNELS=["mail"])


# -- filing ------------------------------------------------------------------------------------

def test_filing_writes_the_claim_its_events_audit_and_message_together(notified_app, make_tenant,
                                                                       file):
    from plugins.notifications.models import Message

    tenant = make_tenant()
    claim_id = file(tenant, photos=[jpeg(), jpeg((0, 0, 200))])
    with notified_app.app_context():
        claim = db.session.get(Claim, claim_id)
        from plugins.claims.workflow import local_year

        year = local_year(claim.created_at)
        assert claim.reference == f"RC-{year}-000001"
        assert claim.status is Status.ACKNOWLEDGED
        assert claim.channel.value == "portal"
        person = db.session.get(User, tenant.id).person
        assert (claim.person_id, claim.household_id) == (person.id, person.household_id)
        dwelling = claim.dwelling
        assert claim.building_id == dwelling.entrance.building_id
        assert claim.agency_id == db.session.get(Building, claim.building_id).residence.agency_id
        # The catalogue as it was: wording in both languages, who pays and why, the deadline.
        assert claim.catalogue_version == "2026.1"
        assert claim.text("problem", "fr").startswith("Le robinet goutte")
        assert claim.text("problem", "en")
        assert claim.responsibility == "tenant"
        assert claim.legal_reference.startswith("Décret 87-712, annexe, IV-d")
        from plugins.claims.business_hours import business_calendar

        assert claim.due_at == business_calendar().due_at(claim.created_at, claim.deadline_hours,
                                                          claim.priority)
        assert claim.answers == ANSWERS
        assert [(e.from_status, e.to_status, e.actor_label) for e in claim.events] == [
            (None, Status.SUBMITTED, "Camille Martin"),
            (Status.SUBMITTED, Status.ACKNOWLEDGED, "system")]
        photos = db.session.scalars(select(Attachment).where(
            Attachment.owner_type == PHOTO_OWNER_TYPE, Attachment.owner_id == claim_id)).all()
        assert len(photos) == 2 and {p.person_id for p in photos} == {person.id}
        created = db.session.scalar(select(AuditEvent).where(
            AuditEvent.object_type == "claims_claim", AuditEvent.action == "create"))
        assert created.person_id == person.id
        message = db.session.scalar(select(Message))
        assert message.kind == "claims.acknowledged"
        assert message.event == f"claim:{claim_id}:{claim.events[1].id}"
        assert (message.object_type, message.object_id) == ("claims_claim", claim_id)
        assert message.context["reference"] == claim.reference


def test_references_follow_each_other_within_a_year(claims_app, make_tenant, file):
    tenant = make_tenant()
    ids = [file(tenant) for _ in range(3)]
    with claims_app.app_context():
        references = [db.session.get(Claim, i).reference for i in ids]
    numbers = [int(re.fullmatch(r"RC-\d{4}-(\d{6})", r).group(1)) for r in references]
    assert numbers == [1, 2, 3]


FAULT_POINTS = ["after the reference", "after the first photo", "in claim_submitted",
                "after the acknowledgement message", "in claim_status_changed"]


@pytest.mark.parametrize("point", FAULT_POINTS)
def test_a_fault_anywhere_in_filing_leaves_nothing_written(point, recorded_app, recorder,
                                                          make_tenant, file, monkeypatch):
    import plugins.claims.workflow as workflow

    def then_fail(original):
        def wrapper(*args, **kwargs):
            original(*args, **kwargs)
            raise RuntimeError(f"fault {point}")
        return wrapper

    if point == "after the reference":
        monkeypatch.setattr(workflow, "allocate_reference", then_fail(workflow.allocate_reference))
    elif point == "after the first photo":
        monkeypatch.setattr(workflow, "store_image", then_fail(workflow.store_image))
    elif point == "in claim_submitted":
        recorder.fail_on = "claim_submitted"
    elif point == "after the acknowledgement message":
        monkeypatch.setattr(workflow.notices, "acknowledge",
                            then_fail(workflow.notices.acknowledge))
    else:
        recorder.fail_on = "claim_status_changed"

    tenant = make_tenant()
    with recorded_app.app_context():
        before = counts()
    with pytest.raises(RuntimeError, match="fault|listener failed"):
        file(tenant, photos=[jpeg(), jpeg()])
    with recorded_app.app_context():
        assert counts() == before
    assert stored_files(recorded_app) == []

    # The number it had is given back: the next claim is the year's first.
    monkeypatch.undo()
    recorder.fail_on = None
    claim_id = file(tenant)
    with recorded_app.app_context():
        assert db.session.get(Claim, claim_id).reference.endswith("-000001")


def test_a_confirmation_sent_twice_files_one_claim(notified_app, make_tenant, make_user, file):
    from plugins.notifications.models import Message

    tenant = make_tenant()
    confirmation = token()
    first = file(tenant, idempotency_token=confirmation)
    second = file(tenant, idempotency_token=confirmation)
    assert first == second
    with notified_app.app_context():
        assert db.session.scalar(select(func.count(Claim.id))) == 1
        assert db.session.scalar(select(func.count(Message.id))) == 1
    # Someone else's confirmation token is no way into their claim.
    other = make_tenant(first_name="Yanis", last_name="Haddad")
    with pytest.raises(ClaimInvalid) as refused:
        file(other, idempotency_token=confirmation)
    assert set(refused.value.errors) == {"token"}


def test_the_same_confirmation_sent_at_once_from_two_threads_files_one_claim(
        claims_app, make_tenant):
    tenant = make_tenant()
    confirmation = token()
    start = threading.Barrier(2)
    ids, errors = [], []

    def confirm():
        with claims_app.app_context():
            user = db.session.get(User, tenant.id)
            db.session.commit()
            start.wait()
            try:
                ids.append(file_claim(user, **TAP, description="Drips.", answers=ANSWERS,
                                      idempotency_token=confirmation).id)
            except Exception as error:  # noqa: BLE001 - reported below
                errors.append(error)

    threads = [threading.Thread(target=confirm) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(ids) == 2 and ids[0] == ids[1]
    with claims_app.app_context():
        assert db.session.scalar(select(func.count(Claim.id))) == 1


def _oversized():
    return "x" * 5001


BAD_SUBMISSIONS = [
    ("problem of other equipment", {"problem_id": "wc.blocked"}, "problem"),
    ("equipment not in the place", {"place_id": "toilet"}, "equipment"),
    ("unknown problem", {"problem_id": "tap.exploded"}, "problem"),
    ("problem id not text", {"problem_id": ["tap.drips"]}, "problem"),
    ("empty description", {"description": ""}, "description"),
    ("blank description", {"description": "   \n\t "}, "description"),
    ("oversized description", {"description": _oversized()}, "description"),
    ("description not text", {"description": 42}, "description"),
    ("NUL in description", {"description": "drip\x00drip"}, "description"),
    ("lone surrogate", {"description": "drip \ud800"}, "description"),
    ("unknown question", {"answers": {**ANSWERS, "colour": "red"}}, "answers"),
    ("answer not offered", {"answers": {**ANSWERS, "since": "forever"}}, "answers.since"),
    ("missing answer", {"answers": {"urgency": "can_wait"}}, "answers.since"),
    ("answers not a mapping", {"answers": ["today"]}, "answers"),
    ("six photos", {"photos": [b"x"] * 6}, "photos"),
    ("photo not an image", {"photos": [b"<html><script>alert(1)</script></html>"]}, "photos"),
    ("bad token", {"idempotency_token": "short"}, "token"),
    ("another dwelling", {"dwelling_id": 999999}, "location"),
    ("channel not open to tenants", {"channel": "phone"}, "channel"),
]


@pytest.mark.parametrize("fields,field", [case[1:] for case in BAD_SUBMISSIONS],
                         ids=[case[0] for case in BAD_SUBMISSIONS])
def test_bad_submissions_are_refused_and_write_nothing(fields, field, claims_app, make_tenant,
                                                       file):
    tenant = make_tenant()
    with claims_app.app_context():
        before = counts()
    with pytest.raises(ClaimInvalid) as refused:
        file(tenant, **fields)
    assert field in refused.value.errors
    assert all(message.strip() for message in refused.value.errors.values())
    with claims_app.app_context():
        assert counts() == before
    assert stored_files(claims_app) == []


def test_every_problem_of_a_submission_is_reported_at_once(claims_app, make_tenant, file):
    with pytest.raises(ClaimInvalid) as refused:
        file(make_tenant(), problem_id="wc.blocked", description="",
             answers={"since": "forever"})
    assert {"problem", "description", "answers.since", "answers.urgency"} <= \
        set(refused.value.errors)


def test_a_tenant_reports_on_the_common_parts_of_their_own_building_only(
        claims_app, make_tenant, make_estate, file):
    tenant = make_tenant()
    claim_id = file(tenant, **LIFT)
    with claims_app.app_context():
        claim = db.session.get(Claim, claim_id)
        assert claim.dwelling_id is None and claim.entrance_id is not None
        assert claim.responsibility == "maintenance_contract"
    elsewhere = make_estate()
    with pytest.raises(ClaimInvalid) as refused:
        file(tenant, **LIFT, building_id=elsewhere)
    assert "location" in refused.value.errors


def test_staff_file_for_a_tenant_or_the_common_parts(claims_app, make_tenant, make_user,
                                                    make_estate, file):
    tenant = make_tenant()
    agent = make_user("agent")
    caretaker = make_user("caretaker")
    own_claim = file(tenant)
    with claims_app.app_context():
        person_id = db.session.get(User, tenant.id).person_id
        own_building = db.session.get(Claim, own_claim).building_id
        db.session.add(CaretakerAssignment(user_id=caretaker.id, building_id=own_building))
        db.session.commit()
    by_phone = file(agent, person_id=person_id, channel="phone")
    rounds = file(caretaker, **LIFT, building_id=own_building)
    with claims_app.app_context():
        claim = db.session.get(Claim, by_phone)
        assert (claim.channel.value, claim.person_id, claim.filed_by_id) == \
            ("phone", person_id, agent.id)
        claim = db.session.get(Claim, rounds)
        assert (claim.channel.value, claim.person_id, claim.household_id) == \
            ("caretaker", None, None)
    with pytest.raises(ClaimInvalid) as refused:
        file(caretaker, **LIFT, building_id=make_estate())
    assert "location" in refused.value.errors
    with pytest.raises(ClaimForbidden):
        file(make_user("committee_member"), **LIFT, building_id=own_building)


def test_old_claims_keep_the_wording_they_were_filed_with(claims_app, make_tenant, file,
                                                        tmp_path):
    from plugins.claims.catalogue import CATALOGUE_FILE, load_catalogue

    tenant = make_tenant()
    old_id = file(tenant)
    edited = CATALOGUE_FILE.read_text(encoding="utf-8").replace(
        'version = "2026.1"', 'version = "2026.2"').replace(
        "Le robinet goutte", "Le robinet coule goutte à goutte")
    path = tmp_path / "catalogue.toml"
    path.write_text(edited, encoding="utf-8")
    new_catalogue = load_catalogue(path)
    new_id = file(tenant, catalogue=new_catalogue)
    with claims_app.app_context():
        old, new = db.session.get(Claim, old_id), db.session.get(Claim, new_id)
        assert (old.catalogue_version, new.catalogue_version) == ("2026.1", "2026.2")
        assert old.text("problem", "fr").startswith("Le robinet goutte")
        assert new.text("problem", "fr").startswith("Le robinet coule goutte à goutte")


def test_a_wrong_catalogue_setting_stops_start_up(make_app, tmp_path):
    from core.config import ConfigError

    broken = tmp_path / "broken.toml"
    broken.write_text('version = "x"\n[[places]]\nid = "Kitchen"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="CLAIMS_CATALOGUE_FILE"):
        make_app(plugins=["claims"], CLAIMS_CATALOGUE_FILE=str(broken))
    with pytest.raises(ConfigError, match="no such file"):
        make_app(plugins=["claims"], CLAIMS_CATALOGUE_FILE=str(tmp_path / "missing.toml"))


# -- the workflow ------------------------------------------------------------------------------

def test_the_whole_journey_is_recorded_step_by_step(claims_app, make_tenant, make_user, file,
                                                    move):
    tenant = make_tenant()
    agent = make_user("agent", display_name="Claire Dubois")
    technician = make_user("technician")
    claim_id = file(tenant)
    visit = datetime(2026, 3, 10, 8, 0)
    later = datetime(2026, 3, 12, 13, 0)
    move(claim_id, "qualified", agent, internal_note="Joint de robinet, locataire.")
    move(claim_id, "assigned", agent, technician_id=technician.id, contractor="Plomberie Aude")
    move(claim_id, "appointment_planned", agent, planned_for=visit,
         public_message="Le plombier passera mardi matin.")
    move(claim_id, "postponed", agent, planned_for=later, reason="Pièce non livrée.")
    move(claim_id, "appointment_planned", agent, planned_for=later)
    move(claim_id, "in_progress", agent)
    move(claim_id, "resolved", agent, public_message="Joint remplacé.")
    move(claim_id, "closed", agent)
    move(claim_id, "reopened", agent, public_message="La fuite a repris.")
    move(claim_id, "assigned", agent)
    with claims_app.app_context():
        claim = db.session.get(Claim, claim_id)
        steps = [(e.from_status.value if e.from_status else None, e.to_status.value)
                 for e in claim.events]
        assert steps == [
            (None, "submitted"), ("submitted", "acknowledged"), ("acknowledged", "qualified"),
            ("qualified", "assigned"), ("assigned", "appointment_planned"),
            ("appointment_planned", "postponed"), ("postponed", "appointment_planned"),
            ("appointment_planned", "in_progress"), ("in_progress", "resolved"),
            ("resolved", "closed"), ("closed", "reopened"), ("reopened", "assigned")]
        assert {e.actor_label for e in claim.events[2:]} == {"Claire Dubois"}
        assert all(e.actor_id == agent.id for e in claim.events[2:])
        assert claim.events[2].internal_note == "Joint de robinet, locataire."
        assert claim.events[2].public_message == ""
        postponed = claim.events[5]
        assert (postponed.planned_for, postponed.reason) == (later, "Pièce non livrée.")
        assert claim.planned_for == later
        assert claim.assigned_trade == "plumbing"  # the catalogue's trade, by default
        assert all(a.at <= b.at for a, b in zip(claim.events, claim.events[1:], strict=False))


def test_the_tenant_cancels_before_the_work_starts_and_not_after(claims_app, make_tenant,
                                                                make_user, file, move):
    tenant = make_tenant()
    agent = make_user("agent")
    early = file(tenant)
    move(early, "cancelled", tenant, reason="Réparé par mes soins.")
    with claims_app.app_context():
        claim = db.session.get(Claim, early)
        assert claim.status is Status.CANCELLED
        assert claim.events[-1].actor_id == tenant.id

    late = file(tenant)
    for status in ("qualified", "assigned", "in_progress"):
        move(late, status, agent)
    with pytest.raises(IllegalTransition, match="ne peut plus être annulée"):
        move(late, "cancelled", tenant)
    with pytest.raises(ClaimForbidden):
        move(late, "resolved", tenant)
    with pytest.raises(ClaimForbidden):
        move(early, "cancelled", tenant, internal_note="sneaky")


@pytest.mark.parametrize("current", list(Status))
def test_only_the_moves_of_the_table_are_allowed(current, claims_app, make_tenant, make_user,
                                                file, move):
    """Every (current, target) pair: allowed exactly when the table says so; a refused move
    writes nothing and says both statuses."""
    tenant = make_tenant()
    agent = make_user("agent")
    claim_id = file(tenant)
    with claims_app.app_context():
        db.session.get(Claim, claim_id).status = current
        db.session.commit()
    needs = {"planned_for": datetime(2026, 4, 1, 9, 0), "reason": "Une raison."}
    for target in Status:
        if target is Status.SUBMITTED:
            continue
        if target in TRANSITIONS[current]:
            move(claim_id, target, agent, **needs)
            with claims_app.app_context():
                claim = db.session.get(Claim, claim_id)
                assert claim.status is target
                claim.status = current  # back, for the next target
                db.session.commit()
        else:
            with claims_app.app_context():
                events = db.session.scalar(select(func.count(ClaimEvent.id)))
            with pytest.raises(IllegalTransition) as refused:
                move(claim_id, target, agent, **needs)
            assert str(refused.value)
            with claims_app.app_context():
                assert db.session.get(Claim, claim_id).status is current
                assert db.session.scalar(select(func.count(ClaimEvent.id))) == events


def test_changes_that_miss_what_they_need_are_refused(claims_app, make_tenant, make_user, file,
                                                     move):
    tenant = make_tenant()
    agent = make_user("agent")
    caretaker = make_user("caretaker")
    claim_id = file(tenant)
    with pytest.raises(ClaimInvalid) as refused:
        move(claim_id, "rejected", agent)
    assert set(refused.value.errors) == {"reason"}
    for status in ("qualified", "assigned"):
        move(claim_id, status, agent)
    with pytest.raises(ClaimInvalid) as refused:
        move(claim_id, "postponed", agent)
    assert set(refused.value.errors) == {"reason", "planned_for"}
    with pytest.raises(ClaimInvalid) as refused:
        move(claim_id, "appointment_planned", agent, public_message="x" * 2001)
    assert set(refused.value.errors) == {"planned_for", "public_message"}
    # A caretaker sees the claims of their buildings, and does not move them along.
    with pytest.raises(ClaimNotFound):
        move(claim_id, "in_progress", caretaker)
    with claims_app.app_context():
        db.session.add(CaretakerAssignment(user_id=caretaker.id,
                                           building_id=db.session.get(Claim, claim_id).building_id))
        db.session.commit()
    with pytest.raises(ClaimForbidden):
        move(claim_id, "in_progress", caretaker)
    with pytest.raises(ClaimConflict, match="modifiée entre-temps"):
        move(claim_id, "in_progress", agent, expected_status="qualified")
    with claims_app.app_context():
        assert db.session.get(Claim, claim_id).status is Status.ASSIGNED
        assert len(db.session.get(Claim, claim_id).events) == 4


def test_two_agents_applying_the_same_change_at_once_one_wins(recorded_app, recorder,
                                                             make_tenant, make_user, file):
    """The first agent's change lingers in its transaction (a slow listener); the second waits
    for the row lock, then finds the claim already qualified and is told so."""
    tenant = make_tenant()
    agents = [make_user("agent"), make_user("agent")]
    claim_id = file(tenant)
    recorder.linger_on = Status.QUALIFIED
    start = threading.Barrier(2)
    outcomes = []

    def qualify(agent):
        with recorded_app.app_context():
            actor = db.session.get(User, agent.id)
            db.session.commit()
            start.wait()
            try:
                change_status(claim_id, "qualified", actor=actor)
                outcomes.append("applied")
            except IllegalTransition as refused:
                outcomes.append(str(refused))

    threads = [threading.Thread(target=qualify, args=(agent,)) for agent in agents]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(outcomes) == 2 and outcomes.count("applied") == 1
    refusal = next(outcome for outcome in outcomes if outcome != "applied")
    assert "« Qualifiée »" in refusal  # the user learns the claim's status now
    with recorded_app.app_context():
        qualified = db.session.scalars(select(ClaimEvent).where(
            ClaimEvent.claim_id == claim_id, ClaimEvent.to_status == Status.QUALIFIED)).all()
        assert len(qualified) == 1


def test_the_plugin_hooks_fire_inside_the_transaction(recorded_app, recorder, make_tenant,
                                                      make_user, file, move):
    tenant = make_tenant()
    agent = make_user("agent")
    claim_id = file(tenant)
    with recorded_app.app_context():
        reference = db.session.get(Claim, claim_id).reference
    for status in ("qualified", "assigned"):
        move(claim_id, status, agent)
    move(claim_id, "postponed", agent, planned_for=datetime(2026, 5, 4, 8), reason="Grève.")
    assert recorder.calls == [
        ("claim_submitted", reference, None, True),
        ("claim_status_changed", reference, "acknowledged", True),
        ("claim_status_changed", reference, "qualified", True),
        ("claim_status_changed", reference, "assigned", True),
        ("claim_status_changed", reference, "postponed", True),
        ("claim_postponed", reference, "postponed", True),
    ]


def test_photos_added_later_stay_within_five(claims_app, make_tenant, file):
    from plugins.claims.workflow import add_photos

    tenant = make_tenant()
    claim_id = file(tenant, photos=[jpeg()] * 3)
    with claims_app.app_context():
        user = db.session.get(User, tenant.id)
        add_photos(claim_id, [jpeg(), jpeg()], actor=user)
        with pytest.raises(ClaimInvalid, match="5"):
            add_photos(claim_id, [jpeg()], actor=user)
        assert db.session.scalar(select(func.count(Attachment.id)).where(
            Attachment.owner_id == claim_id)) == 5


def test_the_claims_branch_downgrades_and_upgrades_alone(claims_app, make_tenant, file):
    from core.cli import main

    def tables():
        with claims_app.app_context():
            names = db.inspect(db.engine).get_table_names()
            db.engine.dispose()
            return names

    def palier(*args):
        result = claims_app.test_cli_runner().invoke(main, list(args))
        assert result.exit_code == 0, result.output

    file(make_tenant())
    palier("db", "downgrade", "claims@base")
    assert not {"claims_claim", "claims_claim_event", "claims_reference_counter"} & \
        set(tables())
    assert "building" in tables()  # the core's branch is untouched
    palier("db", "upgrade")
    assert {"claims_claim", "claims_claim_event", "claims_reference_counter"} <= set(tables())
    claim_id = file(make_tenant())
    with claims_app.app_context():
        assert db.session.get(Claim, claim_id).reference.endswith("-000001")


def test_every_claims_setting_is_documented():
    from pathlib import Path

    from plugins.claims import SETTINGS

    docs = (Path(__file__).resolve().parents[3] / "docs" / "claims.md").read_text("utf-8")
    for setting in SETTINGS:
        assert f"`{setting.name}`" in docs


def test_references_are_numbered_in_the_landlords_year(claims_app):
    from plugins.claims.workflow import local_year

    with claims_app.app_context():
        # 23:30 UTC on 31 December is already the new year in Paris.
        assert local_year(datetime(2026, 12, 31, 23, 30)) == 2027
        assert local_year(datetime(2026, 12, 31, 22, 59)) == 2026
