"""The SMS channel end to end: the outbox, the worker, Brevo's documented API on a loopback
server (a real HTTP server), retries, dead letters and fallbacks, STOP replies and signed
delivery receipts."""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from core.accounts import User, utcnow
from core.config import ConfigError
from core.estate import Person
from core.extensions import db
from plugins.notifications import notify
from plugins.notifications.channels import PermanentFailure, TemporaryFailure
from plugins.notifications.channels.sms import (
    HttpAdapter,
    SmsChannel,
    mobile_e164,
    to_e164,
)
from plugins.notifications.models import Message, OptOut, Preference, Status, TemplateText
from plugins.notifications.testing import FakeBrevo, sms_settings
from plugins.notifications.views.sms_hooks import is_stop

from .conftest import run_worker

INBOUND_TOKEN = "inbound-token-0123456789abcdef"
NOTICE = {"title": "Coupure d'eau jeudi",
          "body": "Fuite chez M. Lefort au 3e : l'eau sera coupée de 9 h à 12 h.",
          "residence": "Les Tilleuls", "link": "https://palier.example/portal/notices/7"}


@pytest.fixture
def brevo():
    with FakeBrevo() as fake:
        yield fake


@pytest.fixture
def sms_app(make_app, smtp_server, brevo):
    return make_app(plugins=["notifications"], MAIL_SERVER=smtp_server.host,
                    MAIL_PORT=smtp_server.port, NOTIFICATIONS_MAX_ATTEMPTS=3,
                    NOTIFICATIONS_BACKOFF_SECONDS=60,
                    **sms_settings(brevo, NOTIFICATIONS_SMS_INBOUND_TOKEN=INBOUND_TOKEN,
                                   NOTIFICATIONS_SMS_TIMEOUT=1.0))


def tenant(app, make_tenant, phone="06 12 34 56 78", prefers="sms", **kwargs) -> int:
    """A tenant with a phone who chose SMS for notices; returns their person id."""
    user = make_tenant(**kwargs)
    with app.app_context():
        person = db.session.get(Person, db.session.get(User, user.id).person_id)
        person.phone = phone
        if prefers:
            db.session.add(Preference(person_id=person.id, kind="notifications.notice",
                                      channel=prefers))
        db.session.commit()
        return person.id


def queue_notice(app, person_id, event="notice:1", **kwargs) -> list[tuple[int, str]]:
    with app.app_context():
        messages = notify(db.session.get(Person, person_id), "notifications.notice",
                          dict(NOTICE), event=event, **kwargs)
        db.session.commit()
        return [(m.id, m.channel) for m in messages]


def message_of(app, message_id) -> Message:
    with app.app_context():
        message = db.session.get(Message, message_id, options=[selectinload(Message.events)])
        db.session.expunge(message)
        return message


def fallback_of(app, message_id) -> Message | None:
    with app.app_context():
        fallback = db.session.scalar(select(Message).where(Message.fallback_of_id == message_id))
        if fallback is not None:
            db.session.expunge(fallback)
        return fallback


def move_clock(app, message_id):
    """Make a waiting retry due now (as test_outbox does); returns when it was due."""
    with app.app_context():
        message = db.session.get(Message, message_id)
        waited = message.not_before
        message.not_before = waited.replace(year=2000)
        db.session.commit()
        return waited


def receipt(app, sms: dict, msg_status: str, **extra):
    """Post one of Brevo's events to the SMS's own webUrl, as Brevo would."""
    path = urlsplit(sms["webUrl"]).path
    return app.test_client().post(path, json=FakeBrevo.event(sms, msg_status, **extra))


# -- sending -----------------------------------------------------------------------------------


def test_a_notice_reaches_brevo_as_a_short_text_with_the_stop_mention(sms_app, make_tenant,
                                                                     brevo):
    person_id = tenant(sms_app, make_tenant)
    [(message_id, channel)] = queue_notice(sms_app, person_id)
    assert channel == "sms"
    assert run_worker(sms_app) == 1
    [sms] = brevo.sms
    assert sms["recipient"] == "33612345678" and sms["sender"] == "Palier"
    assert sms["type"] == "transactional" and sms["tag"] == "notifications.notice"
    assert sms["unicodeEnabled"] is False
    assert sms["content"].startswith("Palier")
    assert NOTICE["link"] in sms["content"]
    assert sms["content"].endswith("\nSTOP au 36180")
    # No detail of the matter in an SMS: neither the title, the text nor the residence.
    for detail in ("Lefort", "Coupure", "9 h", "Tilleuls"):
        assert detail not in sms["content"]
    assert urlsplit(sms["webUrl"]).path.startswith(f"/notifications/sms/receipts/{message_id}/")
    message = message_of(sms_app, message_id)
    assert message.status is Status.SENT and message.address == "+33612345678"
    assert message.provider_ref == str(sms["messageId"])
    assert [e.status for e in message.events] == ["queued", "sent"]
    assert message.events[-1].detail == \
        f"accepted by brevo: 1 segment (GSM-7, {len(sms['content'])} units)"
    assert run_worker(sms_app) == 0 and len(brevo.sms) == 1  # never twice


def test_a_5xx_and_a_timeout_are_retried_then_sent_once(sms_app, make_tenant, brevo):
    [(message_id, _)] = queue_notice(sms_app, tenant(sms_app, make_tenant))
    brevo.script(503, ("hang", 1.5))
    run_worker(sms_app)
    assert "brevo answered 503 service_unavailable" in message_of(sms_app, message_id).last_error
    move_clock(sms_app, message_id)
    run_worker(sms_app)
    assert "did not answer within 1 s" in message_of(sms_app, message_id).last_error
    move_clock(sms_app, message_id)
    run_worker(sms_app)
    message = message_of(sms_app, message_id)
    assert message.status is Status.SENT and message.attempts == 3
    assert [e.status for e in message.events] == ["queued", "retry", "retry", "sent"]
    assert len(brevo.sms) == 1


def test_a_400_is_not_retried_and_the_fallback_mail_goes(sms_app, make_tenant, brevo,
                                                        smtp_server):
    [(message_id, _)] = queue_notice(sms_app, tenant(sms_app, make_tenant))
    brevo.script(400)
    run_worker(sms_app)
    message = message_of(sms_app, message_id)
    assert message.status is Status.FAILED and message.attempts == 1
    assert "400 invalid_parameter: Invalid phone number" in message.last_error
    assert [status for _, status in brevo.requests] == [400]  # asked once, never again
    fallback = fallback_of(sms_app, message_id)
    assert fallback.channel == "mail" and fallback.status is Status.SENT
    [mail] = smtp_server.messages
    assert mail["Subject"] == NOTICE["title"]  # the mail carries the details


def test_a_429_waits_for_the_retry_after_of_brevo(sms_app, make_tenant, brevo):
    [(message_id, _)] = queue_notice(sms_app, tenant(sms_app, make_tenant))
    brevo.script((429, {"Retry-After": "120"}))
    before = utcnow()
    run_worker(sms_app)
    waited = move_clock(sms_app, message_id)
    assert 120 <= (waited - before).total_seconds() <= 135
    run_worker(sms_app)
    assert message_of(sms_app, message_id).status is Status.SENT
    assert [status for _, status in brevo.requests] == [429, 201]


def test_the_last_attempt_makes_a_dead_letter_and_queues_the_mail(sms_app, make_tenant, brevo,
                                                                 smtp_server):
    [(message_id, _)] = queue_notice(sms_app, tenant(sms_app, make_tenant))
    brevo.script(503, 502, 500)
    for _ in range(3):
        run_worker(sms_app)
        move_clock(sms_app, message_id)
    message = message_of(sms_app, message_id)
    assert message.status is Status.FAILED and message.attempts == 3
    assert "the last" in message.last_error
    assert brevo.sms == [] and fallback_of(sms_app, message_id).status is Status.SENT
    assert len(smtp_server.messages) == 1


def test_an_invalid_number_is_refused_without_asking_brevo(sms_app, make_tenant, brevo):
    person_id = tenant(sms_app, make_tenant)
    with sms_app.app_context():
        [message] = notify(db.session.get(Person, person_id), "notifications.test",
                           {"sent_by": "test"}, event="test:1", channel="sms",
                           address="01 23 45")
        db.session.commit()
        message_id = message.id
    run_worker(sms_app)
    message = message_of(sms_app, message_id)
    assert message.status is Status.FAILED and "invalid phone number" in message.last_error
    assert brevo.requests == []


def test_a_landline_gets_no_sms_but_a_mail(sms_app, make_tenant, brevo, smtp_server):
    person_id = tenant(sms_app, make_tenant, phone="01 23 45 67 89")
    [(_, channel)] = queue_notice(sms_app, person_id)
    assert channel == "mail"
    run_worker(sms_app)
    assert brevo.requests == [] and len(smtp_server.messages) == 1


def test_a_text_longer_than_the_limit_is_refused(sms_app, make_tenant, brevo):
    person_id = tenant(sms_app, make_tenant)
    with sms_app.app_context():
        for locale in ("fr", "en"):
            db.session.add(TemplateText(kind="notifications.notice", channel="sms",
                                        locale=locale, body="{{ landlord }} " + "a" * 480))
        db.session.commit()
    [(message_id, _)] = queue_notice(sms_app, person_id)
    run_worker(sms_app)
    message = message_of(sms_app, message_id)
    assert message.status is Status.FAILED
    assert message.last_error.startswith("text too long: 4 segments (GSM-7,")
    assert brevo.requests == []


def test_a_detail_an_admin_put_in_the_sms_text_never_leaves(sms_app, make_tenant, brevo,
                                                           smtp_server):
    """Short texts only see the landlord and the link: a template asking for the notice's
    text cannot be rendered, so no SMS leaves and the mail (which may carry it) goes."""
    person_id = tenant(sms_app, make_tenant)
    with sms_app.app_context():
        for locale in ("fr", "en"):
            db.session.add(TemplateText(kind="notifications.notice", channel="sms",
                                        locale=locale, body="{{ landlord }} : {{ body }}"))
        db.session.commit()
    [(message_id, _)] = queue_notice(sms_app, person_id)
    run_worker(sms_app)
    message = message_of(sms_app, message_id)
    assert message.status is Status.FAILED and "could not be prepared" in message.last_error
    assert brevo.requests == []
    [mail] = smtp_server.messages
    assert "Lefort" in mail.get_body(preferencelist=("plain",)).get_content()


# -- STOP --------------------------------------------------------------------------------------


@pytest.mark.parametrize("reply, stop", [
    ("STOP", True), ("stop", True), (" Stop ", True), ("S T O P", True), ("stôp", True),
    ("STOP 36180", True), ("Arrêt", True), ("ARRET", True), ("Stop!", True),
    ("Merci", False), ("", False), (None, False), ("Ne pas arrêter", False),
])
def test_stop_replies_are_recognised(reply, stop):
    assert is_stop(reply) is stop


def test_a_stop_reply_opts_the_number_out_and_the_next_notice_goes_by_mail(
        sms_app, make_tenant, brevo, smtp_server):
    person_id = tenant(sms_app, make_tenant)
    queue_notice(sms_app, person_id)
    run_worker(sms_app)
    [sms] = brevo.sms
    answer = receipt(sms_app, sms, "replied", reply="Stop")
    assert answer.status_code == 200 and answer.json["result"] == "opted out"
    assert receipt(sms_app, sms, "replied", reply="STOP").json["result"] == "already opted out"
    with sms_app.app_context():
        assert db.session.scalars(select(OptOut.address).where(OptOut.channel == "sms")).all() \
            == ["+33612345678"]
    [(message_id, channel)] = queue_notice(sms_app, person_id, event="notice:2")
    assert channel == "sms"
    run_worker(sms_app)
    assert len(brevo.sms) == 1  # no second SMS
    message = message_of(sms_app, message_id)
    assert message.status is Status.FAILED and "no more messages" in message.last_error
    assert fallback_of(sms_app, message_id).status is Status.SENT
    assert len(smtp_server.messages) == 1


def test_replies_posted_to_the_inbound_address(sms_app):
    client = sms_app.test_client()
    url = f"/notifications/sms/inbound/{INBOUND_TOKEN}"
    merci = client.post(url, json={"to": "33698765432", "msg_status": "replied",
                                   "reply": "Merci"})
    assert merci.json["result"] == "ignored"
    assert client.post(url, json={"to": "33698765432", "msg_status": "replied",
                                  "reply": "ARRÊT"}).json["result"] == "opted out"
    assert client.post("/notifications/sms/inbound/guessed", json={
        "to": "33611111111", "msg_status": "replied", "reply": "STOP"}).status_code == 403
    assert client.post(url, json={"to": "12", "msg_status": "replied",
                                  "reply": "STOP"}).status_code == 400
    with sms_app.app_context():
        assert db.session.scalars(select(OptOut.address)).all() == ["+33698765432"]


# -- delivery receipts -------------------------------------------------------------------------


@pytest.fixture
def sent_sms(sms_app, make_tenant, brevo):
    """An SMS sent to Brevo: (message id, the SMS as Brevo received it)."""
    [(message_id, _)] = queue_notice(sms_app, tenant(sms_app, make_tenant))
    run_worker(sms_app)
    return message_id, brevo.sms[0]


def statuses(app, message_id) -> list[str]:
    return [e.status for e in message_of(app, message_id).events]


def test_a_delivered_receipt_is_recorded_once(sms_app, sent_sms):
    message_id, sms = sent_sms
    assert receipt(sms_app, sms, "delivered").json["result"] == "recorded"
    assert receipt(sms_app, sms, "delivered").json["result"] == "ignored"  # replay
    assert receipt(sms_app, sms, "sent").json["result"] == "ignored"       # late
    assert message_of(sms_app, message_id).status is Status.DELIVERED
    assert statuses(sms_app, message_id) == ["queued", "sent", "delivered"]


def test_a_failure_is_never_undone_by_a_later_delivered(sms_app, sent_sms, smtp_server):
    message_id, sms = sent_sms
    assert receipt(sms_app, sms, "hard_bounce", reason="Unknown subscriber").status_code == 200
    assert receipt(sms_app, sms, "delivered").json["result"] == "ignored"
    assert receipt(sms_app, sms, "hard_bounce").json["result"] == "ignored"
    message = message_of(sms_app, message_id)
    assert message.status is Status.BOUNCED
    assert statuses(sms_app, message_id) == ["queued", "sent", "bounced"]
    assert message.last_error == "receipt: hard_bounce (Unknown subscriber)"
    fallback = fallback_of(sms_app, message_id)
    assert fallback.channel == "mail" and fallback.status is Status.QUEUED
    run_worker(sms_app)
    assert len(smtp_server.messages) == 1


def test_a_segment_bounced_after_another_was_delivered_counts_as_a_failure(sms_app, sent_sms):
    message_id, sms = sent_sms
    receipt(sms_app, sms, "delivered")
    assert receipt(sms_app, sms, "soft_bounce").json["result"] == "recorded"
    assert receipt(sms_app, sms, "delivered").json["result"] == "ignored"
    assert message_of(sms_app, message_id).status is Status.BOUNCED
    assert fallback_of(sms_app, message_id) is not None


def test_receipts_out_of_order_end_in_the_right_state(sms_app, sent_sms):
    message_id, sms = sent_sms
    for status in ("delivered", "accepted", "sent", "delivered"):
        assert receipt(sms_app, sms, status).status_code == 200
    assert message_of(sms_app, message_id).status is Status.DELIVERED
    assert statuses(sms_app, message_id) == ["queued", "sent", "delivered"]


def test_an_unsubscribe_event_opts_out_and_a_plain_reply_does_not(sms_app, sent_sms):
    message_id, sms = sent_sms
    assert receipt(sms_app, sms, "replied", reply="Merci").json["result"] == "ignored"
    with sms_app.app_context():
        assert db.session.scalar(select(func.count(OptOut.id))) == 0
    assert receipt(sms_app, sms, "unsubscribe").json["result"] == "opted out"
    with sms_app.app_context():
        assert db.session.scalars(select(OptOut.address)).all() == ["+33612345678"]
    assert message_of(sms_app, message_id).status is Status.SENT  # a reply is not a receipt


def test_a_rejection_is_a_failure_with_its_fallback(sms_app, sent_sms):
    message_id, sms = sent_sms
    assert receipt(sms_app, sms, "rejected").json["result"] == "recorded"
    assert message_of(sms_app, message_id).status is Status.FAILED
    assert fallback_of(sms_app, message_id).channel == "mail"


def test_receipts_without_the_right_signature_or_reference_change_nothing(sms_app, sent_sms,
                                                                         make_tenant):
    message_id, sms = sent_sms
    client = sms_app.test_client()
    event = FakeBrevo.event(sms, "hard_bounce")
    path = urlsplit(sms["webUrl"]).path
    forged = path[:-8] + "00000000"
    assert client.post(forged, json=event).status_code == 403
    # The signature of one message does not open another's receipts.
    other = path.replace(f"/receipts/{message_id}/", f"/receipts/{message_id + 1}/")
    assert client.post(other, json=event).status_code == 403
    assert client.post(path, json={**event, "messageId": 42}).status_code == 404
    assert client.post(path, data="not json",
                       content_type="application/json").status_code == 400
    assert message_of(sms_app, message_id).status is Status.SENT
    assert fallback_of(sms_app, message_id) is None


def test_a_receipt_before_the_send_is_recorded_asks_to_come_again(sms_app, make_tenant):
    """The provider may call back before the worker committed its answer: 409, so that a
    provider that retries failed callbacks brings it again once the send is recorded."""
    from plugins.notifications.channels.sms import receipt_signature

    [(message_id, _)] = queue_notice(sms_app, tenant(sms_app, make_tenant))
    signature = receipt_signature(sms_app.config["NOTIFICATIONS_SMS_RECEIPTS_SECRET"],
                                  message_id)
    answer = sms_app.test_client().post(
        f"/notifications/sms/receipts/{message_id}/{signature}",
        json={"messageId": 1, "msg_status": "delivered", "to": "33612345678"})
    assert answer.status_code == 409
    assert message_of(sms_app, message_id).status is Status.QUEUED


def test_the_webhooks_do_not_exist_while_sms_is_off(make_app):
    app = make_app(plugins=["notifications"], NOTIFICATIONS_CHANNELS=["mail"])
    client = app.test_client()
    assert client.post("/notifications/sms/receipts/1/abc", json={}).status_code == 404
    assert client.post("/notifications/sms/inbound/abc", json={}).status_code == 404


def test_refused_receipts_are_rate_limited(sms_app, sent_sms):
    message_id, sms = sent_sms
    client = sms_app.test_client()
    codes = [client.post(f"/notifications/sms/receipts/{message_id}/bad",
                         json={}).status_code for _ in range(31)]
    assert codes[:30] == [403] * 30 and codes[30] == 429


# -- configuration -----------------------------------------------------------------------------


def config(**overrides) -> dict:
    values = {setting.name: setting.default for setting in SmsChannel.settings}
    values.update(LANGUAGES=["fr", "en"], NOTIFICATIONS_SMS_API_KEY="key",
                  NOTIFICATIONS_SMS_SENDER="OPHLaVille",
                  NOTIFICATIONS_SMS_RECEIPTS_SECRET="s" * 32,
                  NOTIFICATIONS_SMS_STOP_TEXT="STOP au 36180")
    values.update(overrides)
    return values


@pytest.mark.parametrize("overrides, says", [
    ({"NOTIFICATIONS_SMS_API_KEY": ""}, "NOTIFICATIONS_SMS_API_KEY is empty"),
    ({"NOTIFICATIONS_SMS_SENDER": "OfficeHabitatVille"}, "is too long"),
    ({"NOTIFICATIONS_SMS_SENDER": "OPH Ville"}, "without spaces"),
    ({"NOTIFICATIONS_SMS_SENDER": ""}, "give 3 to 11 letters"),
    ({"NOTIFICATIONS_SMS_PROVIDER": "twilio"}, "choose brevo or http"),
    ({"NOTIFICATIONS_SMS_API_URL": "api.brevo.com"}, "is not an http(s) address"),
    ({"NOTIFICATIONS_SMS_RECEIPTS_SECRET": "short"}, "shorter than 32 characters"),
    ({"NOTIFICATIONS_SMS_STOP_TEXT": ""}, "the word STOP"),
    ({"NOTIFICATIONS_SMS_STOP_TEXT": {"fr": "STOP au 36180", "en": "Reply"}}, "the word STOP"),
    ({"NOTIFICATIONS_SMS_TIMEOUT": 0}, "NOTIFICATIONS_SMS_TIMEOUT=0"),
    ({"NOTIFICATIONS_SMS_MAX_SEGMENTS": 0}, "from 1 to 10"),
])
def test_a_configuration_that_cannot_work_is_refused_with_what_to_fix(overrides, says):
    with pytest.raises(ConfigError) as refused:
        SmsChannel.check_config(config(**overrides))
    assert says in str(refused.value)


def test_a_working_configuration_passes():
    SmsChannel.check_config(config())
    SmsChannel.check_config(config(NOTIFICATIONS_SMS_PROVIDER="http",
                                   NOTIFICATIONS_SMS_SENDER="",
                                   NOTIFICATIONS_SMS_API_URL="https://sms.example/send"))
    SmsChannel.check_config(config(NOTIFICATIONS_SMS_SENDER="33612345678"))  # a number


def test_the_app_refuses_to_start_with_sms_on_and_no_key(make_app):
    with pytest.raises(ConfigError, match="NOTIFICATIONS_SMS_API_KEY is empty"):
        make_app(plugins=["notifications"], NOTIFICATIONS_CHANNELS=["sms", "mail"])


# -- phone numbers -----------------------------------------------------------------------------


@pytest.mark.parametrize("raw, e164", [
    ("06 12 34 56 78", "+33612345678"),
    ("06.12.34.56.78", "+33612345678"),
    ("+33 6 12 34 56 78", "+33612345678"),
    ("0033612345678", "+33612345678"),
    ("33612345678", "+33612345678"),
    ("07 81 23 45 67", "+33781234567"),
    ("0692 12 34 56", "+262692123456"),   # Réunion
    ("0696 12 34 56", "+596696123456"),   # Martinique
    ("+32 470 12 34 56", "+32470123456"),  # Belgium, as given
])
def test_phone_numbers_in_e164(raw, e164):
    assert mobile_e164(raw) == e164


@pytest.mark.parametrize("raw", ["", "06 12 34", "6 12 34 56 78", "+33 0612345678",
                                 "06-12-34-56-7a", "+33 1 23 45 67 89", "01 23 45 67 89"])
def test_numbers_that_cannot_receive_an_sms(raw):
    with pytest.raises(ValueError):
        mobile_e164(raw)


def test_a_landline_is_still_a_phone_number():
    assert to_e164("01 23 45 67 89") == "+33123456789"


# -- the generic HTTP adapter ------------------------------------------------------------------


@pytest.fixture
def landlord_provider():
    """A landlord's own SMS gateway on loopback, speaking the generic adapter's JSON."""
    received, answers = [], []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            received.append((self.headers.get("Authorization"), body))
            status = answers.pop(0) if answers else 200
            data = json.dumps({"id": f"gw-{len(received)}"} if status == 200 else
                              {"error": "bad number"}).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/send", received, answers
    server.shutdown()
    server.server_close()


def test_the_generic_adapter_posts_json_with_a_bearer_token(landlord_provider):
    url, received, answers = landlord_provider
    adapter = HttpAdapter(config(NOTIFICATIONS_SMS_PROVIDER="http", NOTIFICATIONS_SMS_API_URL=url,
                                 NOTIFICATIONS_SMS_API_KEY="gw-token"))
    assert adapter.send("+33612345678", "Bonjour", "key-1",
                        callback_url="https://palier.example/r") == "gw-1"
    authorization, body = received[0]
    assert authorization == "Bearer gw-token"
    assert body == {"to": "+33612345678", "text": "Bonjour", "reference": "key-1",
                    "sender": "OPHLaVille", "callback_url": "https://palier.example/r"}
    answers.extend([503, 422])
    with pytest.raises(TemporaryFailure):
        adapter.send("+33612345678", "Bonjour", "key-2")
    with pytest.raises(PermanentFailure, match="422 bad number"):
        adapter.send("+33612345678", "Bonjour", "key-2")
    event = adapter.parse_event({"id": "gw-1", "status": "bounced", "reason": "absent"})
    assert (event.event, event.reference, event.reason) == ("hard_bounce", "gw-1", "absent")


def test_an_unreachable_provider_is_a_temporary_failure():
    adapter = HttpAdapter(config(NOTIFICATIONS_SMS_API_URL="http://127.0.0.1:9/send"))
    with pytest.raises(TemporaryFailure, match="unreachable"):
        adapter.send("+33612345678", "Bonjour", "key-1")


def test_counts_in_the_database_match_what_brevo_received(sms_app, make_tenant, brevo):
    for n in range(3):
        queue_notice(sms_app, tenant(sms_app, make_tenant, phone=f"06 00 00 00 0{n}"),
                     event=f"notice:{n}")
    run_worker(sms_app)
    with sms_app.app_context():
        sent = db.session.scalar(select(func.count(Message.id)).where(
            Message.status == Status.SENT))
    assert sent == len(brevo.sms) == 3
    assert sorted(s["recipient"] for s in brevo.sms) == [f"3360000000{n}" for n in range(3)]
