"""The path a latest-input USSD session keeps (gateway.domain.ussd_input)."""

from __future__ import annotations

import datetime as dt

import pytest

from gateway.domain.ussd_input import EXPIRY, Kept, advance, is_resend

NOW = dt.datetime(2026, 11, 2, 9, 30, tzinfo=dt.UTC)


def test_the_first_request_opens_the_first_screen_whatever_it_carries() -> None:
    for first in ("", "*123#", "*123*1#", "2"):
        assert advance(None, first, None, NOW) == (Kept("", None, NOW), True)


def test_answers_are_appended_and_a_dial_is_not() -> None:
    kept, _ = advance(Kept("", None, NOW), "1", None, NOW)
    kept, _ = advance(kept, "sevare", None, NOW)
    assert kept.path == "1*sevare"
    assert advance(kept, " *123# ", None, NOW) == (kept, False)
    assert advance(kept, "", None, NOW)[0].path == "1*sevare*"


def test_a_kept_path_over_its_expiry_starts_afresh() -> None:
    old = Kept("1*2", "4", NOW - EXPIRY - dt.timedelta(seconds=1))
    assert advance(old, "3", "5", NOW) == (Kept("", "5", NOW), True)
    assert advance(Kept("1*2", "4", NOW - EXPIRY), "3", "5", NOW)[0].path == "1*2*3"


@pytest.mark.parametrize(
    ("step", "last", "resent"),
    [("3", "3", True), ("2", "3", True), ("4", "3", False), ("10", "9", False),
     ("ab", "ab", True), ("ac", "ab", False), ("1", "x", False)],
)  # fmt: skip
def test_a_resend_is_a_sequence_value_already_seen(step: str, last: str, resent: bool) -> None:
    assert is_resend(step, last) is resent
    kept = Kept("1", last, NOW)
    assert advance(kept, "2", step, NOW) == (
        (kept, False) if resent else (Kept("1*2", step, NOW), True)
    )


def test_what_is_kept_reads_back() -> None:
    kept = Kept("1*Ménaka", "7", NOW)
    assert Kept.from_json(kept.to_json()) == kept
    assert Kept.from_json(Kept("", None, NOW).to_json()) == Kept("", None, NOW)
