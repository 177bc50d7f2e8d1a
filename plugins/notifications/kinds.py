"""Kinds of message (``claims.acknowledged``, ``notifications.notice``...): what a tenant sets a
preference for, what a template is written for, and which variables it may use.

Plugins declare theirs through the ``register_notification_kinds`` hook.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from flask import current_app
from flask_babel import lazy_gettext as _l

from core.config import ConfigError

# Channels whose text is long (a subject and a body) and those whose text is a short notice
# with a link; a template file serves a whole family unless a channel has its own file.
LONG_CHANNELS = ("mail", "letter", "fax")

# Variables every template may use, whatever the kind and the channel.
COMMON_VARIABLES = {
    "landlord": _l("the landlord's name"),
    "link": _l("the address of the page where the tenant follows the matter (may be empty)"),
}
# Variables of long texts only (never in an SMS or a voice message).
LONG_VARIABLES = {
    "recipient_name": _l("the recipient's name, as on the envelope"),
}


@dataclass(frozen=True)
class MessageKind:
    """One kind of message.

    ``templates`` is the folder holding the default texts: ``long.<locale>.txt`` (mail,
    letter, fax: a ``Subject:`` line, a blank line, the body) and ``short.<locale>.txt`` (SMS,
    voice, phone script), or a channel's own ``<channel>.<locale>.txt``. ``variables`` documents
    what the kind's context holds (shown to administrators who edit the texts) and ``sample``
    fills them for previews. Short texts only see ``COMMON_VARIABLES``: an SMS or a voice
    message carries a notice and a link, never the matter's details.
    """

    name: str
    label: object
    templates: str
    variables: dict = field(default_factory=dict)
    sample: dict = field(default_factory=dict)
    # Channels this kind may use, in the order tried when the person has no preference.
    channels: tuple[str, ...] = ("mail", "sms", "voice", "letter", "phone")
    # Proof needed (a formal notice, a decision): a letter always goes too.
    needs_proof: bool = False
    # Sent at night too (a water cut tonight): quiet hours do not apply.
    urgent: bool = False
    # Shown on the tenant's preferences page.
    choosable: bool = True
    # Documents that go with the message by mail (attached) and letter (enclosed after the
    # letter), made when the message leaves: ``attachments(context, locale)`` returns
    # :class:`plugins.notifications.channels.Attachment` objects. The worker calls it outside
    # any transaction; a function that reads the database ends its read (commit) before long
    # work such as rendering a PDF.
    attachments: Callable[[dict, str], list] | None = None

    def template_file(self, channel: str, locale: str) -> Path | None:
        folder = Path(self.templates)
        family = "long" if channel in LONG_CHANNELS else "short"
        for name in (f"{channel}.{locale}.txt", f"{family}.{locale}.txt"):
            if (folder / name).is_file():
                return folder / name
        return None


def kinds(app=None) -> dict[str, MessageKind]:
    app = app or current_app
    return app.extensions["palier.notifications.kinds"]


def collect_kinds(results) -> dict[str, MessageKind]:
    found: dict[str, MessageKind] = {}
    for kind in results:
        if kind.name in found:
            raise ConfigError(f"Two message kinds are named {kind.name!r}: names must be unique.")
        found[kind.name] = kind
    return found


def kind_of(name: str) -> MessageKind:
    try:
        return kinds()[name]
    except KeyError:
        raise LookupError(f"Unknown message kind {name!r}: declare it with "
                          "register_notification_kinds.") from None
