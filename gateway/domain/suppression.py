"""Small-cell suppression over a hierarchy of areas: primary and complementary.

Figures are published per area (nation, region, cercle, commune), and an area's
figures are its own answers plus its children's. Hiding the areas under k people
(primary suppression) is not enough: a published parent minus its published children
gives what the hidden children hold together, and when that is one hidden child, or a
few people, the hidden cell is recovered by subtraction. Complementary (secondary)
suppression hides more cells until, for every published area, what its published
descendants leave unexplained rests on no one or on at least k distinct people. This
is the method of statistical disclosure control that OCHA's data responsibility
guidance and its SDC notes name (primary, then secondary suppression of aggregates).

People, not answers: one person who rated two hidden communes is two answers in the
remainder but one person, so the remainder is counted over sets of people (a count
cannot be subtracted into distinct people).

Pure: people per area in, the set of hidden areas out.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Hashable, Iterable, Mapping

Own = Mapping[str, Collection[Hashable]]
Children = Mapping[str, list[str]]


def suppress(
    own: Own,
    parent_of: Mapping[str, str | None],
    k: int,
    forced: Iterable[str] = (),
) -> frozenset[str]:
    """The areas to hide. `own` gives the people (any hashable key) of each area's own
    answers, not its descendants'; `parent_of` maps each area to its parent (None at
    the top). Areas under `k` distinct people over themselves and everything below,
    and `forced` ones, are hidden first. The result guarantees: for every area not
    hidden, the distinct people of its own answers and of the hidden areas reached
    from it through hidden areas only (what subtracting its highest published
    descendants leaves) are none or at least `k`. The same inputs give the same
    result whatever their order."""
    areas = sorted(set(parent_of) | set(own))
    children: dict[str, list[str]] = defaultdict(list)
    for area in areas:
        parent = parent_of.get(area)
        if parent is not None:
            children[parent].append(area)
    people = _people(areas, own, children)
    for kids in children.values():
        kids.sort(key=lambda a: (people[a], a))  # smallest first: cheapest to hide
    hidden = {a for a in areas if people[a] < k} | set(forced)
    deepest_first = sorted(areas, key=lambda a: (-_depth(a, parent_of), a))
    changed = True
    while changed:
        changed = False
        for area in deepest_first:
            while area not in hidden:
                left = _remainder(area, own, children, hidden, k)
                if not 0 < len(left) < k:
                    break
                hidden.add(_next_to_hide(area, left, own, children, hidden, people, k))
                changed = True
    return frozenset(hidden)


def people_below(own: Own, parent_of: Mapping[str, str | None]) -> dict[str, int]:
    """Distinct people of each area of `parent_of` and everything below it (`own` as
    in `suppress`): one who rated two communes of a cercle is one of the cercle."""
    children: dict[str, list[str]] = defaultdict(list)
    for area, parent in parent_of.items():
        if parent is not None:
            children[parent].append(area)
    return _people(sorted(set(parent_of) | set(own)), own, children)


def _people(areas: list[str], own: Own, children: Children) -> dict[str, int]:
    """Distinct people of each area and everything below it."""
    below: dict[str, set[Hashable]] = {}

    def collect(area: str, path: frozenset[str]) -> set[Hashable]:
        if area not in below:
            out = set(own.get(area, ()))
            for child in children.get(area, ()):
                if child not in path:  # a cycle in a bad map: cut it
                    out |= collect(child, path | {child})
            below[area] = out
        return below[area]

    return {a: len(collect(a, frozenset({a}))) for a in areas}


def _depth(area: str, parent_of: Mapping[str, str | None]) -> int:
    depth, seen = 0, {area}
    parent = parent_of.get(area)
    while parent is not None and parent not in seen:
        seen.add(parent)
        depth += 1
        parent = parent_of.get(parent)
    return depth


def _remainder(area: str, own: Own, children: Children, hidden: set[str], k: int) -> set[Hashable]:
    """The people subtracting every published descendant from `area` leaves: those of
    its own answers and of the hidden areas under it reached through hidden ones only.
    Collecting stops at `k` people: past that, the remainder is safe and its exact
    size does not matter."""
    out = set(own.get(area, ()))
    stack = [c for c in children.get(area, ()) if c in hidden]
    while stack and len(out) < k:
        a = stack.pop()
        out.update(own.get(a, ()))
        stack.extend(c for c in children.get(a, ()) if c in hidden)
    return out


def _frontier(area: str, children: Children, hidden: set[str]) -> list[str]:
    """The highest published descendants of `area`."""
    out: list[str] = []
    for child in children.get(area, ()):
        if child in hidden:
            out.extend(_frontier(child, children, hidden))
        else:
            out.append(child)
    return out


def _next_to_hide(
    area: str,
    left: set[Hashable],
    own: Own,
    children: Children,
    hidden: set[str],
    people: Mapping[str, int],
    k: int,
) -> str:
    """The cell to hide so that `area` leaves more people unexplained: the smallest of
    its highest published descendants whose own remainder brings someone not yet in
    `left`, else `area` itself (one cell lost, where going further down would cost a
    whole chain of them, and hiding cells of the same people would not help)."""
    adding = [
        a
        for a in _frontier(area, children, hidden)
        if not _remainder(a, own, children, hidden, k) <= left
    ]
    return min(adding, key=lambda a: (people[a], a)) if adding else area
