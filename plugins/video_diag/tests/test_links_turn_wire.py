"""The link's window and storage, TURN credentials, the wire format."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from core.extensions import db
from plugins.video_diag import links, turn, wire
from plugins.video_diag.models import Appointment, VideoLink


def test_a_link_works_from_15_minutes_before_to_the_end_plus_grace(video_app, make_appointment,
                                                                   issue):
    appointment_id, _, _ = make_appointment()
    secret = issue(appointment_id)
    with video_app.app_context():
        appointment = db.session.get(Appointment, appointment_id)
        start, end = appointment.starts_at, appointment.ends_at
        at = lambda moment: links.find_link(secret, moment)  # noqa: E731
        assert at(start - timedelta(minutes=16)) is None
        assert at(start - timedelta(minutes=15)) is not None
        assert at(start + timedelta(minutes=10)).appointment_id == appointment_id
        assert at(end + timedelta(minutes=30)) is not None
        assert at(end + timedelta(minutes=31)) is None
        assert links.find_link(secret[:-1] + ("A" if secret[-1] != "A" else "B"), start) is None
        assert links.find_link("x" * 5000, start) is None
        links.revoke(db.session.get(VideoLink, at(start).id))
        db.session.commit()
        assert at(start) is None


def test_the_grace_period_is_a_setting(make_app, make_appointment, issue):
    # The fixture's app has 30 minutes; the setting is read at request time.
    appointment_id, _, _ = make_appointment()
    secret = issue(appointment_id)
    app = make_app.apps[-1]
    app.config["VIDEO_DIAG_GRACE_MINUTES"] = 0
    with app.app_context():
        end = db.session.get(Appointment, appointment_id).ends_at
        assert links.find_link(secret, end) is not None
        assert links.find_link(secret, end + timedelta(minutes=1)) is None


def test_a_link_holds_256_random_bits_and_only_their_hash_is_stored(video_app, make_appointment,
                                                                     issue):
    appointment_id, _, _ = make_appointment()
    secrets_ = {issue(appointment_id) for _ in range(20)}
    assert len(secrets_) == 20
    assert all(len(base64.urlsafe_b64decode(s + "=")) * 8 >= 128 for s in secrets_)
    with video_app.app_context():
        stored = db.session.scalars(select(VideoLink.token_hash)).all()
    assert sorted(stored) == sorted(hashlib.sha256(s.encode()).hexdigest() for s in secrets_)
    assert not set(stored) & secrets_


def test_turn_credentials_are_the_rest_api_hmac():
    expires = datetime(2026, 3, 1, 12, 0, 0)  # naive UTC
    username, credential = turn.turn_credentials("north", "video_diag-7-tenant", expires)
    assert username == "1772366400:video_diag-7-tenant"
    expected = base64.b64encode(
        hmac.new(b"north", b"1772366400:video_diag-7-tenant", hashlib.sha1).digest()).decode()
    assert credential == expected
    # Computed outside Python:
    #   printf %s "$username" | openssl dgst -sha1 -hmac north -binary | base64
    assert credential == "xoAbkzZ0wrXIRNLKkB/JcsKKdu8="


def test_ice_servers_come_from_the_settings_with_credentials_no_longer_than_the_slot(
        video_app, make_appointment):
    appointment_id, _, _ = make_appointment(length=timedelta(minutes=30))
    video_app.config.update(VIDEO_DIAG_ICE_SERVERS=["stun:t.example.org:3478",
                                                    "turn:t.example.org:3478?transport=udp"],
                            VIDEO_DIAG_TURN_SECRET="s3cret")
    with video_app.app_context():
        appointment = db.session.get(Appointment, appointment_id)
        now = appointment.starts_at
        stun, relay = turn.ice_servers(appointment, "video_diag-1-tenant", now)
    assert stun == {"urls": ["stun:t.example.org:3478"]}
    assert relay["urls"] == ["turn:t.example.org:3478?transport=udp"]
    expiry = int(relay["username"].split(":")[0])
    assert expiry - int((now - datetime(1970, 1, 1)).total_seconds()) == 30 * 60
    assert relay["credential"] == base64.b64encode(hmac.new(
        b"s3cret", relay["username"].encode(), hashlib.sha1).digest()).decode()


VALID = [
    {"type": "join", "role": "tenant"},
    {"type": "offer", "sdp": "v=0\r\n"},
    {"type": "answer", "sdp": "v=0\r\n"},
    {"type": "candidate", "candidate": "candidate:1 1 udp 2122260223 192.0.2.1 54400 typ host",
     "sdpMid": "0", "sdpMLineIndex": 0},
    {"type": "candidate", "candidate": ""},
    {"type": "bye"},
    {"type": "pointer", "x": 0.25, "y": 1},
    {"type": "snapshot", "caption": "Le joint sous l'évier"},
    {"type": "chat", "text": "Pouvez-vous approcher le téléphone ?"},
]


@pytest.mark.parametrize("message", VALID, ids=lambda m: m["type"])
def test_each_message_type_is_accepted_and_cleaned(message):
    clean = wire.validate({**message, "extra": "dropped"})
    assert clean["type"] == message["type"] and "extra" not in clean


BAD = [
    ("not a dict", ["offer"]),
    ("unknown type", {"type": "shout"}),
    ("no type", {"sdp": "v=0"}),
    ("sdp missing", {"type": "offer"}),
    ("sdp not a string", {"type": "answer", "sdp": 42}),
    ("sdp too large", {"type": "offer", "sdp": "a" * (64 * 1024 + 1)}),
    ("candidate too large", {"type": "candidate", "candidate": "c" * 2049}),
    ("line index", {"type": "candidate", "candidate": "", "sdpMLineIndex": True}),
    ("pointer outside", {"type": "pointer", "x": 1.5, "y": 0}),
    ("pointer NaN", {"type": "pointer", "x": float("nan"), "y": 0}),
    ("pointer string", {"type": "pointer", "x": "0.5", "y": 0}),
    ("chat too long", {"type": "chat", "text": "é" * 2001}),
    ("chat empty", {"type": "chat", "text": "  "}),
    ("role", {"type": "join", "role": "admin"}),
    ("one megabyte", {"type": "chat", "text": "hi", "padding": "x" * 1_000_000}),
]


@pytest.mark.parametrize("message", [m for _, m in BAD], ids=[name for name, _ in BAD])
def test_wrong_or_oversize_messages_are_refused_with_a_reason(message):
    with pytest.raises(wire.WireError) as refused:
        wire.validate(message)
    assert refused.value.reason


def test_a_message_up_to_the_limits_fits_in_the_whole_message_limit():
    largest = {"type": "offer", "sdp": "a" * (64 * 1024)}
    assert len(json.dumps(largest)) < wire.MAX_MESSAGE_BYTES
    assert wire.validate(largest)["sdp"] == largest["sdp"]


def test_models_and_migration_agree_and_the_branch_goes_down_and_up(video_app):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlalchemy import inspect

    with video_app.app_context(), db.engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), db.metadata)
    assert [d for d in diff if "video_diag" in repr(d)] == []
    runner = video_app.test_cli_runner()
    result = runner.invoke(args=["db", "downgrade", "video_diag@base"])
    assert result.exit_code == 0, result.output
    with video_app.app_context():
        db.engine.dispose()
        tables = inspect(db.engine).get_table_names()
    assert "video_diag_link" not in tables and "claims_claim" in tables
    assert runner.invoke(args=["db", "upgrade"]).exit_code == 0
