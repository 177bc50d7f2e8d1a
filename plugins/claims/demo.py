"""The demo landlord's claims, so that every page has something to show.

The demo tenant has a repaired tap to rate and a lift being handled; their neighbours, filed
by the demo agent during phone calls, give the queue, the dashboard and the caretaker some
work: claims at every step, a few past their deadline, and "no heating" reported from one
entrance. Loaded once: the first claim's confirmation token marks the demo as loaded.
"""
from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta

from sqlalchemy import select

from core.accounts import User
from core.demo import DEMO_DOMAIN
from core.estate import Building, Dwelling, Entrance, Lease
from core.extensions import db
from plugins.claims.models import Claim

MARK = "demo-claims-0001"
ANSWERS = {"since": "this_week", "urgency": "within_days", "access": "present",
           "availability": "En semaine après 17 h"}
# (place, equipment, problem, description): what the neighbours report.
NEIGHBOURS = [
    ("bathroom", "water_heater", "water_heater.no_hot_water",
     "Plus d'eau chaude depuis ce matin, le voyant du chauffe-eau est éteint."),
    ("kitchen", "boiler", "boiler.low_pressure",
     "La pression de la chaudière descend sous 1 bar tous les deux jours."),
    ("toilet", "wc", "wc.cistern_runs", "La chasse d'eau coule en continu."),
    ("living_room", "window", "window.handle", "La poignée de la fenêtre du séjour est cassée."),
    ("bedroom", "shutter", "shutter.strap", "La sangle du volet roulant a lâché."),
    ("toilet", "vent", "vent.no_draught", "La VMC ne tire plus dans les toilettes."),
    ("entrance", "electrical_panel", "electrical_panel.no_power",
     "Le disjoncteur saute dès qu'on allume le four."),
    ("bathroom", "tap", "tap.worn_out", "Le mitigeur de la douche ne ferme plus."),
]
# The steps each neighbour's claim has gone through, in order.
PATHS = [
    [],
    ["qualified"],
    ["qualified", "assigned"],
    ["qualified", "assigned", "appointment_planned"],
    ["qualified", "assigned", "appointment_planned", "in_progress"],
    ["qualified", "assigned", "appointment_planned", "in_progress", "resolved"],
    ["qualified", "assigned", "appointment_planned", "in_progress", "resolved", "closed"],
    ["qualified", "assigned", "postponed"],
]


def _user(local_part: str) -> User | None:
    return User.by_email(f"{local_part}@{DEMO_DOMAIN}")


def _tomorrow_at(hour: int) -> datetime:
    return datetime.combine(date.today() + timedelta(days=1), time(hour)) - timedelta(hours=1)


def _walk(claim_id: int, path: list[str], agent: User, technician: User | None) -> None:
    from plugins.claims.workflow import change_status

    for step in path:
        fields = {}
        if step == "assigned":
            fields = ({"technician_id": technician.id} if technician is not None
                      else {"contractor": "Plomberie Audoise"})
        elif step in ("appointment_planned", "postponed"):
            fields = {"planned_for": _tomorrow_at(9)}
        if step == "postponed":
            fields["reason"] = "Pièce en commande chez le fournisseur."
        message = {"qualified": "Votre demande est confiée à notre technicien.",
                   "appointment_planned": "Le technicien passera demain matin.",
                   "resolved": "La réparation est faite."}.get(step, "")
        change_status(claim_id, step, actor=agent, public_message=message, **fields)


def _age(claim_id: int, days: int) -> None:
    """Move a demo claim back in time, deadline included (some end up past it)."""
    claim = db.session.get(Claim, claim_id)
    shift = timedelta(days=days)
    claim.created_at -= shift
    claim.due_at -= shift
    for event in claim.events:
        event.at -= shift
    db.session.commit()


def load_demo_claims(today: date) -> None:
    from plugins.claims.workflow import change_status, file_claim

    tenant, agent = _user("locataire"), _user("agent")
    technician = _user("technicien")
    if tenant is None or agent is None or tenant.person is None:
        return
    if db.session.scalar(select(Claim.id).where(Claim.idempotency_token == MARK)):
        return
    rng = random.Random(5)
    own = file_claim(tenant, place_id="kitchen", equipment_id="tap", problem_id="tap.drips",
                     description="Le robinet de l'évier goutte jour et nuit.",
                     answers=dict(ANSWERS), idempotency_token=MARK)
    _walk(own.id, PATHS[5], agent, technician)
    _age(own.id, 12)
    lift = file_claim(tenant, place_id="lift", equipment_id="lift",
                      problem_id="lift.out_of_order",
                      description="L'ascenseur est bloqué au 3e étage depuis hier soir.",
                      answers={**ANSWERS, "urgency": "cannot_wait", "since": "today"},
                      idempotency_token="demo-claims-0002")
    change_status(lift.id, "qualified", actor=agent)
    change_status(lift.id, "assigned", actor=agent, contractor="Ascenseurs du Midi",
                  public_message="L'ascensoriste intervient sous 24 heures.")

    # Neighbours: current tenants of the demo's dwellings, filed by the agent on the phone.
    leases = db.session.execute(
        select(Lease.household_id, Dwelling.id, Entrance.id, Building.id)
        .join(Dwelling, Dwelling.id == Lease.dwelling_id)
        .join(Entrance, Entrance.id == Dwelling.entrance_id)
        .join(Building, Building.id == Entrance.building_id)
        .where(Lease.end_date.is_(None)).order_by(Dwelling.id)).all()
    own_dwelling = db.session.get(Claim, own.id).dwelling_id
    others = [row for row in leases if row[1] != own_dwelling]
    for n, (_household, dwelling_id, _entrance, _building) in enumerate(
            rng.sample(others, min(24, len(others)))):
        place, equipment, problem, text = NEIGHBOURS[n % len(NEIGHBOURS)]
        claim = file_claim(agent, place_id=place, equipment_id=equipment, problem_id=problem,
                           description=text, answers=dict(ANSWERS), channel="phone",
                           dwelling_id=dwelling_id,
                           idempotency_token=f"demo-claims-{n + 100:04d}")
        _walk(claim.id, PATHS[n % len(PATHS)], agent, technician)
        _age(claim.id, rng.choice([0, 1, 2, 4, 9, 20, 45]))
    # "No heating" from three homes of one entrance, today: a collective incident to confirm.
    first_entrance = others[0][2]
    for n, row in enumerate([row for row in others if row[2] == first_entrance][:3]):
        file_claim(agent, place_id="living_room", equipment_id="radiator",
                   problem_id="radiator.no_heating",
                   description="Tous les radiateurs sont froids depuis cette nuit.",
                   answers={**ANSWERS, "urgency": "cannot_wait", "since": "today"},
                   channel="phone",
                   dwelling_id=row[1], idempotency_token=f"demo-claims-{n + 200:04d}")
