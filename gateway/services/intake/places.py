"""What a reporter typed as a place, understood: one locality, a few to choose from,
or nothing. Shared by SMS and USSD, so both offer the same candidates and name them
the same way ("Menaka (commune, Menaka)", "Menaka (cercle)", "Benkadi (Dioila)")."""

from __future__ import annotations

from dataclasses import dataclass

from gateway.domain.locality_match import Candidate, Resolution
from gateway.domain.text import fold
from gateway.gazetteer.index import Gazetteer

# A candidate is offered only if it matches well and is not far behind the best, so a
# name that matches nothing well gets "not found" rather than unrelated communes.
OFFER_MIN = 0.70
OFFER_WINDOW = 0.18
# Ratings and incidents are about a commune or a camp: a wider area leads on to them.
REPORT_LEVELS = frozenset({"commune", "camp"})


@dataclass(frozen=True)
class Understood:
    """`pcode` is the locality; `shown` how a reply names it."""

    pcode: str
    shown: str


def offered(resolution: Resolution, limit: int) -> list[Candidate]:
    """The candidates worth showing for a typed name, best first (none when nothing
    matches well)."""
    candidates = list(resolution.candidates)
    if resolution.best is not None and resolution.best not in candidates:
        candidates.insert(0, resolution.best)
    if not candidates or candidates[0].confidence < OFFER_MIN:
        return []
    floor = max(OFFER_MIN, candidates[0].confidence - OFFER_WINDOW)
    return [c for c in candidates if c.confidence >= floor][:limit]


def score(gaz: Gazetteer, text: str) -> float:
    """How well `text` names some locality (0: not at all), to split it from the
    words around it."""
    found = offered(gaz.resolve(text), 1)
    return found[0].confidence if found else 0.0


def understood(gaz: Gazetteer, candidate: Candidate) -> Understood:
    """A town typed is named with its commune ("Sevare (Mopti)"); a commune with its
    cercle ("Benkadi (Dioila)")."""
    typed = candidate.via.split(" (")[0]
    if fold(typed) != fold(candidate.name):
        return Understood(candidate.pcode, f"{typed} ({candidate.name})")
    return Understood(candidate.pcode, confirmation(gaz, candidate.pcode))


def confirmation(gaz: Gazetteer, pcode: str) -> str:
    """How a confirmation names a locality: a commune with its cercle."""
    entry = gaz.index.by_pcode(pcode)
    if entry is None:
        return pcode
    parents = gaz.index.ancestors(pcode)
    if entry.kind == "commune" and parents:
        return f"{entry.name} ({parents[0].name})"
    return entry.name


def level(gaz: Gazetteer, pcode: str) -> str:
    entry = gaz.index.by_pcode(pcode)
    return entry.kind if entry is not None else ""


def parent_name(gaz: Gazetteer, pcode: str) -> str:
    parents = gaz.index.ancestors(pcode)
    return parents[0].name if parents else ""


def choice_label(gaz: Gazetteer, pcode: str, level_word: str, width: int) -> str:
    """A choice a person can tell from the others: "Menaka (commune, Menaka)",
    "Menaka (cercle)", within `width` characters (the name is cut, never the rest)."""
    entry = gaz.index.by_pcode(pcode)
    if entry is None:
        return pcode[:width]
    parent = parent_name(gaz, pcode)
    detail = f"{level_word}, {parent}" if entry.kind == "commune" and parent else level_word
    room = max(6, width - len(detail) - 3)
    name = entry.name if len(entry.name) <= room else entry.name[: room - 1].rstrip() + "."
    return f"{name} ({detail})"[:width]


def communes_under(gaz: Gazetteer, pcode: str) -> list[str]:
    """The communes and camps inside an area, by name."""
    out: list[str] = []
    stack = [pcode]
    while stack:
        for child in gaz.index.children(stack.pop()):
            if child.kind in REPORT_LEVELS:
                out.append(child.pcode)
            else:
                stack.append(child.pcode)
    return out
