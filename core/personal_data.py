"""Personal data (RGPD): what a tenant may download, and erasing a person.

Every plugin takes part through two hooks: ``personal_data(person)`` adds its sections to the
export, ``erase_personal_data(person)`` deletes (or pseudonymises) what it keeps about the
person. The core's own part lives in ``core.defaults``.

Erasing keeps what the law requires to keep — the lease and its household, the estate — but
pseudonymises the person in it; everything else that names them goes: accounts, one-time
tokens, attachments and their files, mail kept in the local mailbox, and the content of the
audit events about them (their place in the hash chain stays, and a ``person_erased`` event
lists the events blanked, so ``palier audit verify`` still checks the whole log).
"""
from __future__ import annotations

import io
import json
import zipfile
from datetime import date, datetime, timezone

from flask import current_app
from sqlalchemy import select

from core import audit
from core.accounts import User
from core.attachments import Attachment, open_attachment
from core.db import forget_old_pages
from core.estate import Person
from core.extensions import db
from core.mail import forget_mail_to
from core.plugins import hook

ERASED_NAME = "Personne effacée"


def _json_default(value):
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not exportable")


def export_person(person: Person) -> bytes:
    """A zip: ``donnees.json`` (every plugin's sections) and the person's files."""
    sections: dict = {}
    for contribution in hook().personal_data(person=person):
        for name, value in (contribution or {}).items():
            if name in sections:
                raise RuntimeError(f"Two plugins export a section named {name!r}.")
            sections[name] = value
    document = {"exported_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "landlord": current_app.config["LANDLORD_NAME"], **sections}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("donnees.json", json.dumps(document, ensure_ascii=False, indent=2,
                                                    default=_json_default))
        attachments = db.session.scalars(
            select(Attachment).where(Attachment.person_id == person.id)).all()
        for attachment in attachments:
            with open_attachment(attachment) as stream:
                archive.writestr(f"fichiers/{attachment.id}-{attachment.original_name}",
                                 stream.read())
    audit.record("export_personal_data", obj=person)
    return buffer.getvalue()


def erase_person(person: Person) -> int:
    """Erase ``person`` everywhere; returns how many audit events were blanked. Commits."""
    user_ids = list(db.session.scalars(select(User.id).where(User.person_id == person.id)))
    emails = {e for e in [person.email, *db.session.scalars(
        select(User.email).where(User.id.in_(user_ids)))] if e}
    names = [n for n in (f"{person.first_name} {person.last_name}".strip(),) if n.strip()]
    hook().erase_personal_data(person=person)
    person.civility, person.first_name = "", ""
    person.last_name = f"{ERASED_NAME} n° {person.id}"
    person.email = person.phone = None
    person.erased_at = datetime.now(timezone.utc).replace(tzinfo=None)
    db.session.flush()
    forget_mail_to(emails, names)
    blanked = audit.erase_person_events(person.id, user_ids, emails)
    db.session.commit()
    forget_old_pages(db.engine)
    return blanked
