"""Four ``palier worker`` processes on PostgreSQL draining 10,000 mails together: each mail is
claimed by one worker only (``FOR UPDATE SKIP LOCKED``) and received exactly once."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from core.extensions import db
from plugins.notifications.models import Message, MessageEvent, Status

from .test_worker_crash import queue_mails, start_worker, stop, worker_environment

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif("config.getoption('--palier-db') != 'postgresql'",
                       reason="several workers need PostgreSQL (--palier-db postgresql)"),
]

MAILS = 10_000
WORKERS = 4


def test_four_workers_deliver_each_mail_exactly_once(notif_app, smtp_server):
    expected = queue_mails(notif_app, MAILS, "drain")
    env = worker_environment(notif_app, smtp_server)
    workers = [start_worker(env, "--until-idle", "--batch-size", "50", "--name", f"w{n}")
               for n in range(1, WORKERS + 1)]
    try:
        outputs = [worker.communicate(timeout=900)[0].decode(errors="replace")
                   for worker in workers]
    finally:
        for worker in workers:
            stop(worker)
    assert [worker.returncode for worker in workers] == [0] * WORKERS, outputs
    received = smtp_server.count_by_message_id()
    assert set(received) == set(expected)
    assert max(received.values()) == 1, [mid for mid, n in received.items() if n > 1][:5]
    with notif_app.app_context():
        statuses = dict(db.session.execute(
            select(Message.status, func.count()).group_by(Message.status)).all())
        assert statuses == {Status.SENT: MAILS}
        per_worker = dict(db.session.execute(
            select(Message.worker, func.count()).group_by(Message.worker)).all())
        # Each message has one "sent" step: no two workers recorded the same delivery.
        sent_steps = db.session.scalar(select(func.count(MessageEvent.id)).where(
            MessageEvent.status == "sent"))
    assert sent_steps == MAILS
    assert sum(per_worker.values()) == MAILS and len(per_worker) >= 2, per_worker
    print(f"\n{MAILS} mails, {WORKERS} workers, each received once; per worker: "
          + ", ".join(f"{name} {count}" for name, count in sorted(per_worker.items())))
