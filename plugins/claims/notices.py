"""What claims tell tenants through the notifications plugin, when it is enabled.

Claims works without notifications: every function here does nothing when the plugin is off.
When it is on, a message is queued (``notify``) in the transaction of the change it reports,
so the claim's event and its message exist together or not at all. Short texts (SMS, voice,
phone script) carry a notice and a link only, never the claim's details.

The kinds of message are declared by :meth:`plugins.claims.ClaimsPlugin.register_notification_kinds`
(an optional hook implementation: ignored when notifications is off).
"""
from __future__ import annotations

from pathlib import Path

from flask import current_app
from flask_babel import force_locale, format_date, format_datetime
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from core.account_tokens import public_url
from core.accounts import User
from core.estate import Entrance
from core.extensions import db
from core.plugins import registry
from plugins.claims.models import Claim, ClaimEvent, FilingChannel
from plugins.claims.wording import CHANNEL_LABELS, next_steps, responsibility_label, status_label

MESSAGES = Path(__file__).resolve().parent / "messages"
ACKNOWLEDGED = "claims.acknowledged"
STATUS_CHANGED = "claims.status_changed"
POSTPONED = "claims.postponed"
MESSAGE = "claims.message"
# Until the tenant's claim page exists, links lead to the portal's home.
LINK_ENDPOINT = "portal.home"
DATETIME_FORMAT = "d MMMM y, HH:mm"

_SAMPLE = {"reference": "RC-2026-000123", "problem": "Le robinet fuit",
           "link": "https://palier.example/portal/"}


def message_kinds() -> list:
    """The kinds of message claims sends (imported only when notifications is enabled)."""
    from plugins.notifications.kinds import MessageKind

    common = {"reference": _l("the claim's reference (RC-2026-000123)"),
              "problem": _l("what is wrong, in the catalogue's words")}
    return [
        MessageKind(
            name=ACKNOWLEDGED,
            label=_l("Your claims: acknowledgement"),
            templates=str(MESSAGES / "acknowledged"),
            variables={**common,
                       "place": _l("where the problem is"),
                       "equipment": _l("the equipment concerned"),
                       "responsibility": _l("who pays for the repair"),
                       "legal_reference": _l("the legal text that says who pays"),
                       "due": _l("the date by which the landlord intervenes"),
                       "next_steps": _l("what happens next, one step per line")},
            sample={**_SAMPLE, "place": "Cuisine", "equipment": "Robinetterie",
                    "responsibility": "À la charge du locataire",
                    "legal_reference": "Décret 87-712, annexe, IV-a",
                    "due": "6 mars 2026",
                    "next_steps": "- Un chargé de clientèle vérifie votre réclamation."},
            attachments=acknowledgement_documents,
        ),
        MessageKind(
            name=STATUS_CHANGED,
            label=_l("Your claims: progress"),
            templates=str(MESSAGES / "status_changed"),
            variables={**common,
                       "status": _l("the claim's new status"),
                       "public_message": _l("the landlord's message to the tenant (may be "
                                            "empty)"),
                       "reason": _l("why (a rejection), may be empty"),
                       "planned_for": _l("the planned visit, may be empty")},
            sample={**_SAMPLE, "status": "Rendez-vous fixé",
                    "public_message": "Le plombier passera mardi matin.", "reason": "",
                    "planned_for": "10 mars 2026, 09:00"},
        ),
        MessageKind(
            name=POSTPONED,
            label=_l("Your claims: postponed interventions"),
            templates=str(MESSAGES / "postponed"),
            variables={**common,
                       "new_date": _l("the new date of the intervention"),
                       "reason": _l("why it was postponed"),
                       "public_message": _l("the landlord's message to the tenant (may be "
                                            "empty)")},
            sample={**_SAMPLE, "new_date": "12 mars 2026, 14:00",
                    "reason": "La pièce commandée n’est pas arrivée.", "public_message": ""},
        ),
        MessageKind(
            name=MESSAGE,
            label=_l("Your claims: messages from your landlord"),
            templates=str(MESSAGES / "message"),
            variables={**common,
                       "public_message": _l("the landlord's message to the tenant (may be "
                                            "empty when who pays changed)"),
                       "responsibility": _l("who pays for the repair now, when it changed "
                                            "(empty otherwise)"),
                       "legal_reference": _l("the legal text that says who pays, when it "
                                             "changed"),
                       "reason": _l("why who pays changed, may be empty")},
            sample={**_SAMPLE, "public_message": "Le plombier vous appellera demain.",
                    "responsibility": "", "legal_reference": "", "reason": ""},
        ),
    ]


def notifications_enabled(app=None) -> bool:
    info = registry(app).plugins.get("notifications")
    return info is not None and info.enabled


def locale_for(person_id: int | None) -> str:
    """The tenant's language: their account's, else the landlord's first language."""
    languages = current_app.config["LANGUAGES"]
    if person_id is not None:
        chosen = db.session.scalar(select(User.locale).where(User.person_id == person_id)
                                   .limit(1))
        if chosen in languages:
            return chosen
    return languages[0]


def claim_link(claim: Claim) -> str:
    """Where the tenant follows the claim (the portal's home until the claim page exists)."""
    return public_url(LINK_ENDPOINT)


def _when(moment) -> str:
    return format_datetime(moment, DATETIME_FORMAT) if moment is not None else ""


def _send(claim: Claim, event: ClaimEvent, kind: str, build) -> None:
    if claim.person is None or not notifications_enabled():
        return
    from plugins.notifications import notify

    locale = locale_for(claim.person_id)
    with force_locale(locale):
        context = {"claim_id": claim.id, "reference": claim.reference,
                   "problem": claim.text("problem", locale), "link": claim_link(claim),
                   **build(locale)}
    notify(claim.person, kind, context, event=f"claim:{claim.id}:{event.id}", obj=claim,
           locale=locale)


def acknowledge(claim: Claim, event: ClaimEvent) -> None:
    """Queue the acknowledgement (with its PDF on mail and letter)."""
    def build(locale):
        return {"place": claim.text("place", locale),
                "equipment": claim.text("equipment", locale),
                "responsibility": responsibility_label(claim.responsibility),
                "legal_reference": claim.legal_reference,
                "due": format_date(claim.due_at, "long"),
                "next_steps": "\n".join(f"- {step}" for step in next_steps(claim.responsibility))}

    _send(claim, event, ACKNOWLEDGED, build)


def status_changed(claim: Claim, event: ClaimEvent) -> None:
    """Queue the news of a change: the public message and reason, never the internal note."""
    def build(_locale):
        return {"status": status_label(event.to_status), "public_message": event.public_message,
                "reason": event.reason, "planned_for": _when(event.planned_for)}

    _send(claim, event, STATUS_CHANGED, build)


def postponed(claim: Claim, event: ClaimEvent) -> None:
    """Queue the news of a postponed intervention: the new date and why."""
    def build(_locale):
        return {"new_date": _when(event.planned_for), "reason": event.reason,
                "public_message": event.public_message}

    _send(claim, event, POSTPONED, build)


# -- the acknowledgement as a document ---------------------------------------------------------

def _address_lines(claim: Claim) -> list[str]:
    if claim.dwelling is not None:
        return claim.dwelling.address_lines
    building = claim.building
    residence = building.residence
    entrance = db.session.get(Entrance, claim.entrance_id) if claim.entrance_id else None
    where = ", ".join(part for part in (residence.name, building.name,
                                        entrance.name if entrance else "") if part)
    return [where, building.street, f"{residence.postcode} {residence.city}"]


def acknowledgement_context(claim: Claim, locale: str) -> dict:
    """What the acknowledgement says, as plain text in ``locale`` (for the PDF)."""
    with force_locale(locale):
        return {
            "reference": claim.reference,
            "filed_on": _when(claim.created_at),
            "filed_day": claim.created_at.date().isoformat(),
            "channel": str(CHANNEL_LABELS[FilingChannel(claim.channel)]),
            "recipient_name": claim.person.full_name if claim.person is not None else "",
            "address_lines": _address_lines(claim),
            "place": claim.text("place", locale),
            "equipment": claim.text("equipment", locale),
            "problem": claim.text("problem", locale),
            "description": claim.description if claim.erased_at is None
            else _("(erased at the request of the person concerned)"),
            "responsibility": responsibility_label(claim.responsibility),
            "legal_reference": claim.legal_reference,
            "due": format_date(claim.due_at, "long"),
            "safety": claim.text("safety", locale),
            "next_steps": next_steps(claim.responsibility),
            "link": claim_link(claim),
        }


def acknowledgement_pdf(claim: Claim, locale: str) -> bytes:
    """The acknowledgement of ``claim`` as a PDF, in ``locale``.

    Reads what it needs, then ends the read transaction before WeasyPrint works, so that no
    lock is held while the document renders.
    """
    from core.pdf import render_pdf

    context = acknowledgement_context(claim, locale)
    db.session.commit()
    return render_pdf("claims/pdf/acknowledgement.html", locale=locale, **context)


def acknowledgement_documents(context: dict, locale: str) -> list:
    """``MessageKind.attachments`` of the acknowledgement: its PDF, made when it leaves."""
    from plugins.notifications.channels import Attachment

    claim = db.session.get(Claim, context.get("claim_id"))
    if claim is None:
        return []
    with force_locale(locale):
        filename = _("acknowledgement-%(reference)s.pdf", reference=claim.reference)
    return [Attachment(filename, acknowledgement_pdf(claim, locale), "application/pdf")]


# -- staff's messages and who pays (plugins.claims.handling) -----------------------------------

def message_posted(claim: Claim, event: ClaimEvent) -> None:
    """Queue a message staff wrote to the tenant, without a change of status."""
    def build(_locale):
        return {"public_message": event.public_message, "responsibility": "",
                "legal_reference": "", "reason": ""}

    _send(claim, event, MESSAGE, build)


def responsibility_changed(claim: Claim, event: ClaimEvent) -> None:
    """Queue the news that who pays changed: who pays now, the legal reference and why."""
    def build(_locale):
        return {"public_message": event.public_message,
                "responsibility": responsibility_label(claim.responsibility),
                "legal_reference": claim.legal_reference, "reason": event.reason}

    _send(claim, event, MESSAGE, build)
