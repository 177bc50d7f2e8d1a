"""``palier worker`` killed with SIGKILL at random points while it delivers a batch of 10,000
mails to a real SMTP server on loopback: nothing is lost, and a mail is received twice only
when the kill fell between the server's acceptance and the commit, with the same Message-ID.

Each worker is a real process started the way an operator starts it (``palier worker``, its
configuration in ``PALIER_*`` variables). After each kill, and before the next worker starts,
the test compares what the server holds with what the database says was sent: the mails the
server accepted but the database does not record as sent are the ones *in flight* at the kill,
the only ones a later worker may send again. With one commit per mail there is at most one.

``PALIER_CRASH_BATCHES`` (default 1) repeats the whole experiment on fresh batches and
``PALIER_CRASH_KILLS`` (default 20) sets the kills per batch; the defaults take about two
minutes on two cores.
"""
from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy import func, select

from core.accounts import utcnow
from core.extensions import db
from plugins.notifications.models import Message, Status
from plugins.notifications.outbox import idempotency_key, queue_rows

ROOT = Path(__file__).resolve().parents[3]
PALIER = [sys.executable, "-c", "from core.cli import main; main()"]
MAILS = int(os.environ.get("PALIER_CRASH_MAILS", "10000"))


def queue_mails(app, count: int, tag: str) -> dict[str, str]:
    """Queue ``count`` test mails at once; returns {Message-ID: idempotency key}."""
    now = utcnow()
    rows = []
    for n in range(count):
        address = f"locataire{n}@example.org"
        rows.append({
            "idempotency_key": idempotency_key(f"{tag}:{n}", address, "mail"),
            "event": f"{tag}:{n}", "kind": "notifications.test", "channel": "mail",
            "person_id": None, "address": address, "recipient_name": f"Locataire {n}",
            "locale": "fr", "context": {"sent_by": "crash test"}, "urgent": True,
            "status": Status.QUEUED, "attempts": 0, "not_before": now, "created_at": now,
            "updated_at": now})
    with app.app_context():
        queue_rows(rows)
        db.session.commit()
    return {f"<{row['idempotency_key']}@localhost>": row["idempotency_key"] for row in rows}


def worker_environment(app, smtp_server, **settings) -> dict:
    """The environment of a ``palier worker`` process using the app's database and relay."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PALIER_")}
    env.update(
        PALIER_INSTANCE_PATH=app.instance_path, PALIER_SECRET_KEY=uuid.uuid4().hex,
        PALIER_ENVIRONMENT="testing", PALIER_DATABASE_URL=app.config["DATABASE_URL"],
        PALIER_PLUGINS='["notifications"]', PALIER_PUBLIC_URL="http://localhost",
        PALIER_MAIL_SERVER=smtp_server.host, PALIER_MAIL_PORT=str(smtp_server.port),
        PALIER_NOTIFICATIONS_CHANNELS='["mail"]', PYTHONWARNINGS="ignore")
    env.update({f"PALIER_{key}": str(value) for key, value in settings.items()})
    return env


def start_worker(env: dict, *options: str) -> subprocess.Popen:
    return subprocess.Popen([*PALIER, "worker", *options], env=env, cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True)


def stop(process: subprocess.Popen, sig=signal.SIGKILL) -> str:
    if process.poll() is None:
        os.killpg(process.pid, sig)
    return process.communicate(timeout=60)[0].decode(errors="replace")


def sent_keys(app) -> set[str]:
    with app.app_context():
        keys = set(db.session.scalars(select(Message.idempotency_key).where(
            Message.status == Status.SENT)))
        db.session.remove()
        return keys


def _kill_while_delivering(process, smtp_server, rng) -> float | None:
    """Let the worker start and deliver a little, then SIGKILL it at a random moment.
    Returns how long it had been delivering (None: it died or finished on its own)."""
    before = len(smtp_server.raw)
    deadline = time.monotonic() + 60
    while len(smtp_server.raw) == before:
        if process.poll() is not None or time.monotonic() > deadline:
            return None
        time.sleep(0.005)
    started = time.monotonic()
    time.sleep(rng.uniform(0, 2.0))
    if process.poll() is not None:
        return None
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
    return time.monotonic() - started


@pytest.mark.slow
def test_sigkill_at_random_points_loses_nothing_and_resends_only_the_mail_in_flight(
        notif_app, smtp_server, request):
    if request.config.getoption("--palier-db") != "sqlite":
        pytest.skip("one worker at a time: the SQLite case (several workers: PostgreSQL test)")
    batches = int(os.environ.get("PALIER_CRASH_BATCHES", "1"))
    kills = int(os.environ.get("PALIER_CRASH_KILLS", "20"))
    rng = random.Random(os.environ.get("PALIER_CRASH_SEED", "palier"))
    env = worker_environment(notif_app, smtp_server)
    report = []
    for batch in range(batches):
        smtp_server.clear()
        expected = queue_mails(notif_app, MAILS, f"crash{batch}")
        in_flight: list[set[str]] = []  # per kill: accepted by the server, not committed
        for _ in range(kills):
            worker = start_worker(env, "--batch-size", str(rng.choice([1, 10, 50, 200])))
            if _kill_while_delivering(worker, smtp_server, rng) is None:
                output = stop(worker)
                pytest.fail(f"the worker ended before it could be killed:\n{output[-2000:]}")
            stop(worker)
            sent = sent_keys(notif_app)
            accepted = {expected[mid] for mid in smtp_server.count_by_message_id()}
            in_flight.append(accepted - sent)
            assert len(in_flight[-1]) <= 1, (
                f"{len(in_flight[-1])} mails accepted by the server but not recorded as sent "
                "at one kill: more than the one in flight")
        drain = start_worker(env, "--until-idle")
        output = drain.communicate(timeout=900)[0].decode(errors="replace")
        assert drain.returncode == 0, output[-2000:]

        received = smtp_server.count_by_message_id()
        assert set(received) == set(expected), (
            f"lost: {len(set(expected) - set(received))}, "
            f"unknown: {len(set(received) - set(expected))}")
        resent = {expected[mid]: count - 1 for mid, count in received.items() if count > 1}
        for key, extra in resent.items():
            kills_in_flight = sum(key in keys for keys in in_flight)
            assert extra <= kills_in_flight, (
                f"{key} received {extra + 1} times but in flight at {kills_in_flight} kill(s)")
        assert len(sent_keys(notif_app)) == MAILS
        with notif_app.app_context():
            assert db.session.scalar(select(func.count(Message.id)).where(
                Message.status != Status.SENT)) == 0
            db.session.remove()
        in_flight_total = sum(len(keys) for keys in in_flight)
        report.append(f"batch {batch + 1}: {MAILS} mails, {kills} SIGKILLs, "
                      f"{len(received)} distinct Message-IDs received, "
                      f"{sum(resent.values())} re-sent (same Message-ID), "
                      f"{in_flight_total} in flight at the kills (at most 1 per kill)")
    print("\n" + "\n".join(report))
