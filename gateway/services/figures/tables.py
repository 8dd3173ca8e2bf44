"""The figures the overview, the map, the CSV export and the API share: per-level
trust index tables rolled up from the localities, with small cells suppressed.

A cell resting on fewer than K_MIN distinct reporters is shown to admins only; every
other role gets "< 5" and no figure of it (index, trend, incidents, open alerts), so
no small group can be singled out. Cells are also hidden when a published parent
minus its published children would reveal them (complementary suppression,
`gateway.domain.suppression`): the pattern is computed once per `figures()` over the
whole hierarchy, so every output built here (overview, map, export, API) hides the
same cells.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, replace

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gateway.domain.findings import welch_p
from gateway.domain.rules import MIN_REPORTERS_FLOOR
from gateway.domain.suppression import people_below, suppress
from gateway.domain.surveillance import benjamini_hochberg
from gateway.domain.trust_index import (
    COUNTRY_NAME,
    COUNTRY_PCODE,
    NATIONAL,
    Aggregate,
    difference_ci,
    mean_ci,
    roll_up,
)
from gateway.gazetteer.index import Gazetteer, gazetteer
from gateway.models import Alert, AlertState, Incident
from gateway.runtime import Runtime
from gateway.services.figures.measures import trust_aggregates, trust_pairs, trust_people

K_MIN = MIN_REPORTERS_FLOOR  # the floor below which no figure is published
CURRENT = dt.timedelta(days=30)
PREVIOUS = dt.timedelta(days=90)  # the trend compares the current 30 days to these 90
LEVELS = ("national", "region", "cercle", "commune")


@dataclass(frozen=True)
class Cell:
    """One area's figures as a given viewer may see them (None when suppressed)."""

    pcode: str
    name: str
    kind: str
    locality_id: int | None
    reporters: int
    suppressed: bool
    index: float | None
    low: float | None
    high: float | None
    trend: float | None
    # The trend is clear of zero with the false discovery rate across the table's areas
    # held at 5% (Benjamini–Hochberg on the two-sided Welch p-values; `table`); a cell
    # alone says whether its 95% interval excludes zero.
    trend_clear: bool
    incidents: int | None
    open_alerts: int | None

    @property
    def reporters_shown(self) -> str:
        # One mark for every hidden cell: telling the small ones from those hidden to
        # protect them would say where the small ones are.
        return "—" if self.suppressed else str(self.reporters)

    @property
    def incidents_shown(self) -> str:
        return "—" if self.incidents is None else str(self.incidents)

    @property
    def open_alerts_shown(self) -> str:
        return "—" if self.open_alerts is None else str(self.open_alerts)

    trend_p: float | None = None  # two-sided Welch p-value of the trend


@dataclass(frozen=True)
class Figures:
    """Every area's raw figures at `now`, before anyone's suppression."""

    now: dt.datetime
    current: dict[str, Aggregate]
    previous: dict[str, Aggregate]
    incidents: Counter[str]
    open_alerts: Counter[str]
    # Areas whose figures only admins see: under K_MIN reporters, or recoverable from
    # a published parent minus its published children.
    hidden: frozenset[str] = frozenset()
    # Distinct people per area in `current` and `previous` (an area's aggregate counts
    # person-locality pairs: one who rated two communes is two answers, one person).
    # None: the aggregates' counts.
    people: dict[str, int] | None = None
    people_before: dict[str, int] | None = None


def people_by_pcode(
    session: Session, gaz: Gazetteer, question: str, start: dt.datetime, end: dt.datetime
) -> dict[str, int]:
    """`measures.trust_people` keyed by P-code (NATIONAL for the country)."""
    found = trust_people(session, question, start, end)
    out = {gaz.pcodes[i]: n for i, n in found.items() if i is not None and i in gaz.pcodes}
    out[NATIONAL] = found.get(None, 0)
    return out


def parent_map(gaz: Gazetteer) -> dict[str, str | None]:
    """P-code → parent P-code (None at the top) for every locality."""
    out: dict[str, str | None] = {}
    for pcode in gaz.ids:
        entry = gaz.index.by_pcode(pcode)
        out[pcode] = entry.parent_pcode if entry is not None else None
    return out


def _rolled_counts(gaz: Gazetteer, per_locality: Iterable[tuple[int, int]]) -> Counter[str]:
    out: Counter[str] = Counter()
    for loc, n in per_locality:
        if loc not in gaz.pcodes:
            continue
        for area in gaz.chain(loc):
            out[gaz.pcodes[area]] += n
        out[NATIONAL] += n
    return out


def figures(session: Session, rt: Runtime, now: dt.datetime) -> Figures:
    """Trust in the last 30 days and the 90 before, incidents of the last 30 days
    (burst-flagged ones left out) and open alerts, each rolled up to every area."""
    gaz, question = gazetteer(rt), rt.reference.primary_question
    parents = parent_map(gaz)

    def rolled(start: dt.datetime, end: dt.datetime) -> dict[str, Aggregate]:
        aggs = trust_aggregates(session, question, start, end)
        return roll_up({gaz.pcodes[i]: a for i, a in aggs.items() if i in gaz.pcodes}, parents)

    incidents = session.execute(
        select(Incident.locality_id, func.count())
        .where(
            Incident.reported_at >= now - CURRENT,
            Incident.reported_at < now,
            Incident.burst.is_(False),
        )
        .group_by(Incident.locality_id)
    ).all()
    alerts = session.execute(
        select(Alert.locality_id, func.count())
        .where(Alert.state != AlertState.CLOSED)
        .group_by(Alert.locality_id)
    ).all()
    current = rolled(now - CURRENT, now)
    own = own_people(session, gaz, question, now - CURRENT, now)
    people = people_of(parents, own)  # from the same pairs: no second query
    before = now - CURRENT - PREVIOUS, now - CURRENT
    return Figures(
        now=now,
        current=current,
        previous=rolled(*before),
        incidents=_rolled_counts(gaz, ((int(a), int(b)) for a, b in incidents)),
        open_alerts=_rolled_counts(gaz, ((int(a), int(b)) for a, b in alerts)),
        hidden=hidden_areas(gaz, parents, own),
        people=people,
        people_before=people_by_pcode(session, gaz, question, *before),
    )


def own_people(
    session: Session, gaz: Gazetteer, question: str, start: dt.datetime, end: dt.datetime
) -> dict[str, set[int]]:
    """`measures.trust_pairs` keyed by P-code: the people of each locality's own
    answers, what `hidden_areas` works on."""
    found = trust_pairs(session, question, start, end)
    return {gaz.pcodes[i]: who for i, who in found.items() if i in gaz.pcodes}


def _tree(parents: dict[str, str | None]) -> dict[str, str | None]:
    """The gazetteer's tree with the nation at its top."""
    tree: dict[str, str | None] = {p: parent or NATIONAL for p, parent in parents.items()}
    tree[NATIONAL] = None
    return tree


def people_of(parents: dict[str, str | None], own: dict[str, set[int]]) -> dict[str, int]:
    """Distinct people per area (NATIONAL for the country) from `own_people`: the
    counts of `people_by_pcode`, without querying again."""
    return people_below(own, _tree(parents))


def hidden_of_window(gaz: Gazetteer, own: dict[str, set[int]]) -> frozenset[str]:
    """The suppression pattern of one window's people per locality (`own_people`; the
    digest, a locality's time series): the same rule as the tables, for other
    windows."""
    return hidden_areas(gaz, parent_map(gaz), own)


def hidden_areas(
    gaz: Gazetteer, parents: dict[str, str | None], own: dict[str, set[int]]
) -> frozenset[str]:
    """The suppression pattern of every area of the gazetteer and the nation: the
    areas of fewer than K_MIN distinct people, then the complementary cells, each
    remainder counted in distinct people (`gateway.domain.suppression`)."""
    return suppress(own, _tree(parents), K_MIN)


def cell(fig: Figures, gaz: Gazetteer, pcode: str, show_small: bool) -> Cell:
    """One area's row; under K_MIN reporters the index and trend are withheld unless
    `show_small` (admins)."""
    agg = fig.current.get(pcode, Aggregate())
    before = fig.previous.get(pcode, Aggregate())
    n = agg.n if fig.people is None else fig.people.get(pcode, 0)
    n_before = before.n if fig.people_before is None else fig.people_before.get(pcode, 0)
    suppressed = (pcode in fig.hidden or n < K_MIN) and not show_small
    interval = None if suppressed else mean_ci(agg)
    trend = None
    if not suppressed and (show_small or n_before >= K_MIN):
        trend = difference_ci(agg, before)
    loc = gaz.ids.get(pcode)
    entry = gaz.index.by_pcode(pcode) if loc is not None else None
    return Cell(
        pcode=pcode,
        name=entry.name if entry is not None else COUNTRY_NAME,
        kind=entry.kind if entry is not None else "national",
        locality_id=loc,
        reporters=n,
        suppressed=suppressed,
        index=None if suppressed else agg.mean,
        low=interval.low if interval else None,
        high=interval.high if interval else None,
        trend=trend.value if trend else None,
        trend_clear=bool(trend and trend.interval and not trend.interval.contains(0.0)),
        trend_p=_two_sided_p(agg, before) if trend else None,
        incidents=None if suppressed else fig.incidents.get(pcode, 0),
        open_alerts=None if suppressed else fig.open_alerts.get(pcode, 0),
    )


def visible(gaz: Gazetteer, pcodes: Iterable[str], area: set[int] | None) -> list[str]:
    """The P-codes a viewer limited to `area` (None: everything) may see."""
    return [p for p in pcodes if area is None or gaz.ids.get(p) in area]


def level_pcodes(gaz: Gazetteer, level: str) -> list[str]:
    """Every locality of a level, by region then name; "region" includes the camps,
    which have no region above them."""
    if level == "national":
        return [NATIONAL]
    tops = [p.pcode for p in gaz.children(None)]
    if level == "region":
        return tops
    cercles = [c.pcode for top in tops for c in gaz.children(top)]
    if level == "cercle":
        return cercles
    return [c.pcode for cercle in cercles for c in gaz.children(cercle)]


def table(
    fig: Figures,
    gaz: Gazetteer,
    pcodes: Iterable[str],
    *,
    show_small: bool,
    area: set[int] | None,
) -> list[Cell]:
    """The cells of `pcodes` the viewer may see, in order; the national row only for
    viewers without an area limit."""
    wanted = [p for p in pcodes if p != NATIONAL or area is None]
    cells = [
        cell(fig, gaz, p, show_small)
        for p in wanted
        if p == NATIONAL or p in visible(gaz, [p], area)
    ]
    # "Trend clear" across many communes: 5% of 700 would carry it by chance alone.
    clear = benjamini_hochberg([c.trend_p for c in cells], FDR)
    return [replace(c, trend_clear=flag) for c, flag in zip(cells, clear, strict=True)]


FDR = 0.05


def _two_sided_p(current: Aggregate, before: Aggregate) -> float | None:
    one = welch_p(current, before)
    return None if one is None else min(1.0, 2 * min(one, 1 - one))


# The fields of an area's record, in order: the CSV export's columns and the API's
# TrustPage items (gateway/api/openapi.py) both come from here.
RECORD_FIELDS = (
    "pcode",
    "name",
    "kind",
    "reporters",
    "suppressed",
    "index",
    "index_low",
    "index_high",
    "trend",
    "incidents_30d",
    "open_alerts",
)


def as_record(c: Cell) -> dict[str, object]:
    """A row for CSV and JSON: rounded; a suppressed cell's counts are withheld (None)."""

    def r(x: float | None) -> float | None:
        return None if x is None else round(x, 3)

    return {
        "pcode": COUNTRY_PCODE if c.pcode == NATIONAL else c.pcode,
        "name": c.name,
        "kind": c.kind,
        "reporters": None if c.suppressed else c.reporters,
        "suppressed": c.suppressed,
        "index": r(c.index),
        "index_low": r(c.low),
        "index_high": r(c.high),
        "trend": r(c.trend),
        "incidents_30d": c.incidents,
        "open_alerts": c.open_alerts,
    }


def level_records(
    session: Session, rt: Runtime, level: str, *, show_small: bool, area: set[int] | None
) -> list[dict[str, object]]:
    """The overview table of one level as plain records (export and API)."""
    gaz = gazetteer(rt)
    fig = figures(session, rt, rt.now())
    return [
        as_record(c)
        for c in table(fig, gaz, level_pcodes(gaz, level), show_small=show_small, area=area)
    ]


def top_pcodes(gaz: Gazetteer, area: set[int] | None) -> list[str]:
    """Where a viewer's overview starts: the regions and camps, or for a viewer limited
    to an area the highest localities of that area."""
    tops = [p.pcode for p in gaz.children(None)]
    if area is None:
        return tops
    inside = visible(gaz, tops, area)
    if inside:
        return inside
    highest = [i for i in area if not (set(gaz.chain(i)[1:]) & area)]
    return sorted((gaz.pcodes[i] for i in highest if i in gaz.pcodes), key=gaz.ids.__getitem__)
