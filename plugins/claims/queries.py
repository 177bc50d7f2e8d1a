"""Which claims a user may see, asked as a query filter (never "may they see this one?").

Every list, every page and every change selects claims through :func:`claims_visible_to`, so
a claim a user may not see is simply not found: a tenant who types another household's claim
number gets the same 404 as for a claim that does not exist.
"""
from __future__ import annotations

from sqlalchemy import false, select, true

from core.accounts import Role
from core.estate import CaretakerAssignment, Person
from plugins.claims.models import Claim


def claims_visible_to(user):
    """An SQLAlchemy criterion on :class:`Claim`: the claims ``user`` may see.

    - tenants: their household's claims (all of them, whoever in the household filed them);
    - caretakers (gardiens): the claims of the buildings assigned to them;
    - technicians: the claims assigned to them;
    - customer agents (chargés de clientèle): their agency's claims. An agent attached to no
      agency works for the whole landlord (a customer relation centre) and sees every claim;
    - managers and administrators: every claim;
    - everyone else (committee members), and anonymous visitors: none.
    """
    if user is None or not getattr(user, "is_authenticated", False):
        return false()
    role = user.role
    if role is Role.TENANT:
        if user.person_id is None:
            return false()
        household = select(Person.household_id).where(
            Person.id == user.person_id, Person.household_id.is_not(None)).scalar_subquery()
        return Claim.household_id == household
    if role is Role.CARETAKER:
        return Claim.building_id.in_(select(CaretakerAssignment.building_id).where(
            CaretakerAssignment.user_id == user.id))
    if role is Role.TECHNICIAN:
        return Claim.assigned_technician_id == user.id
    if role is Role.AGENT:
        return Claim.agency_id == user.agency_id if user.agency_id is not None else true()
    if role in (Role.MANAGER, Role.ADMIN):
        return true()
    return false()


def visible_claims(user):
    """``select(Claim)`` limited to what ``user`` may see, to refine (``.where(...)``)."""
    return select(Claim).where(claims_visible_to(user))
