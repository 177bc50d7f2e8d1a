"""What plugins contribute to the pages: cards, widgets, menu entries, timeline entries.

Text fields are escaped when rendered; a plugin that needs markup passes ``markupsafe.Markup``
it built itself from escaped parts.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


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
    channel: str = "portal"  # portal, mail, letter, sms, phone, visit, video...
    url: str | None = None
