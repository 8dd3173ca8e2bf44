"""The measures of gateway/services/figures/measures.py read from the kept cells
(gateway/models/cells.py): the same figures for day-aligned windows, at a cost set by
localities and days, not by the reports inside the windows.

A window [a, b) of days holds, per chain (stream, locality, author), the report that
is the author's latest before b iff a <= day < b <= until; so a window's sums are one
GROUP BY over its cells, and a weekly series one GROUP BY over the cells of all its
weeks (each cell tested against the end of its own week).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session

from gateway.domain.findings import Tally, WeeklyAnswers
from gateway.domain.trust_index import Aggregate
from gateway.models import DayCount, Incident, Locality, TrustRating, WindowCell
from gateway.services.figures import rollup
from gateway.services.figures.measures import IncidentSeries, ReportCounts

C = WindowCell


def _run(session: Session, stmt: Any, in_key_order: bool = False) -> list[tuple[Any, ...]]:
    """A Core query's rows as plain tuples, from a DBAPI cursor on the session's own
    connection (inside its transaction). A weekly pass reads ~70,000 rows of small
    integers: SQLAlchemy's Row objects and result processing cost it more CPU than
    PostgreSQL's work for them. Only for queries whose parameters and columns are ints
    and strings, which need no type processing either way. `in_key_order`: see
    `_KEY_ORDER`."""
    conn = session.connection()
    sql, params, positions = _compiled(stmt, conn.dialect)
    args: Any = [params[k] for k in positions] if positions is not None else params
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    planned = in_key_order and conn.dialect.name == "postgresql"
    try:
        if planned:
            cursor.execute(_KEY_ORDER)
        cursor.execute(sql, args)
        return list(cursor.fetchall())
    finally:
        if planned:
            cursor.execute(_PLANNER_BACK)
        cursor.close()


# A GROUP BY (day, locality_id) of one stream's cells, read in the primary key's order
# (stream, day, locality_id, until), needs neither a hash table nor a sort: each group
# is summed as it ends. PostgreSQL 15 costs that index scan above a bitmap scan of
# ix_window_cells_rev and a hash aggregate, which took ~20 % more of its CPU for the
# ~72,000 trust week cells of a cold pass at 1M ratings (measured 2026-12-03): so
# those two are put out of its reach for that one statement, in a savepoint whose
# rollback gives the planner its settings back (a read: nothing else is undone).
# SQLite orders GROUP BY terms by its index itself.
_KEY_ORDER = (
    "SAVEPOINT cells_in_key_order;"
    " SET LOCAL enable_hashagg = off; SET LOCAL enable_bitmapscan = off;"
    " SET LOCAL enable_sort = off"
)
_PLANNER_BACK = "ROLLBACK TO SAVEPOINT cells_in_key_order; RELEASE SAVEPOINT cells_in_key_order"


# Compiled SQL by the statement's structure (SQLAlchemy's cache key, whose bound values
# are apart) and dialect: a pass's ~30 statements have ~10 shapes, and compiling one
# cost ~0.5 ms of CPU (a twentieth of a warm pass's, measured 2026-12-02).
_COMPILED: dict[tuple[Any, str, str], Any] = {}
_COMPILED_MAX = 512


def _compiled(stmt: Any, dialect: Dialect) -> tuple[str, dict[str, Any], tuple[str, ...] | None]:
    """The statement's SQL, its parameters' values and, for a positional paramstyle,
    their order: what `stmt.compile(dialect=dialect)` gives, compiled once per shape."""
    key = stmt._generate_cache_key()
    if key is None:  # pragma: no cover - every statement here has a cache key
        compiled = stmt.compile(dialect=dialect)
        params = compiled.construct_params()
    else:
        shape = (key.key, dialect.name, dialect.driver)
        compiled = _COMPILED.get(shape)
        if compiled is None:
            if len(_COMPILED) >= _COMPILED_MAX:
                _COMPILED.clear()
            compiled = _COMPILED[shape] = stmt.compile(dialect=dialect, cache_key=key)
        params = compiled.construct_params(extracted_parameters=key.bindparams)
    positions = tuple(compiled.positiontup or ()) if compiled.positional else None
    return compiled.string, params, positions


def aligned(*times: dt.datetime) -> bool:
    """Whether every time is a UTC midnight (the cells know days, nothing finer)."""
    return all(t.astimezone(dt.UTC).timetz() == dt.time(tzinfo=dt.UTC) for t in times)


def answers(start: dt.datetime, end: dt.datetime) -> bool:
    """Whether the cells answer the window [start, end) exactly."""
    return aligned(start, end) and end - start <= dt.timedelta(days=rollup.CAP - 7)


def _split(a: int, b: int) -> list[tuple[bool, int, int]]:
    """Days [a, b) as (weekly, lo, hi) parts: when b is a Monday, the whole weeks from
    the first Monday on are read from the week cells, the days before from day cells."""
    body = a + (-(a - 4)) % 7  # the first Monday on or after a
    if rollup.monday(b) != b or body >= b:
        return [(False, a, b)]
    return [(False, a, body), (True, body, b)] if body > a else [(True, a, b)]


Sums = dict[int, list[int]]
# A window part's rows by (stream, lo, hi, end): two windows of a pass share a part
# (the 30-day window's whole weeks are the 28-day gate's), read once.
Parts = dict[tuple[str, int, int, int], list[tuple[Any, ...]]]


def _sums(session: Session, stream: str, a: int, b: int, parts: Parts | None = None) -> Sums:
    """Per locality, n, Σx, Σx², low of each author's latest report in days [a, b);
    the parts read are kept in `parts`, and found there."""
    out: Sums = {}
    for by_week, lo, hi in _split(a, b):
        key = (rollup.weekly(stream) if by_week else stream, lo, hi, b)
        rows = parts.get(key) if parts is not None else None
        if rows is None:
            rows = _part(session, *key)
            if parts is not None:
                parts[key] = rows
        for loc, n, s, sq, low in rows:
            into = out.get(loc)
            if into is None:
                out[loc] = [int(n), int(s), int(sq), int(low)]
            else:
                into[0] += int(n)
                into[1] += int(s)
                into[2] += int(sq)
                into[3] += int(low)
    return out


def _part(session: Session, stream: str, lo: int, hi: int, b: int) -> list[tuple[Any, ...]]:
    """Per locality, the sums of the cells of `stream` in days [lo, hi) whose author's
    next report comes on day b or later."""
    return _run(
        session,
        select(C.locality_id, func.sum(C.n), func.sum(C.total), func.sum(C.total_sq),
               func.sum(C.low))
        .where(C.stream == stream, C.day >= lo, C.day < hi, C.until >= b)
        .group_by(C.locality_id),
    )  # fmt: skip


def _aggregates(sums: Sums) -> dict[int, Aggregate]:
    return {
        loc: Aggregate(n=n, total=float(s), total_sq=float(sq), low=low)
        for loc, (n, s, sq, low) in sums.items()
        if n
    }


def window(
    session: Session, stream: str, start: dt.datetime, end: dt.datetime, parts: Parts | None = None
) -> dict[int, Aggregate]:
    """Per locality, the sums of each author's latest report in [start, end) (`_sums`)."""
    return _aggregates(_sums(session, stream, rollup.day_of(start), rollup.day_of(end), parts))


def _whole_weeks(stream: str, a: int, periods: int) -> tuple[Any, ...]:
    """The week cells of `stream` for `periods` calendar weeks from day `a`, counting
    only a report whose author's next report comes after that week (their latest in it)."""
    return (
        C.stream == rollup.weekly(stream),
        C.day >= a,
        C.day < a + 7 * periods,
        C.until >= C.day + 7,
    )


def weekly(
    session: Session, stream: str, start: dt.datetime, period_days: int, periods: int
) -> list[dict[int, Aggregate]]:
    """Per period of `period_days` from `start` (oldest first) and locality: the sums of
    each author's latest report in that period; calendar weeks from the week cells, in
    one query."""
    a = rollup.day_of(start)
    if period_days != 7 or rollup.monday(a) != a:
        return [
            window(session, stream, start + dt.timedelta(days=period_days * i),
                   start + dt.timedelta(days=period_days * (i + 1)))
            for i in range(periods)
        ]  # fmt: skip
    rows = _run(
        session,
        select(
            C.locality_id,
            C.day,
            func.sum(C.n),
            func.sum(C.total),
            func.sum(C.total_sq),
            func.sum(C.low),
        )
        .where(*_whole_weeks(stream, a, periods))
        .group_by(C.locality_id, C.day),
    )
    out: list[dict[int, Aggregate]] = [{} for _ in range(periods)]
    for loc, day, n, s, sq, low in rows:
        if n:
            agg = Aggregate(n=int(n), total=float(s), total_sq=float(sq), low=int(low))
            out[(int(day) - a) // 7][int(loc)] = agg
    return out


def weekly_answers(
    session: Session, stream: str, start: dt.datetime, periods: int
) -> dict[int, WeeklyAnswers]:
    """`weekly` for calendar weeks from the Monday `start`, as columns per locality
    (`WeeklyAnswers`: n, Σx, Σx² of each week, zero without answers), the form the
    trust CUSUM reads: no object per locality and week. A locality without an answer
    in these weeks is left out."""
    a = rollup.day_of(start)
    assert rollup.monday(a) == a, "calendar weeks start on a Monday"
    rows = _run(
        session,
        select(C.locality_id, C.day, func.sum(C.n), func.sum(C.total), func.sum(C.total_sq))
        .where(*_whole_weeks(stream, a, periods))
        .group_by(C.day, C.locality_id),  # the key's order (`_KEY_ORDER`)
        in_key_order=True,
    )
    out: dict[int, WeeklyAnswers] = {}
    for loc, day, n, s, sq in rows:
        if not n:
            continue
        cols = out.get(loc)
        if cols is None:
            zeros = [0.0] * periods
            cols = out[loc] = WeeklyAnswers(zeros, zeros.copy(), zeros.copy())
        i = (day - a) // 7
        cols.n[i], cols.total[i], cols.total_sq[i] = float(n), float(s), float(sq)
    return out


def trust_aggregates(
    session: Session,
    question: str,
    start: dt.datetime,
    end: dt.datetime,
    parts: Parts | None = None,
) -> dict[int, Aggregate]:
    """`measures.trust_aggregates` from the cells (`_sums`'s `parts`)."""
    return window(session, rollup.trust_stream(question), start, end, parts)


# Per locality, (locality, plain, burst) of a stream's reports in the Mondays [a, b), from
# the weeks a pass keeps (`weeks.WeekCells.totals`, its session bound).
WeekTotals = Callable[[str, int, int], list[tuple[int, int, int]]]


def _counts(
    session: Session, stream: str, a: int, b: int, totals: WeekTotals | None = None
) -> dict[int, list[int]]:
    """Per locality, reports (unflagged, flagged) in days [a, b); whole weeks from
    `totals` when given."""
    out: dict[int, list[int]] = {}
    for by_week, lo, hi in _split(a, b):
        if by_week and totals is not None:
            rows: list[tuple[Any, ...]] = list(totals(stream, lo, hi))
        else:
            rows = _run(
                session,
                select(DayCount.locality_id, func.sum(DayCount.plain), func.sum(DayCount.burst))
                .where(
                    DayCount.stream == (rollup.weekly(stream) if by_week else stream),
                    DayCount.day >= lo,
                    DayCount.day < hi,
                )
                .group_by(DayCount.locality_id),
            )
        for loc, plain, burst in rows:
            into = out.setdefault(int(loc), [0, 0])
            into[0] += int(plain)
            into[1] += int(burst)
    return out


def _tallies(
    session: Session, stream: str, start: int, end: int, period: int
) -> dict[tuple[int, int], Tally]:
    """Per (locality, period index), the reports of each period from `start`: weeks
    starting on a Monday from the week counts, in one query."""
    by_week = period == 7 and rollup.monday(start) == start
    index = (DayCount.day - start) // period
    rows = _run(
        session,
        select(DayCount.locality_id, index, func.sum(DayCount.plain), func.sum(DayCount.burst))
        .where(
            DayCount.stream == (rollup.weekly(stream) if by_week else stream),
            DayCount.day >= start,
            DayCount.day < end,
        )
        .group_by(DayCount.locality_id, index),
    )
    made: dict[tuple[int, int], Tally] = {}  # Tally is frozen: one object per value
    out: dict[tuple[int, int], Tally] = {}
    for loc, i, p, b in rows:
        if p or b:
            tally = made.get((p, b))
            if tally is None:
                tally = made[(p, b)] = Tally(int(p), int(b))
            out[(int(loc), int(i))] = tally
    return out


def report_counts(
    session: Session,
    question: str,
    baseline_start: dt.datetime,
    current_start: dt.datetime,
    end: dt.datetime,
    totals: WeekTotals | None = None,
) -> dict[int, ReportCounts]:
    """`measures.report_counts` from the cells (whole weeks from `totals` when given)."""
    a, c, b = (rollup.day_of(t) for t in (baseline_start, current_start, end))
    out: dict[int, ReportCounts] = {}
    for stream in (rollup.rating_stream(question), rollup.INCIDENT):
        for recent, lo, hi in ((False, a, c), (True, c, b)):
            for loc, (plain, burst) in _counts(session, stream, lo, hi, totals).items():
                if not (plain or burst):
                    continue
                counts = out.setdefault(loc, ReportCounts())
                before = counts.current if recent else counts.baseline
                tally = Tally(before.count + plain, before.burst + burst)
                if recent:
                    counts.current = tally
                else:
                    counts.baseline = tally
    people = window(session, rollup.contact_stream(question), baseline_start, current_start)
    for loc, agg in people.items():
        out.setdefault(loc, ReportCounts()).baseline_reporters = agg.n
    return out


def incident_series(
    session: Session,
    end: dt.datetime,
    period: dt.timedelta,
    periods: int,
    gate: dt.timedelta,
    weeks: dict[int, list[Tally]] | None = None,
) -> dict[int, Any]:
    """`measures.incident_series` from the cells (`period` and `gate` whole days);
    `weeks`, when given, are the periods' counts already read, per locality with a
    report in them (`weeks.WeekCells.series`)."""
    step = period.days
    start = rollup.day_of(end) - step * periods
    none = Tally(0)  # frozen: one instance for every week without a report
    if weeks is None:
        weeks = {}
        for (loc, i), tally in _tallies(
            session, rollup.INCIDENT, start, start + step * periods, step
        ).items():
            weeks.setdefault(loc, [none] * periods)[i] = tally
    people = window(session, rollup.INCIDENT, end - gate, end)
    out: dict[int, IncidentSeries] = {}
    for loc in weeks.keys() | people.keys():
        agg = people.get(loc)
        out[loc] = IncidentSeries(weeks.get(loc) or [none] * periods, agg.n if agg else 0)
    return out


def first_seen(session: Session) -> dict[int, dt.datetime]:
    """`measures.first_seen`, one index probe per locality instead of a scan of all
    reports (the (locality_id, time) indexes answer each minimum)."""
    out: dict[int, dt.datetime] = {}
    firsts = [
        select(func.min(when)).where(model.locality_id == Locality.id).scalar_subquery()
        for model, when in ((TrustRating, TrustRating.rated_at), (Incident, Incident.reported_at))
    ]
    for loc, *times in session.execute(select(Locality.id, *firsts)):  # one statement
        seen = [
            t if t.tzinfo is not None else t.replace(tzinfo=dt.UTC) for t in times if t is not None
        ]
        if seen:
            out[int(loc)] = min(seen)
    return out


def shorter(series: dict[int, IncidentSeries], periods: int) -> dict[int, IncidentSeries]:
    """The last `periods` of each locality's series, as `incident_series` would give
    them (a locality without an incident in them, nor a reporter at the gate, left
    out); the gate window must lie within the periods kept."""
    out: dict[int, IncidentSeries] = {}
    for loc, whole in series.items():
        cut = whole.periods[-periods:]
        if whole.reporters or any(t.count or t.burst for t in cut):
            out[loc] = IncidentSeries(cut, whole.reporters)
    return out
