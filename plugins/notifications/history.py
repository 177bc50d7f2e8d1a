"""Messages in a person's history: the timeline, the data export and the erasure."""
from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, or_, select

from core.contributions import TimelineEntry
from core.extensions import db
from plugins.notifications.kinds import kinds
from plugins.notifications.models import Message, OptOut, Preference, Profile, Status

STATUS_LABELS = {
    Status.QUEUED: _l("waiting to be sent"),
    Status.SENDING: _l("being sent"),
    Status.SENT: _l("sent"),
    Status.DELIVERED: _l("delivered"),
    Status.FAILED: _l("could not be sent"),
    Status.BOUNCED: _l("returned undelivered"),
    Status.CANCELLED: _l("cancelled"),
}

# The timeline shows at most this many messages (the newest).
TIMELINE_LIMIT = 200


def status_label(status: Status | str) -> str:
    return str(STATUS_LABELS.get(Status(status), status))


def kind_label(name: str) -> str:
    kind = kinds().get(name)
    return str(kind.label) if kind is not None else name


def tenant_status_text(message: Message) -> str:
    """What a tenant reads about one message in their history: its state, in words that fit
    its channel, and where it went (the address masked)."""
    from plugins.notifications.channels import registry
    from plugins.notifications.preferences import shown_address

    if message.channel == "phone":
        state = {
            Status.QUEUED: _("We will call you."),
            Status.SENDING: _("We will call you."),
            Status.SENT: _("An adviser will call you."),
            Status.DELIVERED: _("We called you."),
        }.get(message.status, _("We could not reach you by phone."))
    else:
        state = _("Message %(status)s.", status=status_label(message.status))
    cls = registry().classes.get(message.channel)
    if cls is None or cls.address_kind == "postal" or not message.address:
        return state
    return _("%(state)s Address used: %(address)s.", state=state,
             address=shown_address(cls.address_kind, message.address))


def timeline_entries(person, since):
    query = (select(Message).where(Message.person_id == person.id)
             .order_by(Message.created_at.desc()).limit(TIMELINE_LIMIT))
    if since is not None:
        query = query.where(Message.created_at >= since)
    entries = []
    for message in db.session.scalars(query):
        title = message.sent_subject or kind_label(message.kind)
        entries.append(TimelineEntry(message.sent_at or message.created_at, title,
                                     tenant_status_text(message), channel=message.channel))
    return entries


def personal_data(person):
    messages = db.session.scalars(select(Message).where(Message.person_id == person.id)
                                  .order_by(Message.created_at)).all()
    preferences = db.session.scalars(select(Preference).where(
        Preference.person_id == person.id)).all()
    profile = db.session.get(Profile, person.id)
    return {
        "messages": [{"type": m.kind, "canal": m.channel, "adresse": m.address,
                      "etat": m.status.value, "cree_le": m.created_at, "envoye_le": m.sent_at,
                      "objet": m.sent_subject, "texte": m.sent_text,
                      "historique": [{"date": e.at, "etat": e.status, "detail": e.detail}
                                     for e in m.events]}
                     for m in messages],
        "preferences_messages": {p.kind: p.channel for p in preferences},
        "besoins_accessibilite": None if profile is None else {
            "sans_smartphone": profile.no_smartphone,
            "deficience_visuelle": profile.visual_impairment},
    }


def erase_personal_data(person):
    """Messages (their payloads and proofs), preferences, needs and opt-outs of the person's
    addresses go; nothing queued for them is sent afterwards."""
    addresses = [a for a in (person.email, person.phone) if a]
    _erase_letters(person)
    db.session.execute(delete(Message).where(Message.person_id == person.id)
                       .execution_options(synchronize_session=False))
    db.session.execute(delete(Preference).where(Preference.person_id == person.id))
    db.session.execute(delete(Profile).where(Profile.person_id == person.id))
    if addresses:
        db.session.execute(delete(OptOut).where(or_(*(OptOut.address == a for a in addresses))))


def messages_about(object_type: str, object_id: int, person_id: int | None = None
                   ) -> list[Message]:
    """The messages about one object (a claim, an appointment), oldest first, for its page.

    ``object_type`` is the object's table name, as :func:`plugins.notifications.notify` keeps
    it from ``obj``. A tenant's page passes ``person_id``: only the messages sent to them (not
    the fax to the contractor about the same claim).
    """
    query = select(Message).where(Message.object_type == object_type,
                                  Message.object_id == object_id)
    if person_id is not None:
        query = query.where(Message.person_id == person_id)
    return list(db.session.scalars(query.order_by(Message.created_at, Message.id)))


def _erase_letters(person) -> None:
    """The person's stored letters go, and so does any assembled print batch holding one of
    them: staff rebuild it (``palier notify print-batch --day``) without the erased letter."""
    from plugins.notifications.letters import letter_path, letters_folder
    from plugins.notifications.models import PrintBatch

    rows = db.session.execute(
        select(Message.id, PrintBatch.id, PrintBatch.day, PrintBatch.filename)
        .join(PrintBatch, Message.batch_id == PrintBatch.id)
        .where(Message.person_id == person.id)).all()
    for message_id, batch_id, day, filename in rows:
        letter_path(day, message_id).unlink(missing_ok=True)
        if filename:
            (letters_folder() / filename).unlink(missing_ok=True)
            db.session.get(PrintBatch, batch_id).filename = None
