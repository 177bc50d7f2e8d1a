"""A fault injected between the event and the commit, at 1,000 random points: the event (a
notice posted on a residence's noticeboard) and its messages exist together or not at all.

Each trial posts a notice and queues its messages in one transaction, the way a plugin does:
either for the residence's tenants at once (``notify_many``) or person by person
(``notify``). A listener on the engine raises at a random statement of that transaction (the
notice's INSERT, its audit event, the reads of contacts, the message INSERTs...) or at its
COMMIT. After every trial the database must hold, for each notice, all its messages, and no
message without its notice.
"""
from __future__ import annotations

import random
from datetime import date

import pytest
from sqlalchemy import event, func, select

from core.estate import Building, Person
from core.extensions import db
from plugins.notifications import notify, notify_many
from plugins.notifications.models import Message, MessageEvent

TRIALS = 1000
TENANTS = 3


class InjectedFault(RuntimeError):
    """The fault the test injects (a crash, a lost connection, a constraint...)."""


class Injector:
    """Raises :class:`InjectedFault` at the ``at``-th statement of the next transaction, or
    at its COMMIT when ``at`` is past its last statement."""

    def __init__(self):
        self.at = None
        self.count = 0
        self.fired = False

    def arm(self, at: int | None) -> None:
        self.at, self.count, self.fired = at, 0, False

    def on_statement(self, *_args) -> None:
        self.count += 1
        if self.at is not None and self.count == self.at:
            self.fired = True
            raise InjectedFault(f"statement {self.count}")

    def on_commit(self, _connection) -> None:
        if self.at is not None and not self.fired:
            self.fired = True
            raise InjectedFault(f"commit after {self.count} statements")


@pytest.fixture
def board_app(make_app, smtp_server):
    return make_app(plugins=["notifications", "noticeboard"], MAIL_SERVER=smtp_server.host,
                    MAIL_PORT=smtp_server.port, NOTIFICATIONS_CHANNELS=["mail"])


def _post_notice(residence_id: int, people: list[int], trial: int, bulk: bool) -> None:
    """What a noticeboard with notifications does when staff post a notice: one transaction."""
    from palier_noticeboard.models import Notice

    notice = Notice(residence_id=residence_id, title=f"Coupure d'eau {trial}",
                    body="L'eau sera coupée jeudi de 9 h à 12 h.", starts_on=date.today())
    db.session.add(notice)
    db.session.flush()
    context = {"title": notice.title, "body": notice.body, "residence": "Les Tilleuls"}
    event_name = f"noticeboard:{notice.id}:{trial}"
    if bulk:
        notify_many(people, "notifications.notice", context, event=event_name)
    else:
        for person_id in people:
            notify(db.session.get(Person, person_id), "notifications.notice", context,
                   event=event_name, obj=notice)
    db.session.commit()


def _check_all_or_nothing() -> tuple[int, int]:
    from palier_noticeboard.models import Notice

    notices = {f"noticeboard:{notice_id}:{title.rsplit(' ', 1)[1]}"
               for notice_id, title in db.session.execute(select(Notice.id, Notice.title))}
    messages = dict(db.session.execute(
        select(Message.event, func.count()).group_by(Message.event)).all())
    assert set(messages) == notices, (
        f"events without messages: {sorted(notices - set(messages))[:3]}, "
        f"messages without events: {sorted(set(messages) - notices)[:3]}")
    assert set(messages.values()) <= {TENANTS}, messages  # all of a notice's messages
    steps = db.session.scalar(select(func.count(MessageEvent.id)))
    assert steps == sum(messages.values())  # each message with its "queued" step
    return len(notices), sum(messages.values())


def test_a_fault_anywhere_before_the_commit_leaves_neither_event_nor_message(
        board_app, make_estate, make_tenant):
    building_id = make_estate(dwellings=3)
    tenants = [make_tenant(first_name=f"T{n}", building_id=building_id,
                           email=f"t{n}@example.org") for n in range(TENANTS)]
    rng = random.Random(20260101)
    injector = Injector()
    with board_app.app_context():
        from core.accounts import User

        people = [db.session.get(User, t.id).person_id for t in tenants]
        residence_id = db.session.get(Building, building_id).residence_id
        db.session.commit()
        event.listen(db.engine, "before_cursor_execute", injector.on_statement)
        event.listen(db.engine, "commit", injector.on_commit)
        try:
            # Statements of each way of queuing, counted on a clean run.
            lengths = {}
            for trial, bulk in ((0, True), (1, False)):
                injector.arm(None)
                _post_notice(residence_id, people, trial, bulk)
                lengths[bulk] = injector.count
            faults = commits = 0
            points = set()
            for trial in range(2, TRIALS + 2):
                bulk = rng.random() < 0.5
                # 1..n: a statement; n + 1: the COMMIT itself; beyond: no fault at all.
                at = rng.randint(1, lengths[bulk] + 2)
                injector.arm(at if at <= lengths[bulk] + 1 else None)
                try:
                    _post_notice(residence_id, people, trial, bulk)
                except InjectedFault:
                    db.session.rollback()
                    faults += 1
                    points.add((bulk, at))
                else:
                    assert not injector.fired
                    commits += 1
                injector.arm(None)
                _check_all_or_nothing()
        finally:
            event.remove(db.engine, "before_cursor_execute", injector.on_statement)
            event.remove(db.engine, "commit", injector.on_commit)
        notices, messages = _check_all_or_nothing()
    assert faults + commits == TRIALS and commits + 2 == notices
    assert messages == notices * TENANTS
    # Every statement of both ways of queuing was hit, the COMMIT too.
    assert len(points) == lengths[True] + lengths[False] + 2, (points, lengths)
    print(f"\n{TRIALS} trials: {faults} faults injected at {len(points)} distinct points "
          f"(bulk: {lengths[True]} statements + commit, one by one: {lengths[False]} + commit), "
          f"{commits} committed; 0 notices without messages, 0 messages without notice")
