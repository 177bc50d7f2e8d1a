"""A tenant's contact preferences: which channel for each kind of message, and the
accessibility needs that steer the messages they left to us.

The rules that turn these into channels stay in :func:`plugins.notifications.outbox.
choose_channels`; this module says what a person may choose (the kinds' channels that are
switched on and for which we hold their address), what they chose, and saves a new choice in
one transaction with its audit event.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select

from core import audit
from core.contributions import CHANNEL_LABELS
from core.estate import Person
from core.extensions import db
from plugins.notifications.channels import registry
from plugins.notifications.kinds import MessageKind, kinds
from plugins.notifications.models import Preference, Profile
from plugins.notifications.outbox import choose_channels, contacts_of

# The radio button of "no preference": the rules of ``choose_channels`` decide.
NO_PREFERENCE = ""


def mask_email(address: str) -> str:
    """An e-mail address as shown on a page: its first character and its domain
    (``c•••@example.org``), enough for its owner to recognise it."""
    local, _, domain = address.partition("@")
    return f"{local[:1]}•••@{domain}" if domain else "•••"


def phone_ending(number: str) -> str:
    """The last two digits of a phone number (``42``)."""
    digits = re.sub(r"\D", "", number)
    return digits[-2:]


def shown_address(address_kind: str, address: str) -> str:
    """An address as its owner sees it on a page: e-mail masked, phone and fax numbers by
    their ending, the postal address on one line (it is their own home)."""
    from flask_babel import gettext as _

    if address_kind == "email":
        return mask_email(address)
    if address_kind in ("phone", "fax"):
        return _("number ending in %(digits)s", digits=phone_ending(address))
    return ", ".join(line for line in address.splitlines() if line.strip())


def channel_label(name: str) -> str:
    """What people call a channel (``e-mail``, ``phone call``)."""
    if name in CHANNEL_LABELS:
        return str(CHANNEL_LABELS[name])
    cls = registry().classes.get(name)
    return str(cls.label) if cls is not None and cls.label else name


@dataclass(frozen=True)
class ChannelOption:
    """A channel a person may choose for a kind, with the address it would use."""

    name: str
    label: str
    address: str


@dataclass(frozen=True)
class KindChoice:
    """One kind of message on the preferences page: what may be chosen and what is."""

    kind: MessageKind
    field_name: str
    options: list[ChannelOption]
    chosen: str  # the saved preference, or NO_PREFERENCE
    automatic: str | None  # the channel used when there is no preference

    @property
    def allowed(self) -> set[str]:
        return {option.name for option in self.options}


def field_name(kind: MessageKind) -> str:
    """The form field of a kind: its name made safe for HTML ids."""
    return "kind_" + re.sub(r"[^a-z0-9]+", "_", kind.name.lower())


def choosable_kinds() -> list[MessageKind]:
    return [kind for kind in kinds().values() if kind.choosable]


def options_for(kind: MessageKind, person: Person, contacts: dict) -> list[ChannelOption]:
    """The channels this kind may use that are switched on and reach this person."""
    channels = registry()
    options = []
    for name in kind.channels:
        if name not in channels:
            continue
        channel = channels[name]
        address = channel.address_of(person, contacts)
        if address:
            options.append(ChannelOption(name, channel_label(name),
                                         shown_address(channel.address_kind, address)))
    return options


def profile_of(person: Person) -> Profile | None:
    return db.session.get(Profile, person.id)


def saved_choices(person: Person) -> dict[str, str]:
    """The person's saved preferences: kind name → channel name."""
    return dict(db.session.execute(select(Preference.kind, Preference.channel).where(
        Preference.person_id == person.id)).all())


def kind_choices(person: Person, contacts: dict | None = None,
                 profile: Profile | None = None) -> list[KindChoice]:
    """Every choosable kind with its options and the current choice, for the page.

    ``contacts`` and ``profile`` may be passed when the caller already read them."""
    contacts = contacts_of(person) if contacts is None else contacts
    saved = saved_choices(person)
    profile = profile_of(person) if profile is None else profile
    result = []
    for kind in choosable_kinds():
        options = options_for(kind, person, contacts)
        if not options:
            continue
        chosen = saved.get(kind.name, NO_PREFERENCE)
        if chosen not in {option.name for option in options}:
            chosen = NO_PREFERENCE  # a channel switched off since, or an address gone
        planned = choose_channels(kind, person, contacts, None, profile)
        automatic = planned[0] if planned else None
        result.append(KindChoice(kind, field_name(kind), options, chosen, automatic))
    return result


def missing_contacts(person: Person, contacts: dict | None = None) -> list[str]:
    """Contact kinds (``email``, ``phone``) that a switched-on channel would use but that we
    do not hold for this person: the page tells them how to add one."""
    contacts = contacts_of(person) if contacts is None else contacts
    needed = {registry()[name].address_kind for kind in choosable_kinds()
              for name in kind.channels if name in registry()}
    return [kind for kind in ("email", "phone") if kind in needed and not contacts.get(kind)]


class InvalidChoice(ValueError):
    """A channel that may not be chosen for a kind (the form checks it first)."""


def save_preferences(person: Person, choices: dict[str, str], *, no_smartphone: bool,
                     visual_impairment: bool) -> dict:
    """Write the person's choices (kind name → channel, or NO_PREFERENCE) and needs, in the
    current transaction, with one audit event listing what changed. Every choice is checked
    again against what the person may choose; one bad choice writes nothing. Returns the
    changes (empty when nothing changed); the caller commits."""
    # One save at a time per person: two tabs saving at once cannot both insert a row.
    db.session.get(Person, person.id, with_for_update=True)
    allowed = {choice.kind.name: choice.allowed for choice in kind_choices(person)}
    for kind_name, channel in choices.items():
        if kind_name not in allowed or (channel != NO_PREFERENCE
                                        and channel not in allowed[kind_name]):
            raise InvalidChoice(f"{channel!r} may not be chosen for {kind_name!r}")
    changes: dict = {}
    existing = {row.kind: row for row in db.session.scalars(select(Preference).where(
        Preference.person_id == person.id))}
    for kind_name, channel in choices.items():
        row = existing.get(kind_name)
        before = row.channel if row is not None else NO_PREFERENCE
        if before == channel:
            continue
        if channel == NO_PREFERENCE:
            db.session.delete(row)
        elif row is None:
            db.session.add(Preference(person_id=person.id, kind=kind_name, channel=channel))
        else:
            row.channel = channel
        changes[kind_name] = {"before": before or None, "after": channel or None}
    profile = profile_of(person)
    needs = {"no_smartphone": no_smartphone, "visual_impairment": visual_impairment}
    if profile is None and any(needs.values()):
        profile = Profile(person_id=person.id)
        db.session.add(profile)
    for name, value in needs.items():
        before = bool(getattr(profile, name)) if profile is not None else False
        if before != value:
            setattr(profile, name, value)
            changes[name] = {"before": before, "after": value}
    if changes:
        audit.record("notifications.preferences", obj=person, person_id=person.id,
                     detail=changes)
    return changes
