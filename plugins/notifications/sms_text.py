"""How many SMS a text costs: GSM 03.38 (7-bit) or UCS-2 encoding, and its segments.

An SMS carries 140 bytes: 160 characters of the GSM 7-bit alphabet, or 70 UTF-16 code units
when one character falls outside it (a single "ê" or "’" turns the whole text into UCS-2).
A longer text is split into segments that each lose room to the concatenation header: 153
GSM characters or 67 UTF-16 units. Characters of the GSM extension table (``€``, ``[``, ``{``,
``~``...) take two septets (an escape and the character) that are never split across two
segments, and neither are the two halves of a UTF-16 surrogate pair (an emoji). Providers bill
per segment, and a long text arrives in pieces on old phones: the channel refuses texts longer
than ``NOTIFICATIONS_SMS_MAX_SEGMENTS``.
"""
from __future__ import annotations

from dataclasses import dataclass

# GSM 03.38 basic character set (one septet each), in the order of the standard's table.
GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
) - {"\x1b"}  # the escape itself is not a character one may write
# GSM 03.38 extension table: an escape septet then the character (two septets each).
GSM_EXTENSION = frozenset("\x0c^{}\\[~]|€")

GSM7 = "GSM-7"
UCS2 = "UCS-2"

SINGLE = {GSM7: 160, UCS2: 70}
MULTI = {GSM7: 153, UCS2: 67}

# Typography that looks the same on a phone but would force UCS-2 (a third of the room): the
# French catalogue's apostrophes and non-breaking spaces, quotes, dashes, ellipsis.
_PLAIN = str.maketrans({
    "\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"', "«": '"', "»": '"',
    "\u00a0": " ", "\u202f": " ", "\u2009": " ", "\u2013": "-", "\u2014": "-",
    "\u2026": "...", "\u2010": "-", "\u2011": "-",
})


@dataclass(frozen=True)
class Segments:
    """A text's encoding, its length in that encoding's units, and the segments it takes."""

    encoding: str
    units: int
    count: int

    @property
    def per_segment(self) -> int:
        return SINGLE[self.encoding] if self.count <= 1 else MULTI[self.encoding]

    def describe(self) -> str:
        plural = "s" if self.count != 1 else ""
        return f"{self.count} segment{plural} ({self.encoding}, {self.units} units)"


def plain_typography(text: str) -> str:
    """Replace typographic signs that have a GSM look-alike (apostrophes, quotes, non-breaking
    spaces, dashes, ellipsis); letters, accents included, are left as they are."""
    return text.translate(_PLAIN)


def is_gsm7(text: str) -> bool:
    """Whether every character of ``text`` is in the GSM 03.38 alphabet (basic or extension)."""
    return all(char in GSM_BASIC or char in GSM_EXTENSION for char in text)


def _pack(sizes: list[int], single: int, multi: int) -> int:
    """Segments needed for characters of the given sizes, none split across two segments."""
    total = sum(sizes)
    if total <= single:
        return 1 if total else 0
    count, room = 1, multi
    for size in sizes:
        if size > room:
            count, room = count + 1, multi
        room -= size
    return count


def count_segments(text: str) -> Segments:
    """The encoding and the number of SMS segments ``text`` takes."""
    if is_gsm7(text):
        sizes = [2 if char in GSM_EXTENSION else 1 for char in text]
        encoding = GSM7
    else:
        sizes = [2 if ord(char) > 0xFFFF else 1 for char in text]  # surrogate pairs
        encoding = UCS2
    return Segments(encoding, sum(sizes), _pack(sizes, SINGLE[encoding], MULTI[encoding]))
