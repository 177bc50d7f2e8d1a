"""A person's claims in their data download, and what erasing the person leaves of them.

Claims stay after the person is erased: they are part of the estate's history (what broke,
where, when, who repaired it, who paid). What the person said and showed goes: the
description, the answers to the questions, the photos, and every free text of the claim's
history (public messages, reasons, internal notes), which may quote or describe them.
"""
from __future__ import annotations

from sqlalchemy import or_, select, update

from core.accounts import User, utcnow
from core.attachments import Attachment, delete_attachment
from core.extensions import db
from plugins.claims.models import PHOTO_OWNER_TYPE, Claim, ClaimEvent


def personal_data(person) -> dict:
    claims = db.session.scalars(select(Claim).where(Claim.person_id == person.id)
                                .order_by(Claim.created_at)).all()
    return {"reclamations": [{
        "reference": claim.reference,
        "deposee_le": claim.created_at,
        "canal": claim.channel.value,
        "logement": claim.dwelling.reference if claim.dwelling is not None else None,
        "batiment": claim.building.reference,
        "lieu": claim.text("place", "fr"),
        "equipement": claim.text("equipment", "fr"),
        "probleme": claim.text("problem", "fr"),
        "prise_en_charge": claim.responsibility,
        "reference_legale": claim.legal_reference,
        "version_catalogue": claim.catalogue_version,
        "description": claim.description,
        "reponses": claim.answers,
        "etat": claim.status.value,
        "intervention_avant": claim.due_at,
        "date_prevue": claim.planned_for,
        "prise_en_charge_du_catalogue": claim.original_responsibility,
        "incident_collectif": claim.incident_id,
        "note_de_satisfaction": claim.rating,
        "commentaire_de_satisfaction": claim.rating_comment,
        "notee_le": claim.rated_at,
        "historique": [{"date": event.at, "type": event.kind.value, "de": event.from_status.value
                        if event.from_status else None, "vers": event.to_status.value,
                        "par": event.actor_label, "motif": event.reason,
                        "message": event.public_message, "note_interne": event.internal_note,
                        "date_prevue": event.planned_for}
                       for event in claim.events],
    } for claim in claims]}


def erase_personal_data(person) -> None:
    """Pseudonymise the person's claims (no commit: the core's erasure commits)."""
    claim_ids = list(db.session.scalars(select(Claim.id).where(Claim.person_id == person.id)))
    user_ids = list(db.session.scalars(select(User.id).where(User.person_id == person.id)))
    if claim_ids:
        # Photos about the person are deleted by the core (their person_id); these are the
        # others filed with the claim (taken by a caretaker, say): they show the person's home.
        for attachment in db.session.scalars(select(Attachment).where(
                Attachment.owner_type == PHOTO_OWNER_TYPE, Attachment.owner_id.in_(claim_ids),
                or_(Attachment.person_id.is_(None), Attachment.person_id != person.id))).all():
            delete_attachment(attachment)
        for claim in db.session.scalars(select(Claim).where(Claim.id.in_(claim_ids))):
            claim.description = ""
            claim.answers = {}
            claim.rating_comment = ""
            claim.erased_at = utcnow()
        db.session.execute(update(ClaimEvent).where(ClaimEvent.claim_id.in_(claim_ids))
                           .values(reason="", public_message="", internal_note="")
                           .execution_options(synchronize_session=False))
    if user_ids:
        # Their name as the author of a step (a cancellation), on any claim.
        db.session.execute(update(ClaimEvent).where(ClaimEvent.actor_id.in_(user_ids))
                           .values(actor_label="").execution_options(synchronize_session=False))
