"""The GSM 7-bit counts, against their definition character by character."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.domain.gsm7 import BASIC, EXTENSION, is_gsm7, septets

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
