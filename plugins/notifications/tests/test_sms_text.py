"""SMS segment counting: GSM 03.38 or UCS-2, 160/153 and 70/67 characters, escapes and
surrogate pairs never split."""
from __future__ import annotations

import pytest

from plugins.notifications.sms_text import (
    GSM7,
    GSM_BASIC,
    GSM_EXTENSION,
    UCS2,
    count_segments,
    is_gsm7,
    plain_typography,
)


def test_the_alphabets_are_the_standard_ones():
    assert len(GSM_BASIC) == 127  # 128 code points, less the escape
    assert GSM_EXTENSION == set("\x0c^{}\\[~]|€")
    # French letters of the basic set, and those that are not in it
    assert is_gsm7("éèàùìòÉÇ")
    for letter in "êâîôûçëïœ":
        assert not is_gsm7(letter), letter


@pytest.mark.parametrize("text, encoding, units, count", [
    ("", GSM7, 0, 0),
    ("a" * 160, GSM7, 160, 1),
    ("a" * 161, GSM7, 161, 2),
    ("a" * 306, GSM7, 306, 2),
    ("a" * 307, GSM7, 307, 3),
    ("é" * 160, GSM7, 160, 1),            # é is in the GSM alphabet
    ("€" * 80, GSM7, 160, 1),             # extension characters take two septets
    ("€" * 81, GSM7, 162, 2),
    ("ê" * 70, UCS2, 70, 1),              # one ê makes the whole text UCS-2
    ("ê" * 71, UCS2, 71, 2),
    ("ê" * 134, UCS2, 134, 2),
    ("ê" * 135, UCS2, 135, 3),
    ("a" * 159 + "ê", UCS2, 160, 3),      # 160 characters, but UCS-2: 67 + 67 + 26
    ("🙂" * 35, UCS2, 70, 1),              # an emoji is two UTF-16 units
])
def test_segments(text, encoding, units, count):
    segments = count_segments(text)
    assert (segments.encoding, segments.units, segments.count) == (encoding, units, count)


def test_an_escape_pair_is_never_split_across_segments():
    # 152 plain characters fill all but one septet of the first segment: the euro sign (escape
    # and character) moves whole to the second one, and the text needs a third.
    text = "a" * 152 + "€" + "a" * 152
    assert count_segments(text).units == 306
    assert count_segments(text).count == 3
    assert count_segments("a" * 151 + "€" + "a" * 153).count == 2


def test_a_surrogate_pair_is_never_split_across_segments():
    assert count_segments("ê" * 66 + "🙂" + "ê" * 66).count == 3   # 134 units, yet 3
    assert count_segments("ê" * 65 + "🙂" + "ê" * 67).count == 2


def test_french_typography_is_made_plain_without_touching_letters():
    text = "L’avis « Coupure » : 9 h – 12 h…"
    plain = plain_typography(text)
    assert plain == "L'avis \" Coupure \" : 9 h - 12 h..."
    assert count_segments(plain).encoding == GSM7
    assert count_segments(text).encoding == UCS2
    assert plain_typography("Fenêtre") == "Fenêtre"


def test_describe_names_the_count_and_the_encoding():
    assert count_segments("a" * 200).describe() == "2 segments (GSM-7, 200 units)"
    assert count_segments("bonjour").describe() == "1 segment (GSM-7, 7 units)"
    assert count_segments("a" * 200).per_segment == 153
