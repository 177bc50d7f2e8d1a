"""Estate (patrimoine) and people: the landlord's reference data.

agency → residence (groupe) → building (bâtiment) → entrance (entrée / cage d'escalier) →
dwelling (logement); people (personnes) form households (ménages) that hold leases (baux) on
dwellings. Caretakers (gardiens) are assigned to buildings. References come from the
landlord's ERP and are unique, so imports can be repeated safely.
"""
from __future__ import annotations

import functools
from datetime import date, datetime
from typing import NamedTuple

from sqlalchemy import (
    ForeignKey,
    Numeric,
    String,
    UniqueConstraint,
    bindparam,
    or_,
    select,
    true,
)
from sqlalchemy.orm import Mapped, joinedload, mapped_column, relationship

from core.extensions import db


class Agency(db.Model):
    """An agency (agence) of the landlord, in charge of some residences."""

    __tablename__ = "agency"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))

    residences: Mapped[list[Residence]] = relationship(back_populates="agency")


class Residence(db.Model):
    """A residence or group of buildings (résidence, groupe immobilier)."""

    __tablename__ = "residence"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"), index=True)
    postcode: Mapped[str] = mapped_column(String(10))
    city: Mapped[str] = mapped_column(String(120))

    agency: Mapped[Agency] = relationship(back_populates="residences")
    buildings: Mapped[list[Building]] = relationship(back_populates="residence")


class Building(db.Model):
    """A building (bâtiment) with its street address."""

    __tablename__ = "building"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(40), unique=True)
    residence_id: Mapped[int] = mapped_column(ForeignKey("residence.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    street: Mapped[str] = mapped_column(String(200))

    residence: Mapped[Residence] = relationship(back_populates="buildings")
    entrances: Mapped[list[Entrance]] = relationship(back_populates="building")


class Entrance(db.Model):
    """An entrance or staircase (entrée, cage d'escalier) of a building."""

    __tablename__ = "entrance"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(40), unique=True)
    building_id: Mapped[int] = mapped_column(ForeignKey("building.id"), index=True)
    name: Mapped[str] = mapped_column(String(60))

    building: Mapped[Building] = relationship(back_populates="entrances")
    dwellings: Mapped[list[Dwelling]] = relationship(back_populates="entrance")


class Dwelling(db.Model):
    """A dwelling (logement): reference, floor, type (T1..T6) and living area."""

    __tablename__ = "dwelling"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(40), unique=True)
    entrance_id: Mapped[int] = mapped_column(ForeignKey("entrance.id"), index=True)
    floor: Mapped[int]
    door: Mapped[str] = mapped_column(String(20))
    kind: Mapped[str] = mapped_column(String(10))  # typology: T1 .. T6
    surface_m2: Mapped[float] = mapped_column(Numeric(7, 2, asdecimal=False))

    entrance: Mapped[Entrance] = relationship(back_populates="dwellings")
    leases: Mapped[list[Lease]] = relationship(back_populates="dwelling")

    @property
    def address_lines(self) -> list[str]:
        """The postal address, French style, without the recipient's name."""
        building = self.entrance.building
        residence = building.residence
        return postal_address(residence.name, building.name, self.entrance.name, self.door,
                              building.street, residence.postcode, residence.city)


def postal_address(residence: str, building: str, entrance: str, door: str, street: str,
                   postcode: str, city: str) -> list[str]:
    """Address lines of a dwelling, French style: where in the residence, street, town."""
    return [f"{residence}, {building}, {entrance}, logement {door}", street, f"{postcode} {city}"]


class Person(db.Model):
    """A person (personne physique): a tenant, an occupant or an applicant."""

    __tablename__ = "person"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(40), unique=True)
    civility: Mapped[str] = mapped_column(String(10), default="")
    first_name: Mapped[str] = mapped_column(String(120))
    last_name: Mapped[str] = mapped_column(String(120))
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(30))
    household_id: Mapped[int | None] = mapped_column(ForeignKey("household.id"), index=True)
    # Set when the person's data was erased (RGPD): the row stays, pseudonymised, for the
    # lease the law keeps, and no import brings the data back.
    erased_at: Mapped[datetime | None]

    household: Mapped[Household | None] = relationship(back_populates="members")

    @property
    def full_name(self) -> str:
        return " ".join(p for p in (self.civility, self.first_name, self.last_name) if p)


class Household(db.Model):
    """A household (ménage): the people who live together under a lease."""

    __tablename__ = "household"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(40), unique=True)

    members: Mapped[list[Person]] = relationship(back_populates="household")
    leases: Mapped[list[Lease]] = relationship(back_populates="household")


class Lease(db.Model):
    """A lease (bail) of a household on a dwelling, from a start date to an optional end."""

    __tablename__ = "lease"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(40), unique=True)
    dwelling_id: Mapped[int] = mapped_column(ForeignKey("dwelling.id"), index=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("household.id"), index=True)
    start_date: Mapped[date]
    end_date: Mapped[date | None]

    dwelling: Mapped[Dwelling] = relationship(back_populates="leases")
    household: Mapped[Household] = relationship(back_populates="leases")


class CaretakerAssignment(db.Model):
    """A caretaker (gardien) in charge of a building."""

    __tablename__ = "caretaker_assignment"
    __table_args__ = (UniqueConstraint("user_id", "building_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"),
                                         index=True)
    building_id: Mapped[int] = mapped_column(ForeignKey("building.id", ondelete="CASCADE"),
                                             index=True)


class HomeSummary(NamedTuple):
    """What the portal shows of a tenant's home on every visit: read without ORM objects."""

    kind: str
    surface_m2: float
    floor: int
    address_lines: list[str]


def lease_runs_on(on):
    """Criteria of a lease running on the day ``on`` (started, not ended)."""
    return (Lease.start_date <= on, or_(Lease.end_date.is_(None), Lease.end_date > on))


def _current_lease_filter(person_id, on):
    return (Person.id == person_id, *lease_runs_on(on))


@functools.cache
def _home_summary_query():
    # Built once: composing a six-table select costs more than running it.
    return (
        select(Dwelling.kind, Dwelling.surface_m2, Dwelling.floor, Residence.name, Building.name,
               Entrance.name, Dwelling.door, Building.street, Residence.postcode, Residence.city)
        .select_from(Lease)
        .join(Person, Person.household_id == Lease.household_id)
        .join(Dwelling, Dwelling.id == Lease.dwelling_id)
        .join(Entrance, Entrance.id == Dwelling.entrance_id)
        .join(Building, Building.id == Entrance.building_id)
        .join(Residence, Residence.id == Building.residence_id)
        .where(*_current_lease_filter(bindparam("person_id"), bindparam("on")))
        .order_by(Lease.start_date.desc())
        .limit(1)
    )


def home_summary(person_id: int, on: date) -> HomeSummary | None:
    """The dwelling of a person's current lease, in one light query (the portal home's card)."""
    # Plain columns: run on the session's connection, past the ORM's per-statement work.
    row = db.session.connection().execute(
        _home_summary_query(), {"person_id": person_id, "on": on}).first()
    if row is None:
        return None
    return HomeSummary(row[0], row[1], row[2], postal_address(*row[3:]))


def current_lease(person: Person | int, on: date) -> Lease | None:
    """The lease under which a person (object or id) lives on a given day, if any.

    One query, with the dwelling and its address up to the residence loaded along.
    """
    person_id = person if isinstance(person, int) else person.id
    query = (
        select(Lease)
        .join(Person, Person.household_id == Lease.household_id)
        .where(*_current_lease_filter(person_id, on))
        .order_by(Lease.start_date.desc())
        .limit(1)
        .options(joinedload(Lease.dwelling).joinedload(Dwelling.entrance)
                 .joinedload(Entrance.building).joinedload(Building.residence))
    )
    return db.session.scalar(query)


def people_visible_to(user):
    """Which people a member of staff may look up, as criteria on ``Person`` (a query filter,
    not a yes/no on one person): a caretaker (gardien), the current occupants of the buildings
    assigned to them; everyone else allowed to open tenant files, everyone."""
    from core.accounts import Role

    if user.role is not Role.CARETAKER:
        return true()
    buildings = select(CaretakerAssignment.building_id).where(
        CaretakerAssignment.user_id == user.id)
    today = date.today()
    households = (select(Lease.household_id)
                  .join(Dwelling, Dwelling.id == Lease.dwelling_id)
                  .join(Entrance, Entrance.id == Dwelling.entrance_id)
                  .where(Entrance.building_id.in_(buildings), Lease.start_date <= today,
                         or_(Lease.end_date.is_(None), Lease.end_date > today)))
    return Person.household_id.in_(households)
