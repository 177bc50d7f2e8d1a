"""Bulk queuing (``notify_many``): a notice to many people gives, set-based, the very messages
``notify()`` would give person by person, once, and only if the caller commits."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import event, func, insert, select

from core.accounts import Role, User
from core.estate import Household, Lease, Person
from core.extensions import db
from core.plugins import hookimpl
from plugins.notifications import notify, notify_many
from plugins.notifications.builtin_kinds import MESSAGES
from plugins.notifications.channels import Channel
from plugins.notifications.kinds import MessageKind
from plugins.notifications.models import Message, MessageEvent, Preference, Profile, Status


class Texto(Channel):
    """A phone channel (an SMS stand-in: this test never delivers)."""

    name, label, address_kind, quiet_hours = "texto", "texto", "phone", True


class Paper(Channel):
    """A postal channel (a letter stand-in)."""

    name, label, address_kind = "paper", "paper", "postal"


WORKS = MessageKind(name="test.works", label="Works", templates=str(MESSAGES / "notice"),
                    variables={"title": "t", "body": "b", "residence": "r"},
                    channels=("mail", "texto", "paper"))


class BulkPlugin:
    name = "bulk_channels"

    @hookimpl
    def register_notification_channels(self):
        return [Texto, Paper]

    @hookimpl
    def register_notification_kinds(self):
        return [WORKS]


@pytest.fixture
def bulk_app(make_app, smtp_server):
    return make_app(plugins=["notifications", "bulk_channels"],
                    extra_plugins={"bulk_channels": BulkPlugin()},
                    MAIL_SERVER=smtp_server.host, MAIL_PORT=smtp_server.port,
                    NOTIFICATIONS_CHANNELS=["mail", "texto", "paper"])


CONTEXT = {"title": "Coupure d'eau jeudi", "body": "De 9 h à 12 h.", "residence": "Les Tilleuls"}


def _people(app, make_estate):
    """A varied population; returns {label: person id}."""
    building_id = make_estate(dwellings=3)
    with app.app_context():
        from core.estate import Building

        dwellings = db.session.get(Building, building_id).entrances[0].dwellings
        today = date.today()

        def person(label, dwelling=None, lease_start=None, lease_end=None, **fields):
            household = Household(reference=f"H-{label}")
            someone = Person(reference=f"P-{label}", civility="Mme", first_name=label.title(),
                             last_name="Test", household=household, **fields)
            db.session.add_all([household, someone])
            if dwelling is not None:
                db.session.add(Lease(reference=f"L-{label}", dwelling=dwelling,
                                     household=household,
                                     start_date=lease_start or today - timedelta(days=100),
                                     end_date=lease_end))
            return someone

        people = {
            "account": person("account", dwellings[0], email="file@example.org"),
            "inactive": person("inactive", dwellings[1], email="file2@example.org"),
            "phone_only": person("phone_only", dwellings[2], phone="0612345678"),
            "paper_only": person("paper_only", dwellings[0]),
            "moved": person("moved", dwellings[1], lease_end=today - timedelta(days=1)),
            "nothing": person("nothing"),
            "prefers_texto": person("prefers_texto", dwellings[2], email="t@example.org",
                                    phone="0698765432"),
            "prefers_absent": person("prefers_absent", dwellings[0], email="a@example.org"),
            "erased": person("erased", dwellings[1], email="gone@example.org"),
        }
        db.session.flush()
        people["erased"].erased_at = today
        db.session.add_all([
            User(email="account@example.org", display_name="A", role=Role.TENANT,
                 person_id=people["account"].id, locale="en"),
            User(email="old@example.org", display_name="I", role=Role.TENANT, active=False,
                 person_id=people["inactive"].id),
            Preference(person_id=people["prefers_texto"].id, kind="test.works",
                       channel="texto"),
            Preference(person_id=people["prefers_absent"].id, kind="test.works",
                       channel="texto"),
            Profile(person_id=people["paper_only"].id, no_smartphone=True),
        ])
        db.session.commit()
        return {label: p.id for label, p in people.items()}


def _messages(event_name):
    return {(m.person_id, m.channel): (m.address, m.locale, m.recipient_name, m.urgent)
            for m in db.session.scalars(select(Message).where(Message.event == event_name))}


def _due_times(event_name):
    return {(m.person_id, m.channel): m.not_before
            for m in db.session.scalars(select(Message).where(Message.event == event_name))}


def test_bulk_queues_what_notify_would_queue_person_by_person(bulk_app, make_estate):
    ids = _people(bulk_app, make_estate)
    with bulk_app.app_context():
        for person_id in ids.values():
            notify(db.session.get(Person, person_id), "test.works", CONTEXT, event="one-by-one")
        queued = notify_many(list(ids.values()), "test.works", CONTEXT, event="bulk")
        db.session.commit()
        by_notify, by_bulk = _messages("one-by-one"), _messages("bulk")
        # Due "now" (or at the end of the quiet hours for texto), each computed when queued.
        due_notify, due_bulk = _due_times("one-by-one"), _due_times("bulk")
        assert all(abs((due_bulk[key] - due_notify[key]).total_seconds()) < 60
                   for key in due_bulk)
        erased = ids.pop("erased")
        # notify() does not look at erasure; bulk queuing skips those people on purpose.
        by_notify = {key: value for key, value in by_notify.items() if key[0] != erased}
        assert by_bulk == by_notify and queued == len(by_bulk)
        channels = {label: sorted(ch for (pid, ch) in by_bulk if pid == person_id)
                    for label, person_id in ids.items()}
        assert channels == {
            "account": ["mail"], "inactive": ["mail"], "phone_only": ["texto"],
            "paper_only": ["paper"], "moved": [], "nothing": [], "prefers_texto": ["texto"],
            "prefers_absent": ["mail"]}
        assert by_bulk[(ids["account"], "mail")][:2] == ("account@example.org", "en")
        assert by_bulk[(ids["inactive"], "mail")][:2] == ("file2@example.org", "fr")
        address = by_bulk[(ids["paper_only"], "paper")][0]
        assert address.splitlines()[1:] == ["1 rue de la Paix", "11000 Carcassonne"]
        bulk_rows = db.session.scalars(select(Message).where(Message.event == "bulk")).all()
        assert all(m.status is Status.QUEUED and m.context == CONTEXT for m in bulk_rows)
        assert all([e.status for e in m.events] == ["queued"] for m in bulk_rows)


def test_bulk_queuing_twice_queues_once_and_notify_adds_nothing(bulk_app, make_estate):
    ids = _people(bulk_app, make_estate)
    with bulk_app.app_context():
        first = notify_many(list(ids.values()), "test.works", CONTEXT, event="notice:7")
        db.session.commit()
        again = notify_many(list(ids.values()) * 2, "test.works", CONTEXT, event="notice:7")
        single = notify(db.session.get(Person, ids["account"]), "test.works", CONTEXT,
                        event="notice:7")
        db.session.commit()
        assert first == 6 and again == 0 and single == []
        assert db.session.scalar(select(func.count(Message.id))) == 6
        assert db.session.scalar(select(func.count(MessageEvent.id))) == 6


def test_bulk_queuing_rolls_back_with_the_caller(bulk_app, make_estate):
    ids = _people(bulk_app, make_estate)
    with bulk_app.app_context():
        assert notify_many(list(ids.values()), "test.works", CONTEXT, event="notice:8") == 6
        db.session.rollback()
        assert db.session.scalar(select(func.count(Message.id))) == 0
        assert db.session.scalar(select(func.count(MessageEvent.id))) == 0


def test_bulk_queuing_reads_thousands_of_people_in_a_few_queries(bulk_app, make_estate):
    building_id = make_estate(dwellings=1)
    people = 12_000
    with bulk_app.app_context():
        from core.estate import Building

        dwelling_id = db.session.get(Building, building_id).entrances[0].dwellings[0].id
        db.session.execute(insert(Household), [{"reference": f"HB{n}"} for n in range(people)])
        households = dict(db.session.execute(select(Household.reference, Household.id)).all())
        db.session.execute(insert(Person), [
            {"reference": f"PB{n}", "civility": "M.", "first_name": "Jean", "last_name": f"N{n}",
             "email": f"jean{n}@example.org" if n % 3 else None,
             "phone": "0600000000" if n % 3 == 0 and n % 2 else None,
             "household_id": households[f"HB{n}"]} for n in range(people)])
        db.session.execute(insert(Lease), [
            {"reference": f"LB{n}", "dwelling_id": dwelling_id,
             "household_id": households[f"HB{n}"], "start_date": date(2020, 1, 1)}
            for n in range(people)])
        db.session.commit()
        ids = db.session.scalars(select(Person.id)).all()
        statements = []
        listener = lambda *args: statements.append(args[2])  # noqa: E731
        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            queued = notify_many(ids, "test.works", CONTEXT, event="notice:9")
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)
        db.session.commit()
        by_channel = dict(db.session.execute(
            select(Message.channel, func.count()).group_by(Message.channel)).all())
    assert queued == people
    assert by_channel == {"mail": 8000, "texto": 2000, "paper": 2000}
    # Per chunk of 5,000 people: people, accounts, leases, preferences, profiles, existing
    # keys, and the INSERT statements (split into batches by the driver where needed).
    assert len(statements) <= 3 * 12 + 2, len(statements)
