"""Claims tell tenants through notifications when it is enabled, and work without it."""
from __future__ import annotations

import io
from datetime import datetime

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from core.extensions import db
from plugins.claims.models import Claim, Status
from plugins.claims.tests.conftest import run_worker


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def flat(text: str) -> str:
    """One line; a word broken at its hyphen at the end of a line joined again."""
    return " ".join(text.split()).replace("- ", "-")


def test_the_acknowledgement_reaches_the_tenant_with_its_pdf(notified_app, make_tenant, file,
                                                            smtp_server):
    tenant = make_tenant(locale="en")
    claim_id = file(tenant, description="The kitchen tap drips <b>day</b> and night.")
    with notified_app.app_context():
        claim = db.session.get(Claim, claim_id)
        reference, legal = claim.reference, claim.legal_reference
    assert smtp_server.messages == []  # queued with the claim, sent by the worker
    run_worker(notified_app)

    assert len(smtp_server.messages) == 1
    mail = smtp_server.messages[0]
    assert mail["To"] == tenant.email
    assert reference in mail["Subject"]
    body = mail.get_body(("plain",)).get_content()
    assert "Charged to the tenant" in body and legal in flat(body)
    assert "http://localhost/portal/" in body
    [attachment] = list(mail.iter_attachments())
    assert attachment.get_content_type() == "application/pdf"
    assert reference in attachment.get_filename()
    text = flat(pdf_text(attachment.get_content()))
    assert reference in text
    assert "Charged to the tenant" in text
    assert flat(legal) in text
    assert "The kitchen tap drips <b>day</b> and night." in text  # as typed, as text
    assert "What happens next" in text


def test_status_changes_reach_the_tenant_with_public_words_only(notified_app, make_tenant,
                                                               make_user, file, move,
                                                               smtp_server):
    tenant = make_tenant(locale="en")
    agent = make_user("agent")
    claim_id = file(tenant)
    move(claim_id, "qualified", agent, public_message="A plumber will call you.",
         internal_note="Tenant was rude on the phone.")
    for status in ("assigned", "appointment_planned"):
        move(claim_id, status, agent, planned_for=datetime(2026, 3, 10, 8, 0))
    move(claim_id, "postponed", agent, planned_for=datetime(2026, 3, 12, 13, 0),
         reason="The spare part has not arrived.")
    run_worker(notified_app)

    subjects = [mail["Subject"] for mail in smtp_server.messages]
    assert len(subjects) == 5
    bodies = {mail["Subject"]: mail.get_body(("plain",)).get_content()
              for mail in smtp_server.messages}
    qualified = next(body for subject, body in bodies.items() if subject.endswith("Qualified"))
    assert "A plumber will call you." in qualified
    assert all("rude" not in body for body in bodies.values())
    planned = next(b for s, b in bodies.items() if s.endswith("Appointment planned"))
    assert "10 March 2026, 09:00" in planned  # Paris time
    postponed = next(b for s, b in bodies.items() if "postponed" in s.lower())
    assert "12 March 2026, 14:00" in postponed
    assert "The spare part has not arrived." in postponed
    # Only the acknowledgement carries the PDF.
    assert sum(1 for mail in smtp_server.messages if list(mail.iter_attachments())) == 1


def test_short_texts_carry_a_notice_and_a_link_only(notified_app):
    from plugins.notifications.kinds import kinds
    from plugins.notifications.texts import render

    details = {"reference": "RC-2026-000123", "problem": "Le robinet fuit",
               "public_message": "Le plombier passe mardi", "reason": "Pièce manquante",
               "new_date": "12 mars 2026", "status": "Reportée",
               "link": "https://palier.example/portal/"}
    with notified_app.app_context():
        for name in ("claims.acknowledged", "claims.status_changed", "claims.postponed"):
            for locale in ("fr", "en"):
                text = render(kinds()[name], "sms", locale, details).body
                assert "https://palier.example/portal/" in text
                for secret in ("RC-2026", "robinet", "plombier", "Pièce", "12 mars"):
                    assert secret not in text, (name, locale, text)


def test_the_acknowledgement_letter_encloses_its_pdf(make_app, make_tenant, file):
    from plugins.notifications.letters import letter_path, local_today
    from plugins.notifications.models import Message

    app = make_app(plugins=["notifications", "claims"], NOTIFICATIONS_CHANNELS=["letter"])
    tenant = make_tenant(locale="en")
    claim_id = file(tenant)
    run_worker(app)
    with app.app_context():
        message = db.session.scalar(select(Message))
        assert (message.channel, message.status.value) == ("letter", "sent")
        reference = db.session.get(Claim, claim_id).reference
        pdf = letter_path(local_today(app.config), message.id).read_bytes()
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) >= 2  # the letter, then the acknowledgement
    first, rest = flat(reader.pages[0].extract_text()), flat(pdf_text(pdf))
    assert reference in first
    assert "Acknowledgement of your claim" in rest and "Charged to the tenant" in rest


def test_claims_work_with_notifications_disabled(claims_app, make_tenant, make_user, file,
                                                 move):
    from core.plugins import registry

    assert not registry(claims_app).plugins["notifications"].enabled
    tenant = make_tenant()
    claim_id = file(tenant)
    move(claim_id, "qualified", make_user("agent"), public_message="Bien reçu.")
    with claims_app.app_context():
        claim = db.session.get(Claim, claim_id)
        assert claim.status is Status.QUALIFIED
        assert len(claim.events) == 3


def test_the_kinds_are_declared_only_with_notifications(notified_app, claims_app):
    from plugins.notifications.kinds import kinds

    with notified_app.app_context():
        assert {"claims.acknowledged", "claims.status_changed", "claims.postponed"} <= \
            set(kinds())
    assert "palier.notifications.kinds" not in claims_app.extensions


@pytest.mark.parametrize("locale", ["fr", "en"])
def test_every_message_text_renders_with_its_sample(notified_app, locale):
    from plugins.notifications.kinds import kinds
    from plugins.notifications.texts import render

    with notified_app.app_context():
        for name in ("claims.acknowledged", "claims.status_changed", "claims.postponed"):
            kind = kinds()[name]
            for channel in ("mail", "sms"):
                text = render(kind, channel, locale,
                              {**kind.sample, "recipient_name": "Mme Camille Martin"})
                assert text.body.strip()
                if channel == "mail":
                    assert "RC-2026-000123" in text.subject
