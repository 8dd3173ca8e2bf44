"""The trust index from sufficient statistics: hand-computed cases and properties."""

from __future__ import annotations

import math
import statistics

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.domain.trust_index import (
    NATIONAL,
    Aggregate,
    Interval,
    ancestors,
    difference_ci,
    mean_ci,
    roll_up,
    t_quantile,
    trust_index,
    wilson,
)

ratings = st.lists(st.integers(min_value=1, max_value=5), max_size=40)
ratings2 = st.lists(st.integers(min_value=1, max_value=5), min_size=2, max_size=40)
bounded = settings(max_examples=200, deadline=None)


@pytest.mark.parametrize(
    ("successes", "n", "low", "high"),
    [(0, 10, 0.0, 0.2775), (5, 10, 0.2366, 0.7634), (10, 10, 0.7225, 1.0), (1, 4, 0.0456, 0.6994)],
)
def test_wilson_matches_published_values(successes: int, n: int, low: float, high: float) -> None:
    interval = wilson(successes, n)
    assert interval.low == pytest.approx(low, abs=1e-4)
    assert interval.high == pytest.approx(high, abs=1e-4)


def test_wilson_of_nothing_is_the_whole_range_and_bad_counts_are_refused() -> None:
    assert wilson(0, 0) == Interval(0.0, 1.0)
    with pytest.raises(ValueError):
        wilson(3, 2)


@pytest.mark.parametrize(
    ("df", "table"),
    [(1, 12.706), (2, 4.303), (3, 3.182), (4, 2.776), (7, 2.365), (10, 2.228), (30, 2.042)],
)
def test_t_multiplier_matches_the_student_table(df: int, table: float) -> None:
    assert t_quantile(1.959964, df) == pytest.approx(table, abs=5e-3)


def test_mean_interval_from_the_aggregate_equals_the_one_from_raw_answers() -> None:
    values = [4, 5, 3, 4, 2, 5, 4, 3]
    mean, sd = statistics.mean(values), statistics.stdev(values)
    half = 2.365 * sd / math.sqrt(len(values))  # t(0.975, 7) from the table
    interval = mean_ci(Aggregate.of(values))
    assert interval is not None
    assert interval.low == pytest.approx(mean - half, abs=2e-3)
    assert interval.high == pytest.approx(mean + half, abs=2e-3)


def test_no_mean_interval_below_two_answers() -> None:
    assert mean_ci(Aggregate()) is None
    assert mean_ci(Aggregate.of([3])) is None


def test_welch_difference_by_hand() -> None:
    # Equal variances (0.5) and sizes (5): SE = √0.2, df = 8, t = 2.306.
    diff = difference_ci(Aggregate.of([2, 2, 3, 1, 2]), Aggregate.of([4, 4, 5, 3, 4]))
    assert diff is not None and diff.interval is not None
    assert diff.value == pytest.approx(-2.0)
    assert diff.interval.low == pytest.approx(-2.0 - 2.306 * math.sqrt(0.2), abs=2e-3)
    assert diff.interval.high == pytest.approx(-2.0 + 2.306 * math.sqrt(0.2), abs=2e-3)


def test_trust_index_of_a_small_commune() -> None:
    index = trust_index(Aggregate.of([1, 2, 4, 5, 1]))
    assert index.reporters == 5
    assert index.value == pytest.approx(2.6)
    assert index.low_share == pytest.approx(0.6)
    assert index.low_share_interval == wilson(3, 5)


def test_an_empty_window_has_no_value() -> None:
    assert trust_index(Aggregate.of([3, 4, 5])).value == 4.0
    empty = trust_index(Aggregate())
    assert (empty.value, empty.interval, empty.low_share) == (None,) * 3


TREE: dict[str, str | None] = {
    "c1": "ce1",
    "c2": "ce1",
    "c3": "ce2",
    "ce1": "r1",
    "ce2": "r1",
    "r1": None,
    "r2": None,
}


def test_roll_up_adds_communes_into_cercles_regions_and_the_nation() -> None:
    rolled = roll_up(
        {"c1": Aggregate.of([1, 2]), "c2": Aggregate.of([5]), "r2": Aggregate.of([4])}, TREE
    )
    assert rolled["ce1"] == Aggregate.of([1, 2, 5])
    assert rolled["r1"] == Aggregate.of([1, 2, 5])
    assert rolled[NATIONAL] == Aggregate.of([1, 2, 5, 4])
    assert "ce2" not in rolled
    assert roll_up({}, TREE) == {NATIONAL: Aggregate()}


def test_an_unknown_locality_or_a_cycle_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown"):
        roll_up({"nowhere": Aggregate.of([3])}, TREE)
    with pytest.raises(ValueError, match="cycle"):
        ancestors("a", {"a": "b", "b": "a"})


@bounded
@given(ratings2)
def test_mean_interval_contains_the_mean(values: list[int]) -> None:
    agg = Aggregate.of(values)
    interval = mean_ci(agg)
    assert interval is not None and agg.mean is not None
    assert interval.contains(agg.mean)
    assert agg.mean == pytest.approx(statistics.mean(values))
    assert agg.variance == pytest.approx(statistics.variance(values), abs=1e-9)


@bounded
@given(st.integers(min_value=0, max_value=500), st.integers(min_value=0, max_value=500))
def test_wilson_contains_the_share_and_stays_in_0_1(a: int, b: int) -> None:
    successes, n = min(a, b), max(a, b)
    interval = wilson(successes, n)
    assert 0.0 <= interval.low <= interval.high <= 1.0
    if n:
        assert interval.contains(successes / n)


@bounded
@given(ratings2, ratings2)
def test_welch_interval_contains_the_difference(a: list[int], b: list[int]) -> None:
    diff = difference_ci(Aggregate.of(a), Aggregate.of(b))
    assert diff is not None and diff.interval is not None
    assert diff.interval.contains(diff.value)
    assert diff.value == pytest.approx(statistics.mean(a) - statistics.mean(b))


@bounded
@given(ratings, ratings, ratings)
def test_aggregate_addition_is_associative_and_matches_raw_data(
    a: list[int], b: list[int], c: list[int]
) -> None:
    x, y, z = Aggregate.of(a), Aggregate.of(b), Aggregate.of(c)
    assert (x + y) + z == x + (y + z) == Aggregate.of(a + b + c)
    assert x + Aggregate() == x


@bounded
@given(st.dictionaries(st.sampled_from(["c1", "c2", "c3", "ce1", "r2"]), ratings))
def test_roll_up_totals_equal_the_raw_data(answers: dict[str, list[int]]) -> None:
    rolled = roll_up({k: Aggregate.of(v) for k, v in answers.items()}, TREE)
    everything = [v for values in answers.values() for v in values]
    assert rolled[NATIONAL] == Aggregate.of(everything)
    ce1 = [v for k in ("c1", "c2", "ce1") for v in answers.get(k, [])]
    assert rolled.get("ce1", Aggregate()) == Aggregate.of(ce1)
