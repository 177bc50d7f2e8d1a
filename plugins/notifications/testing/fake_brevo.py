"""A loopback stand-in for Brevo's transactional SMS API, for tests and demonstrations.

A real HTTP server on 127.0.0.1 (``http.server`` in a thread) that speaks the documented
protocol: ``POST /v3/transactionalSMS/send`` (and the older ``/v3/transactionalSMS/sms``) with
the ``api-key`` header and a JSON body (``sender``, ``recipient``, ``content``, ``type``,
``tag``, ``webUrl``, ``unicodeEnabled``); it answers ``201 {"messageId": <int>}``, or an error
in Brevo's format ``{"code": ..., "message": ...}``: 401 for a wrong key, 400 for a malformed
request. It keeps every SMS it accepted, and can be scripted to answer a sequence first
(``fake.script(503, 503, 201)``, ``fake.script((429, {"Retry-After": "120"}))``,
``fake.script(("hang", 3))`` for a provider that answers 504 after 3 s: a client with a
shorter timeout sees no answer at all).

:meth:`FakeBrevo.event` builds the delivery events Brevo posts to an SMS's ``webUrl``
(``msg_status``: sent, delivered, soft_bounce, hard_bounce, replied...); a test posts them with
its test client, or :meth:`FakeBrevo.post_event` posts them to a live server.
"""
from __future__ import annotations

import itertools
import json
import re
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

PATHS = ("/v3/transactionalSMS/send", "/v3/transactionalSMS/sms")


class FakeBrevo:
    """Brevo's SMS API on a loopback port: ``with FakeBrevo() as brevo: brevo.url``."""

    def __init__(self, api_key: str = "xkeysib-test-0123456789"):
        self.api_key = api_key
        self.sms: list[dict] = []        # accepted SMS: the request body and its messageId
        self.requests: list[tuple[str, int]] = []   # every call: (path, status answered)
        self._script: list = []
        self._ids = itertools.count(1511882900176220)
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- life -----------------------------------------------------------------------------

    def start(self) -> FakeBrevo:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        name="fake-brevo", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeBrevo:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    # -- scripting ------------------------------------------------------------------------

    def script(self, *answers) -> None:
        """Answers given before the normal one, in order: a status (201, 400, 503...), a
        (status, headers) pair, or ("hang", seconds): wait that long, then answer 504 and keep
        nothing (a gateway that gave up)."""
        with self._lock:
            self._script.extend(answers)

    def _next_answer(self):
        with self._lock:
            return self._script.pop(0) if self._script else 201

    # -- what Brevo posts back --------------------------------------------------------------

    @staticmethod
    def event(sms: dict, msg_status: str, **extra) -> dict:
        """The JSON Brevo posts to an SMS's ``webUrl`` for one event of it."""
        body = {"id": 26570, "to": sms["recipient"], "sms_count": 1, "credits_used": 4.5,
                "messageId": sms["messageId"], "remaining_credit": 1000.0,
                "msg_status": msg_status, "date": time.strftime("%Y-%m-%d %H:%M:%S"),
                "type": sms.get("type", "transactional"), "reference": f"ref-{sms['messageId']}"}
        if sms.get("tag"):
            body["tag"] = sms["tag"]
        body.update(extra)
        return body

    @staticmethod
    def post_event(url: str, event: dict) -> int:
        """Post an event to a live server's receipt address; returns the HTTP status."""
        request = urllib.request.Request(url, data=json.dumps(event).encode(), method="POST",
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status
        except urllib.error.HTTPError as error:
            return error.code

    # -- the server -----------------------------------------------------------------------

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output quiet
                pass

            def _reply(self, status: int, body: dict | None, headers: dict | None = None):
                fake.requests.append((self.path, status))
                data = json.dumps(body).encode() if body is not None else b""
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                if urlsplit(self.path).path not in PATHS:
                    return self._reply(404, {"code": "not_found", "message": "Invalid route"})
                if self.headers.get("api-key") != fake.api_key:
                    return self._reply(401, {"code": "unauthorized",
                                             "message": "Key not found"})
                try:
                    body = json.loads(raw)
                except ValueError:
                    return self._reply(400, {"code": "bad_request",
                                             "message": "Input must be a valid JSON object"})
                problem = _invalid(body)
                if problem:
                    return self._reply(400, {"code": "invalid_parameter", "message": problem})
                answer = fake._next_answer()
                headers = {}
                if isinstance(answer, tuple) and answer[0] == "hang":
                    time.sleep(answer[1])
                    answer = 504
                elif isinstance(answer, tuple):
                    answer, headers = answer
                if answer != 201:
                    return self._reply(answer, _error_of(answer), headers)
                with fake._lock:
                    message_id = next(fake._ids)
                    fake.sms.append({**body, "messageId": message_id})
                if urlsplit(self.path).path.endswith("/sms"):  # the deprecated route's answer
                    return self._reply(201, {"reference": f"ref-{message_id}",
                                             "messageId": message_id, "smsCount": 1,
                                             "usedCredits": 4.5, "remainingCredits": 1000.0})
                return self._reply(201, {"messageId": message_id})

        return Handler


def _invalid(body) -> str | None:
    """Why Brevo would refuse this request body, or None."""
    if not isinstance(body, dict):
        return "Input must be a valid JSON object"
    for key in ("sender", "recipient", "content"):
        if not body.get(key):
            return f"{key} is missing"
    sender = str(body["sender"])
    if not (re.fullmatch(r"[A-Za-z0-9]{3,11}", sender) or re.fullmatch(r"\d{12,15}", sender)):
        return "sender is invalid: at most 11 alphanumeric characters or 15 digits"
    if not re.fullmatch(r"\+?\d{6,15}", str(body["recipient"])):
        return "recipient is invalid"
    if body.get("type", "transactional") not in ("transactional", "marketing"):
        return "type is invalid"
    return None


def _error_of(status: int) -> dict:
    codes = {400: ("invalid_parameter", "Invalid phone number"),
             401: ("unauthorized", "Key not found"),
             402: ("not_enough_credits", "Not enough credits"),
             429: ("too_many_requests", "Too many requests"),
             500: ("internal_error", "Internal server error"),
             502: ("bad_gateway", "Bad gateway"),
             503: ("service_unavailable", "Service unavailable"),
             504: ("gateway_timeout", "Gateway timeout")}
    code, message = codes.get(status, ("error", "Error"))
    return {"code": code, "message": message}


def sms_settings(fake: FakeBrevo, **overrides) -> dict:
    """App settings that send SMS through ``fake`` (SMS and mail switched on, mail as the
    fallback of SMS, quiet hours off so that tests pass at any hour)."""
    settings = {
        "NOTIFICATIONS_CHANNELS": ["sms", "mail"],
        "NOTIFICATIONS_FALLBACKS": {"sms": ["mail"]},
        "NOTIFICATIONS_QUIET_HOURS": ["00:00", "00:00"],
        "NOTIFICATIONS_SMS_PROVIDER": "brevo",
        "NOTIFICATIONS_SMS_API_URL": fake.url,
        "NOTIFICATIONS_SMS_API_KEY": fake.api_key,
        "NOTIFICATIONS_SMS_SENDER": "Palier",
        "NOTIFICATIONS_SMS_TIMEOUT": 2.0,
        "NOTIFICATIONS_SMS_RECEIPTS_SECRET": "receipts-secret-for-tests-0123456789abcdef",
        "NOTIFICATIONS_SMS_STOP_TEXT": "STOP au 36180",
    }
    settings.update(overrides)
    return settings
