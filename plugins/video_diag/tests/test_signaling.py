"""The /video namespace: who gets in, relay within one room only, refused messages."""
from __future__ import annotations

from core.accounts import User
from core.extensions import db
from core.realtime import socketio_of

NS = "/video"


def technician_socket(app, user, appointment_id):
    http = app.test_client()
    with app.app_context():
        identifier = db.session.get(User, user.id).get_id()
    with http.session_transaction() as session:
        session["_user_id"] = identifier
        session["_fresh"] = True
    return socketio_of(app).test_client(app, namespace=NS, flask_test_client=http,
                                        auth={"appointment": appointment_id})


def link_socket(app, secret):
    return socketio_of(app).test_client(app, namespace=NS, auth={"link": secret})


def signals(sio):
    return [m["args"][0] for m in sio.get_received(NS) if m["name"] == "signal"]


def test_technician_and_tenant_relay_to_each_other_only(video_app, make_appointment, issue):
    appointment_id, _, technician = make_appointment()
    tech = technician_socket(video_app, technician, appointment_id)
    tenant = link_socket(video_app, issue(appointment_id))
    assert tech.is_connected(NS) and tenant.is_connected(NS)
    joined = [m for m in tenant.get_received(NS) if m["name"] == "joined"]
    assert joined[0]["args"][0]["place"] == "tenant"
    assert signals(tech) == [{"type": "join", "role": "tenant", "from": "tenant"}]

    tech.emit("signal", {"type": "offer", "sdp": "v=0\r\n"}, namespace=NS)
    assert signals(tenant) == [{"type": "offer", "sdp": "v=0\r\n", "from": "technician"}]
    assert signals(tech) == []  # never echoed
    tenant.emit("signal", {"type": "pointer", "x": 0.5, "y": 0.5}, namespace=NS)
    assert signals(tech) == [{"type": "pointer", "x": 0.5, "y": 0.5, "from": "tenant"}]


def test_no_credential_a_guessed_link_or_another_technician_are_refused(
        video_app, make_appointment, make_user):
    appointment_id, tenant_user, _ = make_appointment()
    assert not socketio_of(video_app).test_client(video_app, namespace=NS).is_connected(NS)
    assert not link_socket(video_app, "A" * 43).is_connected(NS)
    other = make_user("technician")
    assert not technician_socket(video_app, other, appointment_id).is_connected(NS)


def test_a_forwarded_link_lets_no_third_person_in_and_one_helper_only(
        video_app, make_appointment, issue):
    appointment_id, _, technician = make_appointment()
    secret = issue(appointment_id)
    tech = technician_socket(video_app, technician, appointment_id)
    tenant = link_socket(video_app, secret)
    assert tenant.is_connected(NS)
    assert not link_socket(video_app, secret).is_connected(NS)  # the same link, forwarded
    assert not link_socket(video_app, issue(appointment_id)).is_connected(NS)  # a second tenant
    helper_secret = issue(appointment_id, helper_name="Samia (interprète)")
    helper = link_socket(video_app, helper_secret)
    assert helper.is_connected(NS)
    assert not link_socket(video_app, issue(appointment_id, helper_name="Autre")).is_connected(NS)
    tech.get_received(NS)
    tenant.emit("signal", {"type": "chat", "text": "Bonjour"}, namespace=NS)
    assert signals(tech) == signals(helper) == [{"type": "chat", "text": "Bonjour",
                                                 "from": "tenant"}]
    # Once the tenant has gone, the place is free again (a reconnection).
    tenant.disconnect(namespace=NS)
    assert signals(tech) == [{"type": "bye", "reason": "disconnected", "from": "tenant"}]
    assert link_socket(video_app, secret).is_connected(NS)


def test_a_bad_message_is_refused_to_its_sender_and_other_rooms_see_nothing(
        video_app, make_appointment, issue, make_user):
    first_id, _, first_tech = make_appointment()
    second_id, _, second_tech = make_appointment()
    a_tech = technician_socket(video_app, first_tech, first_id)
    a_tenant = link_socket(video_app, issue(first_id))
    b_tech = technician_socket(video_app, second_tech, second_id)
    b_tenant = link_socket(video_app, issue(second_id))
    for sio in (a_tech, a_tenant, b_tech, b_tenant):
        sio.get_received(NS)

    a_tenant.emit("signal", {"type": "chat", "text": "x" * 1_000_000}, namespace=NS)
    a_tenant.emit("signal", {"type": "pointer", "x": "left"}, namespace=NS)
    received = a_tenant.get_received(NS)
    assert [m["name"] for m in received] == ["signal_error", "signal_error"]
    assert a_tech.get_received(NS) == [] and b_tech.get_received(NS) == []
    assert a_tenant.is_connected(NS)

    # Room A's message reaches room A only; room B still works.
    a_tech.emit("signal", {"type": "chat", "text": "Room A"}, namespace=NS)
    b_tech.emit("signal", {"type": "chat", "text": "Room B"}, namespace=NS)
    assert [s["text"] for s in signals(a_tenant)] == ["Room A"]
    assert [s["text"] for s in signals(b_tenant)] == ["Room B"]


def test_a_revoked_link_loses_its_socket_at_its_next_message(video_app, make_appointment, issue):
    from plugins.video_diag.links import find_link, revoke

    appointment_id, _, technician = make_appointment()
    secret = issue(appointment_id)
    tech = technician_socket(video_app, technician, appointment_id)
    tenant = link_socket(video_app, secret)
    tech.get_received(NS)
    with video_app.app_context():
        revoke(find_link(secret))
        db.session.commit()
    tenant.emit("signal", {"type": "chat", "text": "Encore là ?"}, namespace=NS)
    assert not tenant.is_connected(NS)
    assert [s["type"] for s in signals(tech)] == ["bye"]


def test_a_link_too_early_is_refused(video_app, make_appointment, issue):
    from datetime import timedelta

    appointment_id, _, _ = make_appointment(starts_in=timedelta(hours=2))
    assert not link_socket(video_app, issue(appointment_id)).is_connected(NS)
