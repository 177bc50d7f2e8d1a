"""Who sees which claims, as query filters: lists and look-ups by id alike."""
from __future__ import annotations

from sqlalchemy import select

from core.accounts import User
from core.attachments import visible_attachments
from core.estate import CaretakerAssignment
from core.extensions import db
from plugins.claims.models import Claim
from plugins.claims.queries import claims_visible_to, visible_claims
from plugins.claims.tests.conftest import LIFT
from plugins.claims.tests.test_workflow import jpeg


def seen_by(user_id: int) -> set[int]:
    user = db.session.get(User, user_id)
    return set(db.session.scalars(select(Claim.id).where(claims_visible_to(user))))


def test_each_role_sees_its_own_claims(claims_app, make_estate, make_tenant, make_user, file,
                                       move):
    north, south = make_estate(), make_estate()
    alice = make_tenant(first_name="Alice", building_id=north)
    bruno = make_tenant(first_name="Bruno", building_id=south)
    caretaker = make_user("caretaker")
    technician = make_user("technician")
    agent, manager, admin = make_user("agent"), make_user("manager"), make_user("admin")
    member = make_user("committee_member")
    with claims_app.app_context():
        db.session.add(CaretakerAssignment(user_id=caretaker.id, building_id=north))
        db.session.commit()
    alices, alices_lift = file(alice), file(alice, **LIFT)
    brunos = file(bruno)
    common_south = file(agent, **LIFT, building_id=south)
    move(brunos, "qualified", agent)
    move(brunos, "assigned", agent, technician_id=technician.id)
    everything = {alices, alices_lift, brunos, common_south}
    with claims_app.app_context():
        assert seen_by(alice.id) == {alices, alices_lift}
        assert seen_by(bruno.id) == {brunos}
        assert seen_by(caretaker.id) == {alices, alices_lift}
        assert seen_by(technician.id) == {brunos}
        for staff in (agent, manager, admin):
            assert seen_by(staff.id) == everything
        assert seen_by(member.id) == set()


def test_an_agent_attached_to_an_agency_sees_that_agency_s_claims_only(
        claims_app, make_estate, make_tenant, make_user, file):
    from core.estate import Building, Residence

    north, south = make_estate(), make_estate()
    with claims_app.app_context():
        north_agency = db.session.scalar(select(Residence.agency_id).join(Building).where(
            Building.id == north))
    local_agent = make_user("agent", agency_id=north_agency)
    central_agent = make_user("agent")
    in_north, in_south = file(make_tenant(building_id=north)), file(make_tenant(building_id=south))
    with claims_app.app_context():
        assert seen_by(local_agent.id) == {in_north}
        assert seen_by(central_agent.id) == {in_north, in_south}
        user = db.session.get(User, local_agent.id)
        assert db.session.scalar(visible_claims(user).where(Claim.id == in_south)) is None


def test_a_caretaker_cannot_see_a_claim_of_a_building_not_assigned_to_them(
        claims_app, make_estate, make_tenant, make_user, file):
    theirs, other = make_estate(), make_estate()
    caretaker = make_user("caretaker")
    with claims_app.app_context():
        db.session.add(CaretakerAssignment(user_id=caretaker.id, building_id=theirs))
        db.session.commit()
    elsewhere = file(make_tenant(building_id=other), photos=[jpeg()])
    with claims_app.app_context():
        user = db.session.get(User, caretaker.id)
        assert db.session.scalars(visible_claims(user)).all() == []
        assert db.session.scalar(visible_claims(user).where(Claim.id == elsewhere)) is None
        assert db.session.scalars(visible_attachments(user)).all() == []
        # Assigned to that building later: its claims and photos come into view.
        db.session.add(CaretakerAssignment(user_id=caretaker.id, building_id=other))
        db.session.commit()
        user = db.session.get(User, caretaker.id)
        assert db.session.scalar(visible_claims(user).where(Claim.id == elsewhere)).id == \
            elsewhere
        assert len(db.session.scalars(visible_attachments(user)).all()) == 1


def test_a_tenant_cannot_reach_another_households_claim_by_id(claims_app, make_estate,
                                                             make_tenant, make_user, file,
                                                             move, login):
    from plugins.claims.workflow import ClaimNotFound

    building = make_estate()
    mine = make_tenant(first_name="Alice", building_id=building)
    neighbour = make_tenant(first_name="Nora", building_id=building)
    theirs = file(neighbour, photos=[jpeg()])
    with claims_app.app_context():
        user = db.session.get(User, mine.id)
        assert db.session.scalar(visible_claims(user).where(Claim.id == theirs)) is None
        photo = db.session.scalars(
            select(visible_attachments(db.session.get(User, neighbour.id)).subquery()
                   .c.storage_name)).one()
    try:
        move(theirs, "cancelled", mine)
    except ClaimNotFound as error:
        assert str(error)
    else:
        raise AssertionError("a tenant cancelled another household's claim")
    # Their photo: the same 404 as a file that does not exist.
    client = claims_app.test_client()
    login(client, mine)
    assert client.get(f"/attachments/{photo}").status_code == 404
    theirs_client = claims_app.test_client()
    login(theirs_client, neighbour)
    response = theirs_client.get(f"/attachments/{photo}")
    assert (response.status_code, response.mimetype) == (200, "image/jpeg")
    response.close()


def test_the_household_shares_its_claims(claims_app, make_tenant, make_user, file):
    from core.estate import Person

    alice = make_tenant(first_name="Alice")
    with claims_app.app_context():
        household_id = db.session.get(User, alice.id).person.household_id
        partner = Person(reference="P-partner", first_name="Sam", last_name="Martin",
                         household_id=household_id)
        db.session.add(partner)
        db.session.commit()
        partner_id = partner.id
    sam = make_user("tenant", person_id=partner_id)
    claim_id = file(alice, photos=[jpeg()])
    with claims_app.app_context():
        user = db.session.get(User, sam.id)
        assert db.session.scalar(visible_claims(user).where(Claim.id == claim_id)) is not None
        assert len(db.session.scalars(visible_attachments(user)).all()) == 1
