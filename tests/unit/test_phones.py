from __future__ import annotations

import phonenumbers
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from gateway.phones import PhoneError, normalize_phone

REGIONS = ("ML", "NE", "MR")


@pytest.mark.parametrize(
    "raw",
    [
        "76 12 34 56",
        "76123456",
        "0022376123456",
        "+223 76123456",
        "+223 76 12 34 56",
        "+223-76-12-34-56",
    ],
)
def test_every_way_of_writing_a_malian_number_is_the_same_reporter(raw: str) -> None:
    assert normalize_phone(raw, REGIONS) == "+22376123456"


@pytest.mark.parametrize(
    ("raw", "e164"),
    [("+227 90 12 34 56", "+22790123456"), ("0022222123456", "+22222123456")],
)
def test_numbers_of_niger_and_mauritania_are_accepted(raw: str, e164: str) -> None:
    assert normalize_phone(raw, REGIONS) == e164


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        ("", "empty"),
        ("hello", "does not parse"),
        ("12", "not valid"),
        ("+33 6 12 34 56 78", "FR"),
        ("+1 415 555 2671", "US"),
        ("9" * 40, "too long"),
    ],
)
def test_invalid_or_foreign_numbers_are_refused_saying_why(raw: str, why: str) -> None:
    with pytest.raises(PhoneError, match=why):
        normalize_phone(raw, REGIONS)


def test_a_narrower_region_list_refuses_the_others() -> None:
    with pytest.raises(PhoneError):
        normalize_phone("+22790123456", ("ML",))


@given(st.text(max_size=40))
@settings(max_examples=300, deadline=None)
def test_any_text_is_a_number_in_e164_or_a_clear_refusal(raw: str) -> None:
    try:
        e164 = normalize_phone(raw, REGIONS)
    except PhoneError as exc:
        assert str(exc)
    else:
        assert e164.startswith(("+223", "+227", "+222"))
        assert e164[1:].isdigit()
        assert normalize_phone(e164, REGIONS) == e164


@given(st.sampled_from(["+223", "00223", ""]), st.integers(60_000_000, 99_999_999))
@settings(max_examples=200, deadline=None)
def test_the_same_malian_number_written_three_ways_is_one_reporter(prefix: str, n: int) -> None:
    digits = str(n)
    spaced = " ".join(digits[i : i + 2] for i in range(0, 8, 2))
    try:
        expected = normalize_phone("+223" + digits, REGIONS)
    except PhoneError:
        return  # not an allocated Malian range
    assert normalize_phone(prefix + spaced, REGIONS) == expected


def _parsed(raw: str, regions: tuple[str, ...]) -> str | None:
    """phonenumbers' own reading of `raw`, the reference of the short path."""
    try:
        number = phonenumbers.parse(raw, None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    if phonenumbers.region_code_for_number(number) not in regions:
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


@given(
    st.sampled_from(["223", "227", "222", "33", "1", "7", "39", "44", "2", "22", "0", ""]),
    st.text(alphabet="0123456789", max_size=14),
    st.sampled_from([REGIONS, ("ML",), ("FR", "ML"), ("IT", "GB", "US", "RU", "KZ")]),
)
@example("0", "39320000000", ("IT", "GB", "US", "RU", "KZ"))  # "+039...": read as Italy once
@settings(max_examples=1500, deadline=None)
def test_a_number_already_in_e164_reads_as_phonenumbers_parses_it(
    code: str, rest: str, regions: tuple[str, ...]
) -> None:
    raw = "+" + code + rest
    expected = _parsed(raw, regions)
    if expected is None:
        with pytest.raises(PhoneError):
            normalize_phone(raw, regions)
    else:
        assert normalize_phone(raw, regions) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "+22376123456",
        "+22790123456",
        "+22222123456",
        "+33612345678",
        "+330612345678",
        "+390612345678",
    ],
)
def test_the_short_path_agrees_with_phonenumbers_on_real_numbers(raw: str) -> None:
    regions = ("ML", "NE", "MR", "FR", "IT")
    assert normalize_phone(raw, regions) == _parsed(raw, regions)
