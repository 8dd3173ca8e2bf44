"""Forgiving locality matching: what a citizen types -> a region, cercle, commune or camp.

Pure Python (standard library + rapidfuzz). Build a `LocalityIndex` once from the
gazetteer rows, then call `match()` for ranked candidates or `resolve()` for a decision.

Names are compared on their `squash()` form (lower case, no accents, no punctuation,
no spaces), so "Ségou-Koro", "segou koro" and "SEGOUKORO" are the same key. Each key
points at one or more localities with a weight saying how the name belongs to it:

* official name of the locality ........... 1.00
* alias (other spelling, exonym) .......... 0.97
* town (COD chef-lieu or GeoNames town) ... 0.90   -> its commune
* alternate spelling of such a town ....... 0.88   -> its commune
* village ................................. 0.85   -> its commune

An exact key match scores the weight; a fuzzy match (rapidfuzz `ratio` on squashed
forms, or a prefix of a longer name) scores weight x similarity x 0.95, so a typo never
beats an exact hit. Each locality keeps its best score (one candidate per locality; a
village resolves to its commune and `via` says so).

Nesting rule: when a name is shared by a unit and something inside it ("Mopti" is a
region, a cercle and a commune; "Dioïla" a cercle and the town of Kaladougou commune),
the enclosing unit is demoted (x0.8) if an inner candidate scores within 0.12 of it:
the most specific place wins, and its parents follow from the hierarchy. So "Mopti"
resolves to the commune of Mopti, "Bamako" to the cercle (= district) of Bamako, and
"Taoudénit" to the Taoudénit region (nothing below it). A word like "région",
"cercle", "commune" or "camp" in the query asks for that level instead: other kinds
are scaled by 0.85 and the asked-for kind is not demoted ("région de Mopti" -> ML05).

`resolve()` then says:

* found     - top candidate >= 0.72 and at least 0.05 ahead of the next one. An exact
              official commune name (1.00) therefore beats villages of the same name
              (0.85): "Léré" is the commune Léré, with the two Léré villages offered as
              lower candidates by `match()`.
* ambiguous - several different localities are about as good (two communes called
              "Benkadi", a village name found in several communes), or the only
              candidate is too weak to act on without confirmation (0.60..0.72).
* unknown   - nothing reaches 0.60, the query has fewer than 3 letters/digits, or it is
              only filler words ("camp", "commune") that are no official name.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

from rapidfuzz import fuzz, process

from gateway.domain.text import fold, squash

__all__ = [
    "Candidate",
    "Entry",
    "LocalityIndex",
    "Place",
    "Resolution",
]

# Words people wrap around a place name; dropped from the query (not from names).
NOISE_WORDS = frozenset(
    {
        "a", "au", "aux", "in", "near", "at", "to", "the", "of", "from", "en", "dans",
        "pres", "vers", "cote", "chez", "de", "du", "des", "d", "la", "le", "les", "l",
        "camp", "camps", "site", "refugies", "refugie", "refugees", "refugee",
        "commune", "cercle", "region", "district", "village", "ville", "town", "city",
        "quartier", "je", "suis", "nous", "sommes", "on", "est", "ici", "i", "am", "we",
        "are", "here", "me", "moi", "localite", "lieu",
    }
)  # fmt: skip
# Words that say which level the citizen means.
KIND_HINTS = {
    "region": "region",
    "cercle": "cercle",
    "commune": "commune",
    "camp": "camp",
    "camps": "camp",
    "refugies": "camp",
    "refugees": "camp",
}

WEIGHTS = {"official": 1.0, "alias": 0.97, "town": 0.90, "alt-name": 0.88, "village": 0.85}
FUZZY_FACTOR = 0.95
TOKEN_FACTOR = 0.8  # exact hit on one word / two words of a longer query
NEST_DEMOTION = 0.8
NEST_WINDOW = 0.12
HINT_FACTOR = 0.85
FOUND_MIN = 0.72
FOUND_MARGIN = 0.05
UNKNOWN_BELOW = 0.60
MIN_QUERY_CHARS = 3
_FUZZY_LIMIT = 40
_PREFIX_LIMIT = 30
_KIND_ORDER = {"commune": 0, "camp": 1, "cercle": 2, "region": 3}

Status = Literal["found", "ambiguous", "unknown"]


class LocalityLike(Protocol):
    @property
    def pcode(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def parent_pcode(self) -> str | None: ...
    @property
    def aliases(self) -> Sequence[str]: ...


class PlaceLike(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def commune_pcode(self) -> str: ...
    @property
    def kind(self) -> str: ...


@dataclass(frozen=True)
class Entry:
    """A locality: `names` = official name first, then aliases."""

    pcode: str
    kind: str
    name: str
    parent_pcode: str | None
    names: tuple[str, ...]


@dataclass(frozen=True)
class Place:
    """A town or village (or another spelling of a town) inside a commune."""

    name: str
    commune_pcode: str
    kind: str = "village"


@dataclass(frozen=True)
class Candidate:
    pcode: str
    name: str
    kind: str
    confidence: float
    via: str


@dataclass(frozen=True)
class Resolution:
    query: str
    status: Status
    candidates: tuple[Candidate, ...] = ()
    best: Candidate | None = field(default=None)


# A key's target: (pcode, weight, via text)
_Target = tuple[str, float, str]


class LocalityIndex:
    """Immutable lookup structure; build once, share between requests (read-only)."""

    def __init__(self, entries: Iterable[Entry], places: Iterable[Place] = ()) -> None:
        self._entries: dict[str, Entry] = {}
        for entry in entries:
            if entry.pcode in self._entries:
                raise ValueError(f"duplicate pcode {entry.pcode}")
            self._entries[entry.pcode] = entry
        self._children = self._sorted_children()
        self._ancestors: dict[str, frozenset[str]] = {
            pcode: frozenset(e.pcode for e in self.ancestors(pcode)) for pcode in self._entries
        }
        self._exact: dict[str, tuple[_Target, ...]] = self._exact_keys(places)
        self._keys: list[str] = sorted(self._exact)

    def _sorted_children(self) -> dict[str | None, list[Entry]]:
        children: dict[str | None, list[Entry]] = {}
        for entry in self._entries.values():
            parent = entry.parent_pcode if entry.parent_pcode in self._entries else None
            children.setdefault(parent, []).append(entry)
        for kids in children.values():
            kids.sort(key=lambda e: (_KIND_ORDER.get(e.kind, 9), fold(e.name), e.pcode))
        return children

    def _exact_keys(self, places: Iterable[Place]) -> dict[str, tuple[_Target, ...]]:
        """Each squashed name (official, alias, or a place inside a commune) -> the
        localities it names, with the weight of the best way it names each."""
        exact: dict[str, dict[str, tuple[float, str]]] = {}

        def add(key: str, pcode: str, weight: float, via: str) -> None:
            if not key:
                return
            slot = exact.setdefault(key, {})
            if pcode not in slot or slot[pcode][0] < weight:
                slot[pcode] = (weight, via)

        for entry in self._entries.values():
            for i, name in enumerate(entry.names or (entry.name,)):
                add(squash(name), entry.pcode, WEIGHTS["official" if i == 0 else "alias"], name)
        for place in places:
            commune = self._entries.get(place.commune_pcode)
            if commune is None:
                continue
            kind = place.kind if place.kind in WEIGHTS else "village"
            label = "town" if kind == "alt-name" else kind
            via = f"{place.name} ({label} in {commune.name})"
            add(squash(place.name), commune.pcode, WEIGHTS[kind], via)
        return {key: tuple((p, w, v) for p, (w, v) in slot.items()) for key, slot in exact.items()}

    # -- construction ------------------------------------------------------------------
    @classmethod
    def build(
        cls, localities: Iterable[LocalityLike], places: Iterable[PlaceLike] = ()
    ) -> LocalityIndex:
        """From gazetteer rows (e.g. `gateway.gazetteer.files.read_localities()` and
        `read_places()`, or ORM objects with the same attributes)."""
        entries = [
            Entry(
                pcode=row.pcode,
                kind=row.kind,
                name=row.name,
                parent_pcode=row.parent_pcode or None,
                names=(row.name, *(a for a in row.aliases if a)),
            )
            for row in localities
        ]
        return cls(entries, (Place(p.name, p.commune_pcode, p.kind) for p in places))

    # -- browsing ----------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._entries)

    @property
    def key_count(self) -> int:
        return len(self._keys)

    def by_pcode(self, pcode: str) -> Entry | None:
        return self._entries.get(pcode)

    def children(self, pcode: str | None = None) -> list[Entry]:
        """Direct children sorted by name; `None` gives the top level (regions, then
        camps)."""
        return list(self._children.get(pcode, ()))

    def ancestors(self, pcode: str) -> list[Entry]:
        """Parent, grand-parent, ... of `pcode` (nearest first)."""
        out: list[Entry] = []
        seen = {pcode}
        entry = self._entries.get(pcode)
        while entry is not None and entry.parent_pcode and entry.parent_pcode not in seen:
            seen.add(entry.parent_pcode)
            entry = self._entries.get(entry.parent_pcode)
            if entry is not None:
                out.append(entry)
        return out

    def is_name(self, text: str) -> bool:
        """`text` is exactly (once squashed) a locality's name or alias, or a town or
        village: a cheap test before matching every run of words in a message."""
        return squash(text) in self._exact

    # -- matching ----------------------------------------------------------------------
    def match(self, query: str, limit: int = 5) -> list[Candidate]:
        """Ranked candidates (best first), at most one per locality."""
        tokens = fold(query).split()
        hint = next((KIND_HINTS[t] for t in tokens if t in KIND_HINTS), None)
        kept = [t for t in tokens if t not in NOISE_WORDS]
        variants = {k: None for k in ("".join(tokens), "".join(kept)) if len(k) >= MIN_QUERY_CHARS}
        if not variants or limit <= 0:
            return []

        best: dict[str, tuple[float, str]] = {}

        def offer(targets: Iterable[_Target], factor: float) -> None:
            for pcode, weight, via in targets:
                score = weight * factor
                cur = best.get(pcode)
                if cur is None or score > cur[0]:
                    best[pcode] = (score, via)

        for targets, factor in self._offers(list(variants), kept):
            offer(targets, factor)

        scored = self._adjust(best, hint)
        scored.sort(key=lambda c: (-c.confidence, _KIND_ORDER.get(c.kind, 9), c.name, c.pcode))
        return scored[:limit]

    def _offers(
        self, variants: list[str], kept: list[str]
    ) -> Iterator[tuple[Iterable[_Target], float]]:
        """What a query's variants and words offer, each with its factor."""
        if not kept:
            # Only noise words ("camp", "commune", "commune i"): exact official names and
            # aliases only, so a lone "camp" does not pick the village called Camp.
            for key in variants:
                yield (t for t in self._exact.get(key, ()) if t[1] >= WEIGHTS["alias"]), 1.0
            return
        for key in variants:
            hit = self._exact.get(key)
            if hit:
                yield hit, 1.0
            for other, factor in self._near_keys(key):
                yield self._exact[other], factor
        # Single words / word pairs of a longer query ("sevare mopti", "kati koro ...").
        if len(kept) >= 2:
            for part in [*kept, *(a + b for a, b in itertools.pairwise(kept))]:
                if len(part) >= MIN_QUERY_CHARS + 1 and part in self._exact:
                    yield self._exact[part], TOKEN_FACTOR

    def _near_keys(self, key: str) -> Iterator[tuple[str, float]]:
        """Other keys close to `key` (by spelling, or that it begins), with the factor
        their weights are offered at."""
        cutoff = 85.0 if len(key) <= 4 else 75.0 if len(key) <= 6 else 70.0
        for other, score, _ in process.extract(
            key, self._keys, scorer=fuzz.ratio, limit=_FUZZY_LIMIT, score_cutoff=cutoff
        ):
            if other != key:
                yield other, score / 100.0 * FUZZY_FACTOR
        if len(key) >= 5:
            start = bisect.bisect_left(self._keys, key)
            for other in self._keys[start : start + _PREFIX_LIMIT]:
                if not other.startswith(key):
                    break
                if other != key:
                    yield other, (0.7 + 0.25 * len(key) / len(other)) * FUZZY_FACTOR

    def _adjust(self, best: dict[str, tuple[float, str]], hint: str | None) -> list[Candidate]:
        """Apply the kind hint, then demote enclosing units that have a good inner
        candidate (see the nesting rule in the module docstring)."""
        if hint is not None and not any(
            s >= UNKNOWN_BELOW and self._entries[p].kind == hint for p, (s, _) in best.items()
        ):
            hint = None  # "camp" in "Baguineda Camp" (a commune) is part of the name
        scores: dict[str, float] = {}
        for pcode, (score, _) in best.items():
            kind = self._entries[pcode].kind
            scores[pcode] = score * HINT_FACTOR if hint is not None and kind != hint else score
        inner_best: dict[str, float] = {}
        for pcode, score in scores.items():
            for ancestor in self._ancestors[pcode]:
                if score > inner_best.get(ancestor, -1.0):
                    inner_best[ancestor] = score
        out: list[Candidate] = []
        for pcode, score in scores.items():
            entry = self._entries[pcode]
            inner = inner_best.get(pcode)
            if inner is not None and inner >= score - NEST_WINDOW and entry.kind != hint:
                score *= NEST_DEMOTION
            out.append(
                Candidate(
                    pcode=pcode,
                    name=entry.name,
                    kind=entry.kind,
                    confidence=round(min(1.0, max(0.0, score)), 4),
                    via=best[pcode][1],
                )
            )
        return out

    def resolve(self, query: str, limit: int = 5) -> Resolution:
        """Decide what `query` names; see the module docstring for the rules."""
        candidates = self.match(query, limit=max(limit, 2))
        if not candidates or candidates[0].confidence < UNKNOWN_BELOW:
            return Resolution(query=query, status="unknown")
        top = candidates[0]
        runner_up = candidates[1].confidence if len(candidates) > 1 else 0.0
        if top.confidence >= FOUND_MIN and top.confidence - runner_up >= FOUND_MARGIN - 1e-9:
            return Resolution(
                query=query, status="found", candidates=tuple(candidates[:limit]), best=top
            )
        close = [c for c in candidates if top.confidence - c.confidence < 0.1]
        return Resolution(query=query, status="ambiguous", candidates=tuple(close[:limit]))
