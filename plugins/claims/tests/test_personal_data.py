"""A tenant's claims in their data download; erasing them keeps the claims, not the person."""
from __future__ import annotations

import io
import json
import zipfile

from sqlalchemy import func, select

from core.accounts import User
from core.attachments import Attachment
from core.audit import verify_chain
from core.estate import Person
from core.extensions import db
from core.personal_data import erase_person, export_person
from core.testing.traces import occurrences
from plugins.claims.models import PHOTO_OWNER_TYPE, Claim, ClaimEvent, Status
from plugins.claims.tests.conftest import ANSWERS, run_worker
from plugins.claims.tests.test_workflow import jpeg

MARKER = "zq7claimmark"


def planted_claims(make_tenant, make_user, file, move, caretaker_photo=None):
    """A tenant whose marker is in their claims: description, answers, photos, the history's
    texts and the name of the author of a step."""
    tenant = make_tenant(first_name=MARKER.capitalize(), last_name="Testeur")
    agent = make_user("agent")
    first = file(tenant, description=f"Fuite chez {MARKER}, au-dessus de l’évier.",
                 answers={**ANSWERS, "availability": f"Appeler {MARKER} avant"},
                 photos=[jpeg()])
    move(first, "qualified", agent, public_message=f"Bonjour {MARKER}",
         internal_note=f"{MARKER} absent le lundi")
    move(first, "rejected", agent, reason=f"Dégât causé par {MARKER}")
    second = file(tenant)
    move(second, "cancelled", tenant)
    return tenant, first, second


def test_the_download_holds_the_persons_claims_and_their_history(claims_app, make_tenant,
                                                                 make_user, file, move):
    tenant, first, second = planted_claims(make_tenant, make_user, file, move)
    with claims_app.test_request_context():
        person = db.session.get(Person, db.session.get(User, tenant.id).person_id)
        archive = zipfile.ZipFile(io.BytesIO(export_person(person)))
        db.session.commit()
    data = json.loads(archive.read("donnees.json"))
    claims = {c["reference"]: c for c in data["reclamations"]}
    assert len(claims) == 2
    with claims_app.app_context():
        claim = claims[db.session.get(Claim, first).reference]
    assert MARKER in claim["description"]
    assert claim["reponses"]["availability"] == f"Appeler {MARKER} avant"
    assert claim["probleme"].startswith("Le robinet goutte")
    assert claim["prise_en_charge"] == "tenant" and claim["reference_legale"]
    assert [step["vers"] for step in claim["historique"]] == \
        ["submitted", "acknowledged", "qualified", "rejected"]
    assert claim["historique"][2]["message"] == f"Bonjour {MARKER}"
    # The photo is in the archive, as the core adds every file about the person.
    assert any(name.startswith("fichiers/") for name in archive.namelist())


def test_erasing_the_person_keeps_their_claims_without_them(notified_app, make_tenant,
                                                            make_user, file, move):
    tenant, first, second = planted_claims(make_tenant, make_user, file, move)
    with notified_app.app_context():  # a photo taken by someone else, about their home
        from core.attachments import store_image

        store_image(jpeg(), owner_type=PHOTO_OWNER_TYPE, owner_id=first, person_id=None,
                    uploaded_by=None, filename="chauffe-eau.jpg")
        db.session.commit()
    run_worker(notified_app)
    assert len(occurrences(notified_app, MARKER)) >= 5  # the marker really is everywhere

    with notified_app.test_request_context():
        erase_person(db.session.get(Person, db.session.get(User, tenant.id).person_id))

    assert occurrences(notified_app, MARKER) == []
    with notified_app.app_context():
        claim = db.session.get(Claim, first)
        # The estate's history stays: what, where, when, who pays, how it ended.
        assert claim.reference.startswith("RC-") and claim.problem_id == "tap.drips"
        assert claim.status is Status.REJECTED and claim.erased_at is not None
        assert (claim.description, claim.answers) == ("", {})
        assert [e.to_status for e in claim.events] == [
            Status.SUBMITTED, Status.ACKNOWLEDGED, Status.QUALIFIED, Status.REJECTED]
        assert db.session.scalar(select(func.count(Attachment.id)).where(
            Attachment.owner_type == PHOTO_OWNER_TYPE)) == 0
        assert db.session.scalar(select(func.count(ClaimEvent.id)).where(
            ClaimEvent.claim_id == second)) == 3
        assert verify_chain().ok, verify_chain().problem
