"""Small-cell suppression over a hierarchy of areas: primary and complementary.

Figures are published per area (nation, region, cercle, commune), and an area's
count is its own plus its children's. Hiding the areas under k reporters (primary
suppression) is not enough: a published parent minus its published children gives
what the hidden children hold together, and when that is one hidden child, or a few
people, the hidden cell is recovered by subtraction. Complementary (secondary)
suppression hides more cells until, for every published area, what its published
descendants leave unexplained is either nothing or at least k reporters. This is the
method of statistical disclosure control that OCHA's data responsibility guidance
and its SDC notes name (primary, then secondary suppression of aggregates).

Pure: counts in, the set of hidden areas out.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping


def suppress(
    counts: Mapping[str, int],
    parent_of: Mapping[str, str | None],
    k: int,
    forced: Iterable[str] = (),
) -> frozenset[str]:
    """The areas to hide. `counts` gives every area's count (its own plus everything
    below it); `parent_of` maps each area to its parent (None at the top); areas
    under `k`, and `forced` ones, are hidden first. The result guarantees: for every
    area not hidden, its count minus the counts of its highest published descendants
    (the ones reached through hidden areas only) is 0 or at least `k`."""
    children: dict[str, list[str]] = defaultdict(list)
    for area, parent in parent_of.items():
        if parent is not None and area in counts:
            children[parent].append(area)
    for kids in children.values():
        kids.sort(key=lambda a: (counts[a], a))  # smallest first: cheapest to hide
    hidden = {a for a, n in counts.items() if n < k} | set(forced)
    deepest_first = sorted(counts, key=lambda a: -_depth(a, parent_of))
    changed = True
    while changed:
        changed = False
        for area in deepest_first:
            while area not in hidden and 0 < _unexplained(area, counts, children, hidden) < k:
                hidden.add(_next_to_hide(area, counts, children, hidden))
                changed = True
    return frozenset(hidden)


def _depth(area: str, parent_of: Mapping[str, str | None]) -> int:
    depth, seen = 0, {area}
    parent = parent_of.get(area)
    while parent is not None and parent not in seen:
        seen.add(parent)
        depth += 1
        parent = parent_of.get(parent)
    return depth


def _covered(
    area: str, counts: Mapping[str, int], children: Mapping[str, list[str]], hidden: set[str]
) -> int:
    """How much of `area` its published self or published descendants account for."""
    if area not in hidden:
        return counts[area]
    return sum(_covered(c, counts, children, hidden) for c in children.get(area, ()))


def _unexplained(
    area: str, counts: Mapping[str, int], children: Mapping[str, list[str]], hidden: set[str]
) -> int:
    """What subtracting every published descendant from `area` leaves."""
    return counts[area] - sum(_covered(c, counts, children, hidden) for c in children.get(area, ()))


def _frontier(area: str, children: Mapping[str, list[str]], hidden: set[str]) -> list[str]:
    """The highest published descendants of `area`."""
    out: list[str] = []
    for child in children.get(area, ()):
        if child in hidden:
            out.extend(_frontier(child, children, hidden))
        else:
            out.append(child)
    return out


def _next_to_hide(
    area: str, counts: Mapping[str, int], children: Mapping[str, list[str]], hidden: set[str]
) -> str:
    """The cell to hide so that `area` leaves more unexplained: the smallest of its
    highest published descendants that would add something, else `area` itself (one
    cell lost, where going further down would cost a whole chain of them)."""
    adding = [
        a
        for a in _frontier(area, children, hidden)
        if _unexplained(a, counts, children, hidden) > 0
    ]
    return min(adding, key=lambda a: (counts[a], a)) if adding else area
