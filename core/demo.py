"""The demo landlord "Habitat Démo": an agency, 3 residences, about 240 dwellings, their
households and one account per role. Loading is idempotent: references are looked up first.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import func, select

from core.accounts import Role, User
from core.estate import (
    Agency,
    Building,
    CaretakerAssignment,
    Dwelling,
    Entrance,
    Household,
    Lease,
    Person,
    Residence,
)
from core.extensions import db
from core.plugins import hook

DEMO_PASSWORD = "demo-palier-2026"
DEMO_DOMAIN = "demo.palier.fr"

# (reference, name, postcode, city, buildings as (name, street, entrances, floors, doors/floor))
RESIDENCES = [
    ("RES-TIL", "Résidence Les Tilleuls", "11000", "Carcassonne", [
        ("Bâtiment A", "12 rue des Tilleuls", 2, 6, 4),
        ("Bâtiment B", "14 rue des Tilleuls", 2, 5, 4),
    ]),
    ("RES-CAN", "Résidence du Canal", "11100", "Narbonne", [
        ("Bâtiment Écluse", "3 quai du Canal", 2, 5, 4),
        ("Bâtiment Péniche", "5 quai du Canal", 1, 5, 4),
    ]),
    ("RES-GAR", "Les Jardins de la Garrigue", "11400", "Castelnaudary", [
        ("Maison des Cistes", "1 allée des Cistes", 2, 4, 5),
        ("Maison des Thyms", "2 allée des Thyms", 2, 5, 5),
    ]),
]
FIRST_NAMES = ["Camille", "Nadia", "Jean", "Fatou", "Louis", "Inès", "Marc", "Zoé", "Karim",
               "Élise", "Hugo", "Mireille", "Yacine", "Sophie", "Thierry", "Léa", "Bernard",
               "Aïcha", "Paul", "Josiane"]
LAST_NAMES = ["Martin", "Bernard", "Diallo", "Garcia", "Nguyen", "Lefèvre", "Moreau", "Benali",
              "Rousseau", "Fontaine", "Mercier", "Ferreira", "Lambert", "Bonnet", "Chevalier",
              "Dupont", "Haddad", "Girard", "Roux", "Fabre"]
KINDS = [("T1", 32.5), ("T2", 46.0), ("T3", 64.8), ("T4", 79.2), ("T5", 92.6)]

# The one tenant account, and one account per staff role.
ACCOUNTS = [
    (Role.TENANT, "locataire", "Camille Martin"),
    (Role.CARETAKER, "gardien", "Jean Garcia"),
    (Role.TECHNICIAN, "technicien", "Nadia Benali"),
    (Role.AGENT, "agent", "Sophie Lambert"),
    (Role.MANAGER, "responsable", "Marc Fontaine"),
    (Role.COMMITTEE_MEMBER, "membre-cal", "Josiane Roux"),
    (Role.COMMITTEE_CHAIR, "president-cal", "Bernard Girard"),
    (Role.ADMIN, "admin", "Élise Mercier"),
]


@dataclass
class DemoSummary:
    residences: int
    dwellings: int
    tenants: int
    accounts: list[tuple[str, str]] = field(default_factory=list)


def _get_or_create(model, reference: str, **values):
    obj = db.session.scalar(select(model).where(model.reference == reference))
    if obj is None:
        obj = model(reference=reference, **values)
        db.session.add(obj)
    return obj


def load_demo(today: date | None = None) -> DemoSummary:
    """Create (or complete) the demo landlord; returns what it holds."""
    today = today or date.today()
    rng = random.Random(2026)  # same demo on every machine
    agency = _get_or_create(Agency, "AG-AUDE", name="Agence Aude")
    first_lease_person = None
    buildings = []
    for res_ref, res_name, postcode, city, building_specs in RESIDENCES:
        residence = _get_or_create(Residence, res_ref, name=res_name, agency=agency,
                                   postcode=postcode, city=city)
        for b_index, (b_name, street, entrances, floors, doors) in enumerate(building_specs, 1):
            building = _get_or_create(Building, f"{res_ref}-B{b_index}", name=b_name,
                                      street=street, residence=residence)
            buildings.append(building)
            for e_index in range(1, entrances + 1):
                entrance = _get_or_create(Entrance, f"{building.reference}-E{e_index}",
                                          name=f"Entrée {e_index}", building=building)
                for floor in range(floors):
                    for door in range(1, doors + 1):
                        kind, surface = KINDS[rng.randrange(len(KINDS))]
                        dwelling_ref = f"{entrance.reference}-{floor}{door:02d}"
                        dwelling = _get_or_create(
                            Dwelling, dwelling_ref, entrance=entrance, floor=floor,
                            door=f"{floor}{door:02d}", kind=kind, surface_m2=surface)
                        person = _tenant_household(dwelling, rng, today)
                        first_lease_person = first_lease_person or person
    db.session.flush()
    accounts = _accounts(first_lease_person, buildings[0])
    db.session.flush()
    hook().load_demo_data(today=today)  # each enabled plugin's own demo data
    db.session.commit()
    return DemoSummary(
        residences=db.session.scalar(select(func.count(Residence.id))),
        dwellings=db.session.scalar(select(func.count(Dwelling.id))),
        tenants=db.session.scalar(select(func.count(Lease.id))),
        accounts=accounts,
    )


def _tenant_household(dwelling: Dwelling, rng: random.Random, today: date) -> Person:
    reference = dwelling.reference.replace("RES", "MEN")
    household = _get_or_create(Household, reference)
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    civility = rng.choice(["Mme", "M."])
    person = _get_or_create(Person, reference.replace("MEN", "PER"), civility=civility,
                            first_name=first, last_name=last, household=household)
    start = today - timedelta(days=rng.randrange(60, 6000))
    _get_or_create(Lease, reference.replace("MEN", "BAIL"), dwelling=dwelling,
                   household=household, start_date=start)
    return person


def _accounts(tenant_person: Person, caretaker_building: Building) -> list[tuple[str, str]]:
    created = []
    for role, local_part, display_name in ACCOUNTS:
        email = f"{local_part}@{DEMO_DOMAIN}"
        user = User.by_email(email)
        if user is None:
            user = User(email=email, display_name=display_name, role=role)
            user.set_password(DEMO_PASSWORD)
            db.session.add(user)
        if role in (Role.AGENT, Role.MANAGER):
            user.agency = caretaker_building.residence.agency
        if role is Role.TENANT:
            first, last = display_name.split(" ", 1)
            tenant_person.first_name, tenant_person.last_name = first, last
            tenant_person.civility, tenant_person.email = "Mme", email
            user.person = tenant_person
        db.session.flush()
        if role is Role.CARETAKER and not db.session.scalar(
                select(CaretakerAssignment).where(CaretakerAssignment.user_id == user.id)):
            db.session.add(CaretakerAssignment(user_id=user.id,
                                               building_id=caretaker_building.id))
        created.append((role.value, email))
    return created
