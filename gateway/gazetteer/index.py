"""The gazetteer as the running gateway sees it: built once from the database, then
read-only and shared by every request (matching, browsing, parents, names)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import select

from gateway.domain.locality_match import FOUND_MIN, Candidate, Entry, LocalityIndex, Resolution
from gateway.domain.locality_match import Place as MatchPlace
from gateway.domain.text import fold
from gateway.domain.ussd_types import Place
from gateway.models import Locality
from gateway.models import Place as PlaceRow
from gateway.runtime import Runtime


class UnknownLocality(LookupError):
    pass


MATCH_MEMORY = 4096


@dataclass(frozen=True)
class Gazetteer:
    index: LocalityIndex
    ids: dict[str, int]
    pcodes: dict[int, str]
    # The index is immutable once built, and a USSD session replays the same typed
    # name at every later step: remember recent answers (per process, bounded).
    _resolve: Callable[[str], Resolution] = field(init=False, repr=False, compare=False)
    _match: Callable[[str, int], list[Candidate]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_resolve", functools.lru_cache(MATCH_MEMORY)(self.index.resolve))
        object.__setattr__(
            self, "_match", functools.lru_cache(MATCH_MEMORY)(lambda q, n: self.index.match(q, n))
        )

    def id_of(self, pcode: str) -> int:
        try:
            return self.ids[pcode]
        except KeyError as exc:
            raise UnknownLocality(pcode) from exc

    def entry(self, locality_id: int) -> Entry:
        entry = self.index.by_pcode(self.pcodes[locality_id])
        assert entry is not None
        return entry

    def name_of(self, locality_id: int) -> str:
        return self.entry(locality_id).name

    def place(self, locality_id: int) -> Place:
        entry = self.entry(locality_id)
        return Place(entry.pcode, entry.name)

    def resolve(self, text: str) -> Resolution:
        return self._resolve(text[:200])

    def search(self, text: str, limit: int = 4) -> list[Place]:
        return [Place(c.pcode, c.name) for c in self._match(text[:200], limit)]

    def children(self, pcode: str | None) -> list[Place]:
        """What a caller browses: regions (then the refugee camps) at the top, then the
        cercles of a region and the communes of a cercle, by name."""
        entries = self.index.children(pcode)
        if pcode is None:
            entries = sorted(entries, key=lambda e: (e.kind != "region", fold(e.name)))
        return [Place(e.pcode, e.name) for e in entries]

    def chain(self, locality_id: int) -> list[int]:
        """The locality and its ancestors, nearest first (commune, cercle, region)."""
        pcode = self.pcodes[locality_id]
        return [locality_id] + [self.ids[e.pcode] for e in self.index.ancestors(pcode)]

    def lookup(self, text: str) -> int | None:
        """A locality typed by an admin: P-code, or a name that resolves clearly."""
        if text.strip().upper() in self.ids:
            return self.ids[text.strip().upper()]
        resolution = self.index.resolve(text)
        if resolution.status == "found" and resolution.best is not None:
            return self.ids[resolution.best.pcode]
        return None


def build_gazetteer(rt: Runtime) -> Gazetteer:
    with rt.sessions() as session:
        rows = session.execute(
            select(
                Locality.id,
                Locality.pcode,
                Locality.kind,
                Locality.name,
                Locality.parent_id,
                Locality.aliases,
            )
        ).all()
        places = session.execute(select(PlaceRow.name, PlaceRow.commune_id, PlaceRow.kind)).all()
    pcodes = {r.id: r.pcode for r in rows}
    entries = [
        Entry(
            pcode=r.pcode,
            kind=str(r.kind),
            name=r.name,
            parent_pcode=pcodes.get(r.parent_id) if r.parent_id else None,
            names=(r.name, *(a for a in r.aliases.split("|") if a)),
        )
        for r in rows
    ]
    index = LocalityIndex(
        entries, (MatchPlace(p.name, pcodes[p.commune_id], p.kind) for p in places)
    )
    return Gazetteer(index, {v: k for k, v in pcodes.items()}, pcodes)


def gazetteer(rt: Runtime) -> Gazetteer:
    return rt.cached("gazetteer", lambda: build_gazetteer(rt))


def unresolved(gaz: Gazetteer, text: str) -> str:
    """Why `text` names no locality clearly: unknown (with the nearest names, if any), or
    ambiguous between candidates that are all good matches."""
    resolution = gaz.resolve(text)
    names = ", ".join(f"{c.name} ({c.pcode})" for c in resolution.candidates)
    if resolution.status != "ambiguous" or not resolution.candidates:
        return f"unknown locality '{text}'"
    if resolution.candidates[0].confidence < FOUND_MIN:
        return f"unknown locality '{text}' (nearest: {names}); give its P-code"
    return f"locality '{text}' is ambiguous: {names}; give its P-code"
