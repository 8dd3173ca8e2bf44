"""What the overview shows first, built on the shared tables (services/figures/tables):
every figure here is a tables `Cell`, and each window's cells are hidden as the tables
hide them (under 5 people, or recoverable by subtraction).

- `series`: one cell per 30-day window over the last year, per area (small charts);
- `questions`: every questionnaire item's cell per area, with the share of low answers;
- `falls`: the areas whose index fell most, among those a viewer may see;
- `sparkline`: a series as SVG polyline segments (gaps where a point is withheld).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session

from gateway.domain.trust_index import Aggregate, roll_up
from gateway.gazetteer.index import Gazetteer, gazetteer
from gateway.runtime import Runtime
from gateway.services.figures.measures import trust_aggregates
from gateway.services.figures.tables import (
    CURRENT,
    PREVIOUS,
    Cell,
    Figures,
    cell,
    hidden_areas,
    own_people,
    parent_map,
    people_by_pcode,
    people_of,
)

POINTS = 12  # windows of CURRENT (30 days) in a small chart: a year


def rolled(
    session: Session, gaz: Gazetteer, question: str, start: dt.datetime, end: dt.datetime
) -> dict[str, Aggregate]:
    aggs = trust_aggregates(session, question, start, end)
    by_pcode = {gaz.pcodes[i]: a for i, a in aggs.items() if i in gaz.pcodes}
    return roll_up(by_pcode, parent_map(gaz))


def window(
    session: Session, gaz: Gazetteer, question: str, end: dt.datetime, trend: bool = True
) -> Figures:
    """The tables' figures of one question for the 30 days before `end` (and the 90
    days before those for the trend, when asked)."""
    before = end - CURRENT - PREVIOUS, end - CURRENT
    parents = parent_map(gaz)
    own = own_people(session, gaz, question, end - CURRENT, end)
    return Figures(
        now=end,
        current=rolled(session, gaz, question, end - CURRENT, end),
        previous=rolled(session, gaz, question, *before) if trend else {},
        incidents=Counter(),
        open_alerts=Counter(),
        # The tables' suppression, complementary cells included, for this window.
        hidden=hidden_areas(gaz, parents, own),
        people=people_of(parents, own),
        people_before=people_by_pcode(session, gaz, question, *before) if trend else {},
    )


def series(
    session: Session,
    rt: Runtime,
    pcodes: Sequence[str],
    now: dt.datetime,
    show_small: bool,
    question: str | None = None,
) -> dict[str, list[Cell]]:
    """Per area, one cell per 30-day window over the last year, oldest first."""
    gaz = gazetteer(rt)
    question = question or rt.reference.primary_question
    out: dict[str, list[Cell]] = {p: [] for p in pcodes}
    for i in range(POINTS - 1, -1, -1):
        fig = window(session, gaz, question, now - CURRENT * i, trend=False)
        for p in pcodes:
            out[p].append(cell(fig, gaz, p, show_small))
    return out


@dataclass(frozen=True)
class QuestionResult:
    id: str
    text: str
    cell: Cell
    low_share: float | None  # share of answers 1 or 2, None when suppressed


def questions(
    session: Session, rt: Runtime, pcode: str, now: dt.datetime, show_small: bool, lang: str
) -> list[QuestionResult]:
    """Every questionnaire item at `pcode` in the last 30 days, in questionnaire order."""
    gaz = gazetteer(rt)
    out = []
    for q in rt.reference.menu.questions:
        fig = window(session, gaz, q.id, now)
        c = cell(fig, gaz, pcode, show_small)
        agg = fig.current.get(pcode, Aggregate())
        share = agg.low / agg.n if agg.n and c.index is not None else None
        out.append(QuestionResult(q.id, q.text.get(lang) or q.text.get("fr") or q.id, c, share))
    return out


def falls(cells: Iterable[Cell], limit: int = 5) -> list[Cell]:
    """The cells whose index fell most (trend below zero), largest fall first."""
    down = [c for c in cells if c.trend is not None and c.trend < 0]
    return sorted(down, key=lambda c: (c.trend or 0.0, c.name))[:limit]


@dataclass(frozen=True)
class Spark:
    width: int
    height: int
    lines: list[str]  # SVG polyline points, one per unbroken run
    dots: list[tuple[float, float]]  # lone points between gaps
    last: tuple[float, float] | None


def sparkline(points: Sequence[Cell], width: int = 160, height: int = 40) -> Spark:
    """The index of each point on a fixed 1 to 5 scale, so two areas compare."""
    step = width / max(1, len(points) - 1)
    runs: list[list[tuple[float, float]]] = [[]]
    for i, c in enumerate(points):
        if c.index is None:
            runs.append([])
            continue
        y = height - 2 - (c.index - 1) / 4 * (height - 4)
        runs[-1].append((round(i * step, 1), round(y, 1)))
    lines = [" ".join(f"{x},{y}" for x, y in r) for r in runs if len(r) > 1]
    dots = [r[0] for r in runs if len(r) == 1]
    last = next((r[-1] for r in reversed(runs) if r), None)
    return Spark(width, height, lines, dots, last)
