"""The GSM 7-bit counts, against their definition character by character."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.domain.gsm7 import BASIC, EXTENSION, is_gsm7, septets, to_gsm7
from gateway.domain.ussd_render import clip

GSM_TEXT = st.text(alphabet=sorted(BASIC | EXTENSION), max_size=200)


@given(GSM_TEXT)
def test_an_extension_character_costs_two_septets(text: str) -> None:
    assert is_gsm7(text)
    assert septets(text) == sum(2 if c in EXTENSION else 1 for c in text)


@given(GSM_TEXT, st.sampled_from("ŋɛɔ€’中"), GSM_TEXT)
def test_one_character_outside_the_alphabet_is_refused(before: str, c: str, after: str) -> None:
    text = before + c + after
    expected = all(ch in BASIC or ch in EXTENSION for ch in text)
    assert is_gsm7(text) is expected
    if not expected:
        with pytest.raises(ValueError, match="not GSM 7-bit"):
            septets(text)


@given(GSM_TEXT)
def test_text_already_in_the_alphabet_is_rendered_unchanged(text: str) -> None:
    assert to_gsm7(text) == text


@given(st.text(alphabet=st.sampled_from("aé€’ç\u00a0中\n{ ")), st.integers(0, 40))
def test_a_clipped_line_is_gsm7_within_its_limit_and_a_prefix_of_the_whole(
    text: str, limit: int
) -> None:
    """What a screen line keeps of a text: GSM 7-bit, on one line, at most `limit`
    septets, cut only at the end (the whole line when it fits)."""
    whole = to_gsm7(" ".join(text.split()))
    line = clip(text, limit)
    assert "\n" not in line and septets(line) <= limit
    assert whole.startswith(line)
    assert line == whole or septets(whole) > limit
    assert line == whole or septets(whole[: len(line) + 1]) > limit
