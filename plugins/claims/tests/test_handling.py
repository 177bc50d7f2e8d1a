"""Staff actions besides status changes: internal notes, messages to the tenant, who pays
overridden with a reason, and bulk changes where one refused claim undoes nothing."""
from __future__ import annotations

import pytest
from flask_babel import gettext
from sqlalchemy import func, select

from core.accounts import User
from core.audit import AuditEvent
from core.extensions import db
from plugins.claims.handling import (
    add_note,
    bulk_change,
    override_responsibility,
    post_message,
)
from plugins.claims.models import Claim, ClaimEvent, EventKind, Status
from plugins.claims.tests.conftest import run_worker
from plugins.claims.wording import status_label
from plugins.claims.workflow import ClaimForbidden, ClaimInvalid, ClaimNotFound


def agency_of(building_id: int) -> int:
    from core.estate import Building, Residence

    return db.session.scalar(select(Residence.agency_id).join(Building)
                             .where(Building.id == building_id))


def events(claim_id: int, kind: EventKind) -> list[ClaimEvent]:
    return db.session.scalars(select(ClaimEvent).where(ClaimEvent.claim_id == claim_id,
                                                       ClaimEvent.kind == kind)).all()


def audit_actions(claim_id: int) -> list[str]:
    return db.session.scalars(select(AuditEvent.action).where(
        AuditEvent.object_type == "claims_claim", AuditEvent.object_id == str(claim_id))
        .order_by(AuditEvent.seq)).all()


@pytest.fixture
def tenant(claims_app, make_tenant):
    return make_tenant(locale="en")


def test_a_note_is_kept_for_staff_and_audited(claims_app, tenant, make_user, file, login):
    agent = make_user("agent")
    claim_id = file(tenant)
    with claims_app.app_context():
        event = add_note(claim_id, db.session.get(User, agent.id),
                         "  Neighbour says the tenant is away until May.  ")
        assert (event.kind, event.internal_note) == (
            EventKind.NOTE, "Neighbour says the tenant is away until May.")
        claim = db.session.get(Claim, claim_id)
        # A note does not move the claim.
        assert event.from_status is event.to_status is claim.status is Status.ACKNOWLEDGED
        assert event.actor_id == agent.id
        assert "claims.note" in audit_actions(claim_id)
        # The audit log names the event, not what the note says.
        detail = db.session.scalar(select(AuditEvent.detail).where(
            AuditEvent.action == "claims.note"))
        assert detail == {"event": event.id}

    client = claims_app.test_client()
    login(client, tenant)
    page = client.get(f"/portal/claims/{claim_id}").get_data(as_text=True)
    assert "away until May" not in page


def test_an_empty_note_or_one_by_a_tenant_writes_nothing(claims_app, tenant, make_user,
                                                          file):
    agent = make_user("agent")
    claim_id = file(tenant)
    with claims_app.app_context():
        with pytest.raises(ClaimInvalid) as invalid:
            add_note(claim_id, db.session.get(User, agent.id), "   ")
        assert set(invalid.value.errors) == {"internal_note"}
        with pytest.raises(ClaimForbidden):
            add_note(claim_id, db.session.get(User, tenant.id), "I am staff, honestly.")
        with pytest.raises(ClaimInvalid):
            post_message(claim_id, db.session.get(User, agent.id), "x" * 2001)
        assert events(claim_id, EventKind.NOTE) == []
        assert events(claim_id, EventKind.MESSAGE) == []


def test_an_agent_cannot_touch_another_agency_s_claim(claims_app, make_estate, make_tenant,
                                                       make_user, file):
    north, south = make_estate(), make_estate()
    with claims_app.app_context():
        north_agency = agency_of(north)
    agent = make_user("agent", agency_id=north_agency)
    southern = file(make_tenant(building_id=south))
    with claims_app.app_context():
        actor = db.session.get(User, agent.id)
        for action in (lambda: add_note(southern, actor, "Note"),
                       lambda: post_message(southern, actor, "Hello"),
                       lambda: override_responsibility(southern, actor, "landlord", "Wear")):
            with pytest.raises(ClaimNotFound):
                action()
        assert db.session.scalar(select(func.count(ClaimEvent.id)).where(
            ClaimEvent.claim_id == southern)) == 2  # submitted, acknowledged


def test_override_keeps_the_catalogue_s_answer_and_the_tenant_sees_why(
        claims_app, tenant, make_user, file, login):
    agent = make_user("agent")
    claim_id = file(tenant)  # a dripping tap: the tenant's, per décret 87-712
    with claims_app.app_context():
        actor = db.session.get(User, agent.id)
        with pytest.raises(ClaimInvalid) as invalid:
            override_responsibility(claim_id, actor, "landlord", "")
        assert set(invalid.value.errors) == {"reason"}
        with pytest.raises(ClaimInvalid) as invalid:
            override_responsibility(claim_id, actor, "the neighbour", "Because")
        assert set(invalid.value.errors) == {"responsibility"}
        assert db.session.get(Claim, claim_id).original_responsibility is None

        override_responsibility(claim_id, actor, "landlord",
                                "The tap is worn out: wear is the landlord's.",
                                legal_reference="Loi 89-462, art. 7 d")
        claim = db.session.get(Claim, claim_id)
        assert (claim.responsibility, claim.original_responsibility) == ("landlord", "tenant")
        assert claim.legal_reference == "Loi 89-462, art. 7 d"
        [event] = events(claim_id, EventKind.RESPONSIBILITY)
        assert event.reason == "The tap is worn out: wear is the landlord's."
        # A second override keeps what the catalogue said first.
        override_responsibility(claim_id, actor, "to_be_assessed", "A plumber will look.")
        claim = db.session.get(Claim, claim_id)
        assert (claim.responsibility, claim.original_responsibility) == (
            "to_be_assessed", "tenant")
        assert audit_actions(claim_id).count("claims.responsibility") == 2

    client = claims_app.test_client()
    login(client, tenant)
    page = client.get(f"/portal/claims/{claim_id}").get_data(as_text=True)
    assert "To be assessed: who pays depends on the cause" in page
    assert "Charged to the tenant" not in page
    assert "The tap is worn out: wear is the landlord&#39;s." in page
    assert "A plumber will look." in page


def test_a_message_reaches_the_tenant_by_mail(notified_app, make_tenant, make_user, file,
                                              smtp_server):
    tenant = make_tenant(locale="en")
    agent = make_user("agent")
    claim_id = file(tenant)
    run_worker(notified_app)
    smtp_server.clear()  # the acknowledgement
    with notified_app.app_context():
        post_message(claim_id, db.session.get(User, agent.id),
                     "The plumber will call you tomorrow morning.")
        reference = db.session.get(Claim, claim_id).reference
    run_worker(notified_app)
    [mail] = smtp_server.messages
    assert mail["To"] == tenant.email
    assert reference in mail["Subject"] and "message" in mail["Subject"]
    body = mail.get_body(("plain",)).get_content()
    assert "The plumber will call you tomorrow morning." in body


def test_the_tenant_hears_who_pays_now_and_why(notified_app, make_tenant, make_user, file,
                                               smtp_server):
    tenant = make_tenant(locale="en")
    agent = make_user("agent")
    claim_id = file(tenant)
    run_worker(notified_app)
    smtp_server.clear()
    with notified_app.app_context():
        override_responsibility(claim_id, db.session.get(User, agent.id), "landlord",
                                "The tap is worn out.", legal_reference="Loi 89-462, art. 7 d")
    run_worker(notified_app)
    [mail] = smtp_server.messages
    assert "who pays" in mail["Subject"]
    body = mail.get_body(("plain",)).get_content()
    assert "Charged to the landlord" in body
    assert "The tap is worn out." in body and "Loi 89-462, art. 7 d" in body


def test_notes_never_reach_the_tenant(notified_app, make_tenant, make_user, file, smtp_server):
    tenant = make_tenant(locale="en")
    agent = make_user("agent")
    claim_id = file(tenant)
    run_worker(notified_app)
    smtp_server.clear()
    with notified_app.app_context():
        add_note(claim_id, db.session.get(User, agent.id), "Tenant was rude on the phone.")
    run_worker(notified_app)
    assert smtp_server.messages == []


def test_a_bulk_change_reports_each_claim_and_one_refusal_undoes_nothing(
        claims_app, make_estate, make_tenant, make_user, file, move):
    north, south = make_estate(), make_estate()
    with claims_app.app_context():
        north_agency = agency_of(north)
    agent = make_user("agent", agency_id=north_agency)
    tenant = make_tenant(building_id=north)
    first, second, cancelled = file(tenant), file(tenant), file(tenant)
    move(cancelled, "cancelled", tenant)
    elsewhere = file(make_tenant(building_id=south))
    with claims_app.app_context():
        outcomes = bulk_change([first, cancelled, second, elsewhere, first], "qualified",
                               db.session.get(User, agent.id),
                               public_message="We are on it.")
        assert [(o.claim_id, o.done) for o in outcomes] == [
            (first, True), (cancelled, False), (second, True), (elsewhere, False)]
        refused = {o.claim_id: o for o in outcomes if not o.done}
        assert status_label(Status.CANCELLED) in refused[cancelled].message
        assert refused[cancelled].reference == db.session.get(Claim, cancelled).reference
        # Another agency's claim: not found, and its reference is not revealed.
        assert refused[elsewhere].reference is None
        assert refused[elsewhere].message == gettext("This claim does not exist.")
        statuses = {claim_id: db.session.get(Claim, claim_id).status
                    for claim_id in (first, second, cancelled, elsewhere)}
        assert statuses == {first: Status.QUALIFIED, second: Status.QUALIFIED,
                            cancelled: Status.CANCELLED, elsewhere: Status.ACKNOWLEDGED}
        [event] = [e for e in events(first, EventKind.STATUS) if e.to_status is Status.QUALIFIED]
        assert event.public_message == "We are on it."


@pytest.mark.parametrize("locale", ["fr", "en"])
def test_the_message_kind_renders_and_its_short_text_tells_nothing(notified_app, locale):
    from plugins.notifications.kinds import kinds
    from plugins.notifications.texts import render

    details = {"reference": "RC-2026-000123", "problem": "Le robinet fuit",
               "public_message": "Le plombier passe mardi", "reason": "Vétusté",
               "responsibility": "À la charge du bailleur",
               "legal_reference": "Loi 89-462, art. 7 d", "recipient_name": "Mme Fabre",
               "link": "https://palier.example/portal/"}
    with notified_app.app_context():
        kind = kinds()["claims.message"]
        sample = render(kind, "mail", locale, {**kind.sample, "recipient_name": "Mme Fabre"})
        assert "RC-2026-000123" in sample.subject
        assert "Le plombier vous appellera demain." in sample.body
        override = render(kind, "mail", locale, details)
        assert "À la charge du bailleur" in override.body and "Vétusté" in override.body
        short = render(kind, "sms", locale, details).body
        assert "https://palier.example/portal/" in short
        for secret in ("RC-2026", "robinet", "plombier", "Vétusté", "bailleur"):
            assert secret not in short, short
