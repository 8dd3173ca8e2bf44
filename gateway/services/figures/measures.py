"""What the rules and the console measure, computed in SQL with GROUP BY so a pass
costs in proportion to the localities and the ratings inside the windows, not to the
whole history (the indexes on (question, rated_at) and (locality_id, reported_at)
serve these queries).

Trust uses the questionnaire's first item (trust in the DSF), the latest answer of
each reporter per locality in the window, leaving out burst-flagged answers.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, and_, case, func, null, select, union, union_all
from sqlalchemy.orm import Session, aliased

from gateway.domain.findings import Tally, WeeklyAnswers
from gateway.domain.trust_index import LOW_ANSWER_MAX, Aggregate
from gateway.models import Incident, Locality, TrustRating
from gateway.services.figures import rollup


def trust_aggregates(
    session: Session, question: str, start: dt.datetime, end: dt.datetime
) -> dict[int, Aggregate]:
    """Per locality: n distinct reporters, sum, sum of squares and low answers of each
    reporter's latest answer to `question` in [start, end)."""
    ranked = (
        select(
            TrustRating.locality_id,
            TrustRating.value,
            func.row_number()
            .over(
                partition_by=(TrustRating.locality_id, TrustRating.reporter_id),
                order_by=(TrustRating.rated_at.desc(), TrustRating.id.desc()),
            )
            .label("rn"),
        )
        .where(
            TrustRating.question == question,
            TrustRating.rated_at >= start,
            TrustRating.rated_at < end,
            TrustRating.burst.is_(False),
        )
        .subquery()
    )
    value = ranked.c.value
    rows = session.execute(
        select(
            ranked.c.locality_id,
            func.count(),
            func.sum(value),
            func.sum(value * value),
            func.sum(case((value <= LOW_ANSWER_MAX, 1), else_=0)),
        )
        .where(ranked.c.rn == 1)
        .group_by(ranked.c.locality_id)
    ).all()
    return {
        loc: Aggregate(n=int(n), total=float(s), total_sq=float(sq), low=int(low))
        for loc, n, s, sq, low in rows
    }


def trust_people(
    session: Session, question: str, start: dt.datetime, end: dt.datetime
) -> dict[int | None, int]:
    """Per area (a locality and every locality under it; None: the country), the
    distinct people counted in `trust_aggregates` of its localities: one person who
    rated two communes of a cercle is one person of that cercle, not two. The areas
    are at most three levels deep (region, cercle, commune), so each rated locality's
    chain is two joins on the primary key (a recursive CTE cost 40 times more on
    SQLite: its join to the ratings found no index)."""
    rated = _rated(question, start, end).cte("rated")
    own, up = aliased(Locality), aliased(Locality)
    chains = (
        select(rated.c.reporter_id, own.id.label("a0"), own.parent_id.label("a1"))
        .add_columns(up.parent_id.label("a2"))
        .join(own, own.id == rated.c.locality_id)
        .outerjoin(up, up.id == own.parent_id)
        .cte("chains")
    )
    country = select(null().label("area_id"), chains.c.reporter_id)  # NULL: the country
    levels = union_all(
        country,
        *(
            select(column.label("area_id"), chains.c.reporter_id).where(column.is_not(None))
            for column in (chains.c.a0, chains.c.a1, chains.c.a2)
        ),
    ).subquery()
    people = func.count(func.distinct(levels.c.reporter_id))
    by_area = select(levels.c.area_id, people).group_by(levels.c.area_id)
    out: dict[int | None, int] = {None: 0}
    for area, n in session.execute(by_area):
        out[None if area is None else int(area)] = int(n)
    return out


def _rated(question: str, start: dt.datetime, end: dt.datetime) -> Select[int, int]:
    """The distinct (locality, reporter) pairs of `trust_aggregates`' answers."""
    return (
        select(TrustRating.locality_id, TrustRating.reporter_id)
        .where(
            TrustRating.question == question,
            TrustRating.rated_at >= start,
            TrustRating.rated_at < end,
            TrustRating.burst.is_(False),
        )
        .distinct()
    )


def trust_pairs(
    session: Session, question: str, start: dt.datetime, end: dt.datetime
) -> dict[int, set[int]]:
    """Per locality, the reporters (ids, never a number) counted in `trust_aggregates`
    in [start, end): the sets complementary suppression counts people over, since
    people of several localities make counts that do not subtract."""
    rows = session.execute(_rated(question, start, end))
    out: dict[int, set[int]] = defaultdict(set)
    for loc, reporter in rows:
        out[int(loc)].add(int(reporter))
    return dict(out)


def residual_weeks(
    session: Session, question: str, start: dt.datetime, periods: int
) -> dict[int, WeeklyAnswers]:
    """Per locality, for `periods` calendar weeks from the Monday `start`: n, Σr, Σr² of
    the residuals (`rollup.residuals`, in RESIDUAL_SCALE units) of each reporter's
    latest unflagged answer to `question` in each week, from a scan of every such
    answer before the last week's end (a residual rests on all earlier answers)."""
    a = rollup.day_of(start)
    end = start + dt.timedelta(weeks=periods)
    rows = session.execute(
        select(TrustRating.locality_id, TrustRating.reporter_id, TrustRating.value,
               TrustRating.rated_at)
        .where(TrustRating.question == question, TrustRating.burst.is_(False),
               TrustRating.rated_at < end)
        .order_by(TrustRating.locality_id, TrustRating.reporter_id, TrustRating.rated_at,
                  TrustRating.id)
    ).all()  # fmt: skip
    out: dict[int, WeeklyAnswers] = {}
    for (loc, _), group in itertools.groupby(rows, key=lambda r: (r[0], r[1])):
        chain = list(group)
        weeks = [rollup.monday(rollup.day_of(r[3])) for r in chain]
        values = rollup.residuals([int(r[2]) for r in chain])
        for i, (week, v) in enumerate(zip(weeks, values, strict=True)):
            latest = i + 1 == len(chain) or weeks[i + 1] > week
            if v is None or not latest or not a <= week < a + 7 * periods:
                continue
            cols = out.get(loc)
            if cols is None:
                cols = out[loc] = WeeklyAnswers([0.0] * periods, [0.0] * periods, [0.0] * periods)
            j = (week - a) // 7
            cols.n[j] += 1
            cols.total[j] += v
            cols.total_sq[j] += v * v
    return out


@dataclass
class ReportCounts:
    """Reports (rating submissions and incidents) of one locality in two windows."""

    current: Tally = field(default_factory=lambda: Tally(0))
    baseline: Tally = field(default_factory=lambda: Tally(0))
    baseline_reporters: int = 0


def _split(column: Any, since: dt.datetime, burst: Any) -> list[Any]:
    """Four sums: current unflagged, current burst, baseline unflagged, baseline burst."""
    recent, old = column >= since, column < since
    plain, flagged = burst.is_(False), burst.is_(True)
    return [
        func.sum(case((and_(when, kind), 1), else_=0))
        for when in (recent, old)
        for kind in (plain, flagged)
    ]


def report_counts(
    session: Session,
    question: str,
    baseline_start: dt.datetime,
    current_start: dt.datetime,
    end: dt.datetime,
) -> dict[int, ReportCounts]:
    """Per locality: submissions (answers to the first question, and incidents) in the
    current window and in the baseline before it, with the baseline's distinct
    reporters, for `reporting_silence`."""
    out: dict[int, ReportCounts] = defaultdict(ReportCounts)
    sources: tuple[tuple[Any, Any, Any], ...] = (
        (TrustRating, TrustRating.rated_at, TrustRating.question == question),
        (Incident, Incident.reported_at, Incident.id.is_not(None)),
    )
    for model, when, only in sources:
        rows = session.execute(
            select(model.locality_id, *_split(when, current_start, model.burst))
            .where(only, when >= baseline_start, when < end)
            .group_by(model.locality_id)
        ).all()
        for loc, cur, cur_b, base, base_b in rows:
            counts = out[loc]
            counts.current = Tally(
                counts.current.count + int(cur), counts.current.burst + int(cur_b)
            )
            counts.baseline = Tally(
                counts.baseline.count + int(base), counts.baseline.burst + int(base_b)
            )
    people = union(
        *(
            select(model.locality_id, model.reporter_id).where(
                only, when >= baseline_start, when < current_start
            )
            for model, when, only in sources
        )
    ).subquery()
    for loc, n in session.execute(
        select(people.c.locality_id, func.count(people.c.reporter_id)).group_by(
            people.c.locality_id
        )
    ):
        out[loc].baseline_reporters = int(n)
    return dict(out)


@dataclass(frozen=True)
class IncidentSeries:
    """Incidents of one locality per period, oldest first, the last being current, and
    the distinct people who reported one (not burst-flagged) over the gate window."""

    periods: list[Tally]
    reporters: int


# The privacy gate's window: distinct reporters over the last 4 weeks, this one included.
GATE = dt.timedelta(days=28)


def incident_series(
    session: Session,
    end: dt.datetime,
    period: dt.timedelta,
    periods: int,
    gate: dt.timedelta = GATE,
) -> dict[int, IncidentSeries]:
    """Per locality, the counts of `periods` consecutive periods ending at `end`:
    one GROUP BY with a sum per period (portable, no date arithmetic in SQL)."""
    start = end - period * periods
    edges = [start + period * i for i in range(periods + 1)]
    when, burst = Incident.reported_at, Incident.burst
    cols = [
        func.sum(case((and_(when >= lo, when < hi, burst.is_(flag)), 1), else_=0))
        for lo, hi in itertools.pairwise(edges)
        for flag in (False, True)
    ]
    rows = session.execute(
        select(Incident.locality_id, *cols)
        .where(when >= start, when < end)
        .group_by(Incident.locality_id)
    ).all()
    people = dict(
        session.execute(
            select(Incident.locality_id, func.count(func.distinct(Incident.reporter_id)))
            .where(when >= end - gate, when < end, burst.is_(False))
            .group_by(Incident.locality_id)
        ).all()
    )
    out: dict[int, IncidentSeries] = {}
    for loc, *sums in rows:
        tallies = [Tally(int(sums[2 * i]), int(sums[2 * i + 1])) for i in range(periods)]
        out[loc] = IncidentSeries(tallies, int(people.get(loc, 0)))
    # A locality with reporters in the gate window but no incident in the series.
    for loc, n in people.items():
        out.setdefault(loc, IncidentSeries([Tally(0)] * periods, int(n)))
    return out


def first_seen(session: Session) -> dict[int, dt.datetime]:
    """Per locality, its first report of any kind (a rating or an incident): weeks
    before it are no baseline, so a locality that starts reporting is not taken for
    one whose incidents rise."""
    out: dict[int, dt.datetime] = {}
    for model, when in ((TrustRating, TrustRating.rated_at), (Incident, Incident.reported_at)):
        for loc, first in session.execute(
            select(model.locality_id, func.min(when)).group_by(model.locality_id)
        ):
            first = first if first.tzinfo is not None else first.replace(tzinfo=dt.UTC)
            out[loc] = min(first, out.get(loc, first))
    return out


def active_localities(session: Session, start: dt.datetime, end: dt.datetime) -> set[int]:
    """Localities with a rating or an incident in [start, end)."""
    ratings = select(TrustRating.locality_id).where(
        TrustRating.rated_at >= start, TrustRating.rated_at < end
    )
    incidents = select(Incident.locality_id).where(
        Incident.reported_at >= start, Incident.reported_at < end
    )
    return set(session.scalars(ratings.union(incidents)))
