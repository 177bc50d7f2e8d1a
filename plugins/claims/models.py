"""Claims (réclamations) and their history.

A :class:`Claim` keeps the catalogue's wording, who pays, the legal reference, the priority and
the deadline *as they were when the claim was filed*, with the catalogue's version: an
administrator who edits the catalogue later changes what new claims say, never what an old one
said to its tenant. Each status change is a :class:`ClaimEvent`, with who made it, when, the
message the tenant reads and the note only staff read.
"""
from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.accounts import utcnow
from core.extensions import db

# Where the photos of a claim are filed in core.attachments.
PHOTO_OWNER_TYPE = "claims_claim"


def _enum(enum_class, length):
    return db.Enum(enum_class, native_enum=False, length=length,
                   values_callable=lambda members: [m.value for m in members])


class Status(str, enum.Enum):
    """Where a claim stands (see :mod:`plugins.claims.workflow` for the allowed moves)."""

    SUBMITTED = "submitted"                      # déposée
    ACKNOWLEDGED = "acknowledged"                # prise en compte
    QUALIFIED = "qualified"                      # qualifiée
    ASSIGNED = "assigned"                        # confiée (corps de métier, technicien, entreprise)
    APPOINTMENT_PLANNED = "appointment_planned"  # rendez-vous fixé
    POSTPONED = "postponed"                      # reportée
    IN_PROGRESS = "in_progress"                  # intervention en cours
    RESOLVED = "resolved"                        # résolue
    CLOSED = "closed"                            # clôturée
    REJECTED = "rejected"                        # refusée (e.g. à la charge du locataire)
    CANCELLED = "cancelled"                      # annulée par le locataire
    REOPENED = "reopened"                        # rouverte, à qualifier de nouveau

    @property
    def is_open(self) -> bool:
        return self not in (Status.CLOSED, Status.REJECTED, Status.CANCELLED)

    @property
    def deadline_runs(self) -> bool:
        """Whether the claim's deadline still counts: open and not yet resolved (a resolved
        claim waits for its closing, the repair is done)."""
        return self.is_open and self is not Status.RESOLVED


class EventKind(str, enum.Enum):
    """What a step of a claim's history is. Only ``status`` steps change the status; the others
    keep ``from_status == to_status`` (the status the claim had then)."""

    STATUS = "status"                  # a status change
    INFORMATION = "information"        # the tenant added information (text, photos)
    MESSAGE = "message"                # staff wrote to the tenant, without a status change
    NOTE = "note"                      # an internal note (staff only)
    RESPONSIBILITY = "responsibility"  # who pays was overridden, with a reason
    RATING = "rating"                  # the tenant rated the resolution
    INCIDENT = "incident"              # linked to (or unlinked from) a collective incident


class IncidentStatus(str, enum.Enum):
    """Where a collective incident (incident collectif) stands.

    Proposed by Palier when several claims look alike; an agent confirms or dismisses it. A
    confirmed incident carries its claims along: each step applied to the incident is applied
    to every open claim linked to it, so every tenant concerned hears about it.
    """

    PROPOSED = "proposed"      # proposé, à confirmer
    CONFIRMED = "confirmed"    # confirmé, en cours de traitement
    DISMISSED = "dismissed"    # écarté (the claims were not the same problem)
    RESOLVED = "resolved"      # résolu
    CLOSED = "closed"          # clôturé

    @property
    def is_open(self) -> bool:
        return self in (IncidentStatus.PROPOSED, IncidentStatus.CONFIRMED)


class FilingChannel(str, enum.Enum):
    """How the claim reached the landlord."""

    PORTAL = "portal"        # the tenant, on the portal
    CARETAKER = "caretaker"  # the caretaker, on their rounds
    PHONE = "phone"          # an agent, during a call
    AGENT = "agent"          # an agent, at the desk or from a letter


class ReferenceCounter(db.Model):
    """The last claim number of a year: ``RC-2026-000123`` is number 123 of 2026.

    The row is updated in the filing transaction, which locks it until the commit: two claims
    filed at once get two numbers, never the same one, on SQLite and PostgreSQL alike.
    """

    __tablename__ = "claims_reference_counter"
    __audit__ = False  # a counter, not an event: the claim's own record says what happened

    year: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    last_number: Mapped[int] = mapped_column(default=0)


class Claim(db.Model):
    """A claim (réclamation, demande d'intervention technique)."""

    __tablename__ = "claims_claim"
    __table_args__ = (
        # The tenant's list: their household's claims, newest first.
        Index("ix_claims_claim_household_created", "household_id", "created_at"),
        # The caretaker's list and collective incidents: a building's open claims.
        Index("ix_claims_claim_building_status", "building_id", "status"),
        # The agents' queue: an agency's claims by status and deadline.
        Index("ix_claims_claim_agency_status_due", "agency_id", "status", "due_at"),
        Index("ix_claims_claim_status_due", "status", "due_at"),
        # The queue sorted by age, for an agency or for everyone.
        Index("ix_claims_claim_agency_created", "agency_id", "created_at"),
        Index("ix_claims_claim_created", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Read out on the phone: RC-2026-000123.
    reference: Mapped[str] = mapped_column(String(20), unique=True)

    # Who and where. A claim about the common parts filed by a caretaker concerns nobody in
    # particular: no person, no household, no dwelling.
    person_id: Mapped[int | None] = mapped_column(
        ForeignKey("person.id", ondelete="SET NULL"), index=True)
    household_id: Mapped[int | None] = mapped_column(ForeignKey("household.id"))
    filed_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"), index=True)
    channel: Mapped[FilingChannel] = mapped_column(_enum(FilingChannel, 12))
    dwelling_id: Mapped[int | None] = mapped_column(ForeignKey("dwelling.id"), index=True)
    entrance_id: Mapped[int | None] = mapped_column(ForeignKey("entrance.id"), index=True)
    building_id: Mapped[int] = mapped_column(ForeignKey("building.id"))
    # Copied from the building's residence, so that the agents' queue filters on one table.
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))

    # What, as picked in the catalogue, and the catalogue's words and rules at filing time.
    catalogue_version: Mapped[str] = mapped_column(String(40))
    place_id: Mapped[str] = mapped_column(String(80))
    equipment_id: Mapped[str] = mapped_column(String(80))
    problem_id: Mapped[str] = mapped_column(String(120))
    # {"place": {"fr", "en"}, "equipment": {...}, "problem": {...}, "trade": {...},
    #  "safety": {...} or null}
    wording: Mapped[dict] = mapped_column(JSON)
    responsibility: Mapped[str] = mapped_column(String(24))
    legal_reference: Mapped[str] = mapped_column(String(500), default="")
    trade: Mapped[str] = mapped_column(String(40))
    priority: Mapped[str] = mapped_column(String(12))
    deadline_hours: Mapped[float]
    video_diagnosis: Mapped[bool] = mapped_column(default=False)

    # In the tenant's words, exactly as given.
    description: Mapped[str] = mapped_column(Text)
    # Since when, how urgent, access and availability (plugins.claims.filing.ANSWERS).
    answers: Mapped[dict] = mapped_column(JSON, default=dict)

    status: Mapped[Status] = mapped_column(_enum(Status, 24), default=Status.SUBMITTED)
    assigned_trade: Mapped[str | None] = mapped_column(String(40))
    assigned_technician_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"), index=True)
    assigned_contractor: Mapped[str | None] = mapped_column(String(200))
    # The planned visit (appointment planned, or the new date of a postponed one).
    planned_for: Mapped[datetime | None]
    # Filing time plus the catalogue's deadline (calendar hours).
    due_at: Mapped[datetime]
    # The collective incident this claim belongs to, once proposed or confirmed.
    incident_id: Mapped[int | None] = mapped_column(
        ForeignKey("claims_incident.id", ondelete="SET NULL"), index=True)
    # Who paid according to the catalogue, kept when an agent overrides ``responsibility``
    # (the reason is in the RESPONSIBILITY event).
    original_responsibility: Mapped[str | None] = mapped_column(String(24))
    # The tenant's rating of the resolution: 1 to 5 and a comment.
    rating: Mapped[int | None]
    rating_comment: Mapped[str] = mapped_column(Text, default="", server_default="")
    rated_at: Mapped[datetime | None]

    # The token of the confirmation that filed it: a confirmation sent twice files once.
    idempotency_token: Mapped[str | None] = mapped_column(String(64), unique=True)
    # Set when the person concerned was erased: description, answers and photos are gone.
    erased_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    events: Mapped[list[ClaimEvent]] = relationship(
        back_populates="claim", order_by="ClaimEvent.id", cascade="all, delete-orphan",
        passive_deletes=True)
    person = relationship("Person")
    dwelling = relationship("Dwelling")
    building = relationship("Building")

    def text(self, part: str, locale: str | None) -> str:
        """A snapshot wording (``place``, ``equipment``, ``problem``, ``trade``, ``safety``) in
        the reader's language: English for ``en*``, French otherwise."""
        value = (self.wording or {}).get(part) or {}
        language = "en" if (locale or "").lower().startswith("en") else "fr"
        return value.get(language) or value.get("fr") or ""

    def __repr__(self) -> str:
        return f"<Claim {self.reference} {self.status.value}>"


class ClaimEvent(db.Model):
    """One step of a claim's history: a status change, who made it and when, what the tenant
    is told (``public_message``, ``reason``) and what only staff see (``internal_note``)."""

    __tablename__ = "claims_claim_event"
    # The claim's own history, append-only; the audit log records each change separately
    # (without the free texts, which may name people and are erased with them).
    __audit__ = False

    id: Mapped[int] = mapped_column(primary_key=True)
    claim_id: Mapped[int] = mapped_column(
        ForeignKey("claims_claim.id", ondelete="CASCADE"), index=True)
    kind: Mapped[EventKind] = mapped_column(_enum(EventKind, 16), default=EventKind.STATUS,
                                            server_default=EventKind.STATUS.value)
    from_status: Mapped[Status | None] = mapped_column(_enum(Status, 24))
    to_status: Mapped[Status] = mapped_column(_enum(Status, 24))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    # None with the label "system" for what Palier does itself (the acknowledgement).
    actor_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"))
    actor_label: Mapped[str] = mapped_column(String(200), default="")
    # Why (a rejection, a postponement): shown to the tenant.
    reason: Mapped[str] = mapped_column(String(500), default="")
    public_message: Mapped[str] = mapped_column(Text, default="")
    internal_note: Mapped[str] = mapped_column(Text, default="")
    # The date planned by this step (an appointment, the new date of a postponement).
    planned_for: Mapped[datetime | None]

    claim: Mapped[Claim] = relationship(back_populates="events")

    def __repr__(self) -> str:
        origin = self.from_status.value if self.from_status else "-"
        return f"<ClaimEvent {self.claim_id} {origin}->{self.to_status.value}>"


class Incident(db.Model):
    """A collective incident (incident collectif): one problem of one equipment shared by the
    claims of an entrance or a building (no heating in staircase B, the lift out of order)."""

    __tablename__ = "claims_incident"
    __table_args__ = (
        # Detection: is there an open incident for this problem in this building?
        Index("ix_claims_incident_building_problem", "building_id", "equipment_id",
              "problem_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Read out on the phone like a claim's: IC-2026-000012.
    reference: Mapped[str | None] = mapped_column(String(20), unique=True)
    status: Mapped[IncidentStatus] = mapped_column(_enum(IncidentStatus, 16),
                                                   default=IncidentStatus.PROPOSED)
    # Where: a building, and the entrance when all the claims share one.
    building_id: Mapped[int] = mapped_column(ForeignKey("building.id"))
    entrance_id: Mapped[int | None] = mapped_column(ForeignKey("entrance.id"))
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"), index=True)
    # What, with the catalogue's wording at the first claim (as on a claim).
    equipment_id: Mapped[str] = mapped_column(String(80))
    problem_id: Mapped[str] = mapped_column(String(120))
    wording: Mapped[dict] = mapped_column(JSON)
    # The claims' status the incident last carried them to (see plugins.claims.incidents).
    stage: Mapped[Status | None] = mapped_column(_enum(Status, 24))
    # What tenants read about it (the latest public message).
    public_message: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    confirmed_at: Mapped[datetime | None]
    confirmed_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"))
    closed_at: Mapped[datetime | None]

    claims: Mapped[list[Claim]] = relationship(
        primaryjoin="Incident.id == foreign(Claim.incident_id)", viewonly=True,
        order_by="Claim.id")
    building = relationship("Building")
    entrance = relationship("Entrance")

    def text(self, part: str, locale: str | None) -> str:
        value = (self.wording or {}).get(part) or {}
        language = "en" if (locale or "").lower().startswith("en") else "fr"
        return value.get(language) or value.get("fr") or ""

    def __repr__(self) -> str:
        return f"<Incident {self.reference or self.id} {self.status.value}>"


class CatalogueVersion(db.Model):
    """One version of the claims catalogue, as an administrator saved it.

    ``source`` is the whole catalogue (TOML), checked before it is saved; the active version
    is the one activated last (none: the catalogue shipped with Palier). Claims name the
    version they were filed against and keep its wording, so editing never rewrites history.
    """

    __tablename__ = "claims_catalogue_version"
    # Saving and activating write their own audit events (who, which version, the previous
    # one); the row itself is never changed afterwards but for its activation time, and
    # copying its whole text (some 80 kB) into the log would say nothing more.
    __audit__ = False

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[str] = mapped_column(String(40), unique=True)
    source: Mapped[str] = mapped_column(Text)
    # {"places": n, "equipment": n, "problems": n}
    counts: Mapped[dict] = mapped_column(JSON, default=dict)
    note: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"))
    activated_at: Mapped[datetime | None] = mapped_column(index=True)

    def __repr__(self) -> str:
        return f"<CatalogueVersion {self.version}>"


MODELS = [ReferenceCounter, Claim, ClaimEvent, Incident, CatalogueVersion]
