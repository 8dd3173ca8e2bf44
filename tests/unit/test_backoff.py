"""Backoff: exponential ceilings with full jitter, capped; the retry limits."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.domain.backoff import RetryPolicy

S = dt.timedelta(seconds=1)


class Fixed:
    """A random source that always draws the same fraction."""

    def __init__(self, value: float) -> None:
        self.value = value

    def random(self) -> float:
        return self.value


def test_ceiling_doubles_from_thirty_seconds_up_to_one_hour() -> None:
    policy = RetryPolicy()
    ceilings = [policy.ceiling(n) for n in range(1, 10)]
    assert ceilings[:5] == [30 * S, 60 * S, 120 * S, 240 * S, 480 * S]
    assert ceilings[-1] == dt.timedelta(hours=1)


def test_full_jitter_spans_zero_to_the_ceiling() -> None:
    policy = RetryPolicy()
    assert policy.delay(3, Fixed(0.0)) == dt.timedelta(0)
    assert policy.delay(3, Fixed(0.5)) == 60 * S
    assert policy.delay(3, Fixed(1.0)) == 120 * S


@given(attempt=st.integers(1, 10_000), seed=st.integers(0, 2**32))
def test_delay_is_never_negative_nor_above_the_cap(attempt: int, seed: int) -> None:
    policy = RetryPolicy()
    delay = policy.delay(attempt, random.Random(seed))
    assert dt.timedelta(0) <= delay <= policy.ceiling(attempt) <= policy.cap


@given(attempt=st.integers(1, 200))
def test_ceiling_never_shrinks(attempt: int) -> None:
    policy = RetryPolicy(base=dt.timedelta(seconds=7), cap=dt.timedelta(days=3))
    assert policy.ceiling(attempt) <= policy.ceiling(attempt + 1)


def test_jitter_spreads_messages_that_failed_together() -> None:
    rng = random.Random(1)
    delays = {RetryPolicy().delay(4, rng) for _ in range(50)}
    assert len(delays) > 40


def test_limits_fallback_after_three_failures_and_give_up_after_eight() -> None:
    policy = RetryPolicy()
    assert [policy.uses_fallback(n) for n in (1, 2, 3, 4, 8)] == [False] * 3 + [True] * 2
    assert not policy.gives_up(7)
    assert policy.gives_up(8)


@pytest.mark.parametrize(
    "kwargs",
    [{"base": dt.timedelta(0)}, {"cap": S}, {"max_attempts": 0}, {"fallback_after": -1}],
)
def test_nonsense_policies_are_refused(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        RetryPolicy(**kwargs)  # type: ignore[arg-type]


def test_attempts_count_from_one() -> None:
    with pytest.raises(ValueError):
        RetryPolicy().ceiling(0)
