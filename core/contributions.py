"""What plugins contribute to the pages: cards, widgets, menu entries, timeline entries.

Text fields are escaped when rendered; a plugin that needs markup passes ``markupsafe.Markup``
it built itself from escaped parts.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask_babel import lazy_gettext as _l

# Names of the channels a timeline entry may come through, as people say them.
CHANNEL_LABELS = {
    "portal": _l("online"),
    "mail": _l("e-mail"),
    "letter": _l("letter"),
    "fax": _l("fax"),
    "sms": _l("text message"),
    "phone": _l("phone call"),
    "voice": _l("voice message"),
    "video": _l("video call"),
    "visit": _l("visit"),
    "lease": _l("lease"),
}


@dataclass(frozen=True)
class Card:
    """A card of the tenant portal's home page: a title, a sentence and where it leads."""

    title: str
    text: str
    url: str
    icon: str = "info"
    order: int = 100


@dataclass(frozen=True)
class Widget:
    """A block of the back-office home page, optionally with a key figure."""

    title: str
    text: str = ""
    figure: str | None = None
    url: str | None = None
    order: int = 100


@dataclass(frozen=True)
class NavItem:
    """A menu entry of the portal or the back office."""

    label: str
    url: str
    endpoint: str | None = None  # marks the entry as current on that endpoint's pages
    order: int = 100


@dataclass(frozen=True)
class TimelineEntry:
    """One contact or event in a person's history, whatever its channel."""

    when: datetime
    title: str
    text: str = ""
    channel: str = "portal"  # a key of CHANNEL_LABELS, or a plugin's own word
    url: str | None = None

    @property
    def channel_label(self) -> str:
        return str(CHANNEL_LABELS.get(self.channel, self.channel))
