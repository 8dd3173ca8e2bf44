"""Complementary suppression: no published area minus its published descendants
leaves a small group of people, on hand-made cases and on random hierarchies where
people rate several localities."""

from __future__ import annotations

from collections.abc import Hashable

from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.domain.suppression import suppress

K = 5
People = dict[str, set[Hashable]]


def _children(parents: dict[str, str | None]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for area, parent in parents.items():
        if parent is not None:
            out.setdefault(parent, []).append(area)
    return out


def _below(area: str, own: People, kids: dict[str, list[str]]) -> set[Hashable]:
    """The distinct people of `area` and everything under it."""
    out = set(own.get(area, ()))
    for c in kids.get(area, []):
        out |= _below(c, own, kids)
    return out


def _left(area: str, own: People, kids: dict[str, list[str]], hidden: frozenset[str]) -> int:
    """The distinct people of what subtracting every published descendant from `area`
    leaves: its own answers and those of the hidden areas reached through hidden ones."""
    out = set(own.get(area, ()))
    stack = [c for c in kids.get(area, []) if c in hidden]
    while stack:
        a = stack.pop()
        out |= own.get(a, set())
        stack.extend(c for c in kids.get(a, []) if c in hidden)
    return len(out)


def _alone(counts: dict[str, int]) -> People:
    """Areas' own answers, each by a different person."""
    return {a: {f"{a}-{i}" for i in range(n)} for a, n in counts.items()}


def test_the_last_visible_child_is_hidden_with_the_small_one() -> None:
    # Bandiagara as the probe found it: the cercle 7 reporters, one commune 6, the
    # other 1. Hiding the 1 alone lets 7 - 6 give it back.
    parents = {"nation": None, "cercle": "nation", "a": "cercle", "b": "cercle"}
    hidden = suppress(_alone({"a": 6, "b": 1}), parents, K)
    assert {"a", "b"} <= hidden and "cercle" not in hidden


def test_two_small_siblings_together_are_still_small() -> None:
    parents = {"r": None, "a": "r", "b": "r", "c": "r"}
    hidden = suppress(_alone({"a": 2, "b": 2, "c": 11}), parents, K)
    assert {"a", "b", "c"} <= hidden  # 15 - 11 = 4 people in a and b


def test_nothing_more_is_hidden_when_nothing_is_small() -> None:
    parents = {"r": None, "a": "r", "b": "r"}
    assert suppress(_alone({"a": 5, "b": 7}), parents, K) == frozenset()


def test_a_total_resting_on_one_covered_chain_hides_itself_not_the_chain() -> None:
    # nation 22 = region 20 (all in one commune) + region 2: hiding the nation costs
    # one cell, hiding region, cercle and commune would cost three.
    parents = {"n": None, "r1": "n", "c1": "r1", "m1": "c1", "r2": "n", "m2": "r2"}
    assert suppress(_alone({"m1": 20, "m2": 2}), parents, K) == {"n", "r2", "m2"}


def test_three_people_who_rated_two_hidden_communes_are_three_not_six() -> None:
    # A cercle of 13 people: 10 in a published commune, and 3 who each rated both
    # hidden communes (6 answers). The cercle minus the published commune gives the
    # two hidden communes together: an aggregate of 3 people.
    parents = {"n": None, "cercle": "n", "big": "cercle", "a": "cercle", "b": "cercle"}
    three = {"p1", "p2", "p3"}
    own: People = {"big": {f"q{i}" for i in range(10)}, "a": set(three), "b": set(three)}
    hidden = suppress(own, parents, K)
    assert {"a", "b"} <= hidden
    assert "big" in hidden or "cercle" in hidden, hidden


@st.composite
def hierarchies(draw: st.DrawFn) -> tuple[dict[str, str | None], People]:
    """A random tree of areas and people who each rate one to four of them."""
    parents: dict[str, str | None] = {"0": None}
    for i in range(1, draw(st.integers(2, 30))):
        parents[str(i)] = str(draw(st.integers(0, i - 1)))
    areas = sorted(parents)
    own: People = {a: set() for a in areas}
    for person in range(draw(st.integers(0, 60))):
        for area in draw(st.lists(st.sampled_from(areas), min_size=1, max_size=4)):
            own[area].add(person)
    return parents, own


@settings(max_examples=300, derandomize=True)
@given(hierarchies())
def test_every_published_area_leaves_no_one_or_at_least_k_people(
    case: tuple[dict[str, str | None], People],
) -> None:
    parents, own = case
    hidden = suppress(own, parents, K)
    kids = _children(parents)
    assert {a for a in parents if len(_below(a, own, kids)) < K} <= hidden
    for area in parents:
        if area not in hidden:
            left = _left(area, own, kids, hidden)
            assert left == 0 or left >= K, (area, left)


@settings(max_examples=100, derandomize=True)
@given(hierarchies())
def test_the_pattern_does_not_depend_on_the_order_areas_come_in(
    case: tuple[dict[str, str | None], People],
) -> None:
    parents, own = case
    backwards = dict(reversed(list(parents.items())))
    assert suppress(own, parents, K) == suppress(dict(reversed(list(own.items()))), backwards, K)
