"""A landlord's claims history written fast, and the plans of the queue's queries.

Used by ``test_queue_plans.py`` (a few thousand claims) and ``bench/claims.py`` (a million):
agencies, residences, buildings with one entrance and their dwellings, one household and
person per dwelling, then claims spread over ``years`` — filed every day, mostly closed once
a few weeks old, open ones mostly recent — across the catalogue's problems and the agencies'
buildings. Claims are written with the driver itself (``executemany`` in chunks on SQLite,
``COPY`` on PostgreSQL): the ORM would take an hour for a million.
"""
from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import insert, select

from core.accounts import utcnow
from core.estate import Agency, Building, Dwelling, Entrance, Household, Person, Residence
from core.extensions import db
from plugins.claims.catalogue import load_catalogue
from plugins.claims.models import Claim, Status

S = Status
# Statuses by the claim's age (days): (upper bound of the age, [(status, weight)...]).
STATUS_BY_AGE = [
    (14, [(S.SUBMITTED, 2), (S.ACKNOWLEDGED, 23), (S.QUALIFIED, 15), (S.ASSIGNED, 20),
          (S.APPOINTMENT_PLANNED, 10), (S.IN_PROGRESS, 8), (S.POSTPONED, 3), (S.RESOLVED, 10),
          (S.CLOSED, 5), (S.REJECTED, 2), (S.CANCELLED, 2)]),
    (60, [(S.QUALIFIED, 3), (S.ACKNOWLEDGED, 2), (S.ASSIGNED, 8), (S.APPOINTMENT_PLANNED, 5),
          (S.POSTPONED, 4), (S.IN_PROGRESS, 5), (S.REOPENED, 1), (S.RESOLVED, 15),
          (S.CLOSED, 49), (S.REJECTED, 5), (S.CANCELLED, 3)]),
    (None, [(S.ASSIGNED, 0.4), (S.POSTPONED, 0.3), (S.IN_PROGRESS, 0.3), (S.RESOLVED, 1),
            (S.CLOSED, 88), (S.REJECTED, 6), (S.CANCELLED, 4)]),
]
ASSIGNED_OR_LATER = {S.ASSIGNED, S.APPOINTMENT_PLANNED, S.POSTPONED, S.IN_PROGRESS,
                     S.RESOLVED, S.CLOSED}
COLUMNS = ("reference", "person_id", "household_id", "channel", "dwelling_id", "entrance_id",
           "building_id", "agency_id", "catalogue_version", "place_id", "equipment_id",
           "problem_id", "wording", "responsibility", "legal_reference", "trade", "priority",
           "deadline_hours", "video_diagnosis", "description", "answers", "status",
           "assigned_trade", "rating_comment", "due_at", "created_at", "updated_at")
DESCRIPTIONS = ["Ça fuit sous l'évier depuis hier soir.", "Plus d'eau chaude ce matin.",
                "La porte du hall ne ferme plus.", "Le radiateur de la chambre reste froid.",
                "L'ascenseur est bloqué au 3e étage.", "La prise du salon ne marche plus."]


@dataclass
class Estate:
    """What was written: ids to build filters with."""

    agencies: list[int]
    buildings_by_agency: dict[int, list[int]]
    prefix: str = "Q"
    claims: int = 0
    # year → claims numbered in it
    counters: dict = field(default_factory=dict)


def seed_estate(*, agencies: int, buildings: int, dwellings_per_building: int,
                prefix: str = "Q") -> Estate:
    """Agencies, residences (10 buildings each), buildings, entrances, dwellings, households
    and people, with set-based inserts; committed."""
    session = db.session
    session.execute(insert(Agency), [{"reference": f"{prefix}AG{a}", "name": f"Agence {a}"}
                                     for a in range(agencies)])
    agency_ids = session.scalars(select(Agency.id).where(Agency.reference.like(f"{prefix}AG%"))
                                 .order_by(Agency.id)).all()
    residences = max(1, buildings // 10)
    session.execute(insert(Residence), [
        {"reference": f"{prefix}R{r}", "name": f"Résidence {r}",
         "agency_id": agency_ids[r % agencies], "postcode": "75019", "city": "Paris"}
        for r in range(residences)])
    residence_rows = session.execute(select(Residence.id, Residence.agency_id).where(
        Residence.reference.like(f"{prefix}R%")).order_by(Residence.id)).all()
    session.execute(insert(Building), [
        {"reference": f"{prefix}B{b}", "residence_id": residence_rows[b % residences][0],
         "name": f"Bâtiment {b}", "street": f"{b} rue de Belleville"} for b in range(buildings)])
    building_rows = session.execute(
        select(Building.id, Residence.agency_id).join(Residence)
        .where(Building.reference.like(f"{prefix}B%")).order_by(Building.id)).all()
    session.execute(insert(Entrance), [
        {"reference": f"{prefix}E{n}", "building_id": building_id, "name": "Entrée 1"}
        for n, (building_id, _agency) in enumerate(building_rows)])
    entrance_ids = session.scalars(select(Entrance.id).where(
        Entrance.reference.like(f"{prefix}E%")).order_by(Entrance.id)).all()
    session.execute(insert(Dwelling), [
        {"reference": f"{prefix}D{e}-{d}", "entrance_id": entrance_id, "floor": d // 4,
         "door": f"{d:03d}", "kind": "T3", "surface_m2": 64.5}
        for e, entrance_id in enumerate(entrance_ids) for d in range(dwellings_per_building)])
    homes = len(entrance_ids) * dwellings_per_building
    session.execute(insert(Household), [{"reference": f"{prefix}H{n}"} for n in range(homes)])
    household_ids = session.scalars(select(Household.id).where(
        Household.reference.like(f"{prefix}H%")).order_by(Household.id)).all()
    session.execute(insert(Person), [
        {"reference": f"{prefix}P{n}", "civility": "Mme", "first_name": "Camille",
         "last_name": f"Martin {n}", "household_id": household_id}
        for n, household_id in enumerate(household_ids)])
    session.commit()
    by_agency: dict[int, list[int]] = {agency: [] for agency in agency_ids}
    for building_id, agency_id in building_rows:
        by_agency[agency_id].append(building_id)
    return Estate(agency_ids, by_agency, prefix)


def _homes(prefix: str) -> dict[int, list[tuple[int, int, int, int]]]:
    """building → [(dwelling, entrance, person, household)...]."""
    dwellings = db.session.execute(
        select(Dwelling.id, Entrance.id, Entrance.building_id)
        .join(Entrance).where(Dwelling.reference.like(f"{prefix}D%"))
        .order_by(Dwelling.id)).all()
    people = db.session.execute(select(Person.id, Person.household_id).where(
        Person.reference.like(f"{prefix}P%")).order_by(Person.id)).all()
    homes: dict[int, list[tuple[int, int, int, int]]] = {}
    for (dwelling, entrance, building), (person, household) in zip(dwellings, people,
                                                                  strict=True):
        homes.setdefault(building, []).append((dwelling, entrance, person, household))
    return homes


def _status(rng: random.Random, age_days: float) -> Status:
    for bound, weights in STATUS_BY_AGE:
        if bound is None or age_days <= bound:
            statuses, values = zip(*weights, strict=True)
            return rng.choices(statuses, values)[0]
    raise AssertionError("unreachable")


def claim_rows(estate: Estate, homes: dict, count: int, *, years: float, now: datetime,
               seed: int, prefix: str):
    """Yield the claims' rows (tuples in :data:`COLUMNS` order), oldest first, counting them
    by year in ``estate.counters``."""
    rng = random.Random(seed)
    catalogue = load_catalogue()
    problems = []
    for problem in catalogue.problems:
        equipment = catalogue.equipment_item(problem.equipment)
        place = catalogue.place(equipment.places[0])
        trade = catalogue.trade(problem.trade)

        def text(value):
            return None if value is None else {"fr": value.fr, "en": value.en}

        wording = json.dumps({"place": text(place.label), "equipment": text(equipment.label),
                              "problem": text(problem.label), "trade": text(trade.label),
                              "safety": text(problem.safety_advice)}, ensure_ascii=False)
        problems.append((place.id, equipment.id, problem, wording,
                         place.scope.value == "dwelling"))
    agency_weights = [rng.uniform(0.5, 1.5) for _ in estate.agencies]
    answers = json.dumps({"since": "this_week", "urgency": "within_days"})
    start = now - timedelta(days=365 * years)
    step = (now - start) / count
    counters: dict[int, int] = {}
    for n in range(count):
        created = start + step * n + step * rng.random()
        age = (now - created).total_seconds() / 86400
        agency = rng.choices(estate.agencies, agency_weights)[0]
        building = rng.choice(estate.buildings_by_agency[agency])
        place_id, equipment_id, problem, wording, in_home = rng.choice(problems)
        if in_home and homes.get(building):
            dwelling, entrance, person, household = rng.choice(homes[building])
        else:
            dwelling = person = household = None
            entrance = homes[building][0][1] if homes.get(building) else None
        status = _status(rng, age)
        counters[created.year] = number = counters.get(created.year, 0) + 1
        estate.counters = counters
        yield (f"{prefix}-{created.year}-{number:07d}", person, household, "portal", dwelling,
               entrance, building, agency, catalogue.version, place_id, equipment_id,
               problem.id, wording, problem.responsibility.value, problem.legal_reference,
               problem.trade, problem.priority.value, problem.deadline_hours,
               problem.video_diagnosis, rng.choice(DESCRIPTIONS), answers, status.value,
               problem.trade if status in ASSIGNED_OR_LATER else None, "",
               created + timedelta(hours=problem.deadline_hours), created,
               created + timedelta(hours=rng.uniform(0, 24 * min(age, 30))))


def _sqlite_value(value):
    if isinstance(value, datetime):  # as SQLAlchemy stores it
        return value.strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, bool):
        return int(value)
    return value


def seed_claims(estate: Estate, count: int, *, years: float = 3, now: datetime | None = None,
                seed: int = 5, prefix: str = "RC", chunk: int = 20_000,
                progress=None) -> Estate:
    """Write ``count`` claims (and the reference counters) with the driver; committed.

    ``prefix`` starts every reference (``RC-2025-0001234``: 7 digits, so that numbers given
    later by Palier, 6 digits, never collide with them).
    """
    now = now or utcnow()
    homes = _homes(estate.prefix)
    db.session.commit()  # the session's transaction (SQLite: the write lock) ends here
    rows = claim_rows(estate, homes, count, years=years, now=now, seed=seed, prefix=prefix)
    engine = db.engine
    raw = engine.raw_connection()
    written = 0
    try:
        cursor = raw.cursor()
        if engine.dialect.name == "postgresql":
            with cursor.copy(f"COPY claims_claim ({', '.join(COLUMNS)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
                    written += 1
                    if progress and written % chunk == 0:
                        progress(written)
            raw.commit()
        else:
            sql = (f"INSERT INTO claims_claim ({', '.join(COLUMNS)}) "
                   f"VALUES ({', '.join('?' * len(COLUMNS))})")
            batch = []
            for row in rows:
                batch.append(tuple(_sqlite_value(value) for value in row))
                if len(batch) == chunk:
                    cursor.execute("BEGIN")
                    cursor.executemany(sql, batch)
                    cursor.execute("COMMIT")
                    written += len(batch)
                    batch = []
                    if progress:
                        progress(written)
            if batch:
                cursor.execute("BEGIN")
                cursor.executemany(sql, batch)
                cursor.execute("COMMIT")
                written += len(batch)
        cursor.close()
    finally:
        raw.close()
    estate.claims += written
    return estate


def analyze() -> None:
    """Refresh the planner's statistics (as a DBA would after a bulk load)."""
    db.session.execute(db.text("ANALYZE"))
    db.session.commit()


def page_statement(user, filters=None, sort=None, page: int = 1, per_page: int = 50,
                   now: datetime | None = None):
    """The query of one page of the queue, as the page runs it: :func:`queue_select` cut to
    ``per_page + 1`` rows, with the names each row shows joined when the queue has them."""
    from plugins.claims import queue

    filters = filters or queue.QueueFilters()
    statement = queue.queue_select(user, filters, sort or queue.DEFAULT_SORT, now)
    statement = getattr(queue, "_detailed", with_names)(statement)
    return statement.limit(per_page + 1).offset((max(1, page) - 1) * per_page)


def with_names(statement):
    """The names a row of the queue shows, joined by primary key (building, dwelling), as the
    back office's page does."""
    return (statement.outerjoin(Building, Building.id == Claim.building_id)
            .outerjoin(Dwelling, Dwelling.id == Claim.dwelling_id)
            .add_columns(Building.name, Dwelling.reference))


def explain(statement) -> list[str]:
    """The plan of a SELECT, one line per step: EXPLAIN QUERY PLAN's details on SQLite,
    EXPLAIN's lines on PostgreSQL. The statement's values are inlined (a plan does not
    depend on them on SQLite; PostgreSQL plans for the values it is given)."""
    dialect = db.engine.dialect
    sql = str(statement.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
    connection = db.session.connection()
    if dialect.name == "sqlite":
        return [row[-1] for row in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}")]
    return [row[0] for row in connection.exec_driver_sql(f"EXPLAIN {sql}")]


def claims_scans(plan: list[str]) -> list[str]:
    """The steps of ``plan`` that read the whole claims table (no index)."""
    return [line for line in plan
            if line.strip().startswith("SCAN claims_claim") and "INDEX" not in line
            or "Seq Scan on claims_claim" in line]


def indexes_used(plan: list[str]) -> list[str]:
    """The indexes ``plan`` reads, in order."""
    import re

    found = []
    for line in plan:
        for match in re.finditer(r"(?:USING (?:COVERING )?INDEX|Index Scan (?:Backward )?using|"
                                 r"Index Only Scan using|Bitmap Index Scan on) (\w+)", line):
            found.append(match.group(1))
    return found


__all__ = ["Claim", "Estate", "analyze", "claims_scans", "explain", "indexes_used",
           "seed_claims", "seed_estate"]
