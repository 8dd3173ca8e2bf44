"""The kept figure cells give exactly the figures of the window scans they replace:
random reporters answering repeatedly, reports arriving out of order between
rollups, burst flags, incidents with and without a reporter."""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass, replace
from typing import Any

import pytest
from flask import Flask
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, func, insert, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from gateway.db import transaction
from gateway.domain.rules import OverrideKey
from gateway.gazetteer.index import gazetteer
from gateway.models import DayCount, Incident, JobState, Locality, Reporter, TrustRating, WindowCell
from gateway.runtime import Runtime
from gateway.services.alerts import engine
from gateway.services.alerts.engine import WEEK_CELLS, Measures, findings, run_alert_cycle
from gateway.services.figures import kept as kept_module
from gateway.services.figures import rollup
from gateway.services.figures import weeks as weeks_module
from gateway.services.figures.weeks import WeekCells

PRIMARY = "trust_dsf"
ORIGIN = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)  # a Monday
SPAN_DAYS = 150
_refs = itertools.count()


@dataclass(frozen=True)
class Made:
    """One report to store: a rating (question, value) or an incident (value 0)."""

    incident: bool
    locality: int  # index into the test's localities
    reporter: int | None  # index into the test's reporters (None: an anonymous incident)
    question: str
    value: int
    second: int  # seconds after ORIGIN
    burst: bool


def reports_in(
    localities: int, reporters: int, second: st.SearchStrategy[int]
) -> st.SearchStrategy[Made]:
    """Reports in `localities` localities from `reporters` reporters (or anonymous), on
    both questions, at the seconds `second` draws."""
    return st.builds(
        Made,
        incident=st.booleans(),
        locality=st.integers(0, localities - 1),
        reporter=st.one_of(st.none(), st.integers(0, reporters - 1)),
        question=st.sampled_from([PRIMARY, PRIMARY, "protection"]),
        value=st.integers(1, 5),
        second=second,
        burst=st.booleans(),
    )


reports = reports_in(
    3,
    5,
    # Mostly a few busy days (many answers of one person close together), some spread.
    st.one_of(
        st.integers(0, SPAN_DAYS * 86400 - 1),
        st.integers(40 * 86400, 44 * 86400),
        st.sampled_from([50 * 86400 - 1, 50 * 86400, 77 * 86400]),
    ),
)


def _store(session: Session, made: list[Made], locs: list[int], people: list[int]) -> None:
    for m in made:
        at = ORIGIN + dt.timedelta(seconds=m.second)
        n = next(_refs)
        if m.incident:
            who = people[m.reporter] if m.reporter is not None else None
            session.add(
                Incident(
                    ref_code=f"K{n:07d}",
                    kind="banditry",
                    locality_id=locs[m.locality],
                    reporter_id=who,
                    occurred="today",
                    reported_at=at,
                    danger_now=False,
                    source="import",
                    source_ref=f"k{n}",
                    burst=m.burst,
                )
            )
        else:
            session.execute(
                insert(TrustRating),
                {
                    "reporter_id": people[m.reporter or 0],
                    "locality_id": locs[m.locality],
                    "question": m.question,
                    "value": m.value,
                    "rated_at": at,
                    "source": "import",
                    "source_ref": f"k{n}",
                    "burst": m.burst,
                },
            )
    session.flush()


def _reset(rt: Runtime, reporters: int = 5) -> tuple[list[int], list[int]]:
    with transaction(rt.sessions) as s:
        for model in (WindowCell, DayCount, TrustRating, Incident, JobState, Reporter):
            s.execute(delete(model))
        s.execute(
            insert(Reporter),
            [
                {
                    "pseudonym": f"kept{i:060d}",
                    "key_version": 1,
                    "opted_out": False,
                    "notice_sent": True,
                    "created_at": ORIGIN,
                }
                for i in range(reporters)
            ],
        )
        people = list(s.scalars(select(Reporter.id).order_by(Reporter.id)))
        locs = list(s.scalars(select(Locality.id).order_by(Locality.id).limit(3)))
    return locs, people


def _figures(m: Measures) -> dict[str, Any]:
    now = m.now
    out: dict[str, Any] = {}
    for length in (1, 7, 13, 28, 30, 90):
        out[f"trust {length}"] = m.trust(now - dt.timedelta(days=length), now)
    out["trust before"] = m.trust(now - dt.timedelta(days=120), now - dt.timedelta(days=30))
    out["weekly 8"] = m.weekly_trust(8)
    out["weekly 3 skip 2"] = m.weekly_trust(3, skip=2)
    out["counts 7 56"] = m.counts(7, 56)
    out["counts 3 10"] = m.counts(3, 10)
    out["series 7x5"] = m.series(7, 5)
    out["series 7x12"] = m.series(7, 12)
    out["series 1x30"] = m.series(1, 30)
    out["first"] = m.first_seen()
    out["active"] = {loc: m.active_weeks(loc, list(range(12))) for loc in out["first"]}
    # The trust CUSUM's columns: from the week cells on a Monday, else from the scan.
    for weeks in (1, 8, 30):
        out[f"answers {weeks}"] = {loc: m.trust_weeks(loc, weeks) for loc in out["first"]}
        # The residuals against each reporter's earlier answers (the chart of residuals).
        out[f"residuals {weeks}"] = {loc: m.residual_weeks(loc, weeks) for loc in out["first"]}
    return out


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    batches=st.lists(st.lists(reports, max_size=25), min_size=1, max_size=4),
    # Mostly Mondays (the weekly pass's, read from the week cells), some other days.
    ends=st.lists(
        st.integers(0, (SPAN_DAYS + 10) // 7).map(lambda w: 7 * w) | st.integers(0, SPAN_DAYS + 10),
        min_size=1,
        max_size=3,
    ),
    rebuild_first=st.booleans(),
)
def test_the_kept_cells_give_the_figures_of_the_scans(
    rt: Runtime, batches: list[list[Made]], ends: list[int], rebuild_first: bool
) -> None:
    locs, people = _reset(rt)
    with transaction(rt.sessions) as s:
        if rebuild_first:
            rollup.rebuild(s, PRIMARY)
        # Each batch is rolled up before the next arrives: later batches hold reports
        # older than what the cells already hold (out of order).
        for batch in batches:
            _store(s, batch, locs, people)
            rollup.roll_up(s, PRIMARY)
    with rt.sessions() as s:
        for end in ends:
            now = ORIGIN + dt.timedelta(days=end)
            cells = Measures(s, PRIMARY, now)
            scan = Measures(s, PRIMARY, now, scan=True)
            assert _figures(cells) == _figures(scan)
            assert cells._complete is True  # the cells answered (not a second scan)


def test_windows_sharing_whole_weeks_read_them_once(
    rt: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pass's 30-day window and its 28-day gate end on the same Monday: the 28
    days of whole weeks are one part of both, read once, and each window still has
    the figures of the scan."""
    locs, people = _reset(rt)
    made = [Made(False, i % 2, i % 5, PRIMARY, 1 + i % 5, i * 30_000, False) for i in range(200)]
    with transaction(rt.sessions) as s:
        _store(s, made, locs, people)
        rollup.roll_up(s, PRIMARY)
    read: list[tuple[Any, ...]] = []
    part = kept_module._part

    def counted(session: Session, *key: Any) -> list[tuple[Any, ...]]:
        read.append(key)
        return part(session, *key)

    monkeypatch.setattr(kept_module, "_part", counted)
    now = ORIGIN + dt.timedelta(weeks=8)
    with rt.sessions() as s:
        m, scan = Measures(s, PRIMARY, now), Measures(s, PRIMARY, now, scan=True)
        for length in (30, 28):
            start = now - dt.timedelta(days=length)
            assert m.trust(start, now) == scan.trust(start, now)
    week_parts = [key for key in read if key[0] == rollup.weekly(rollup.trust_stream(PRIMARY))]
    assert len(week_parts) == 1 and len(read) == 2  # the 30 days' first two days, apart


def test_a_report_not_rolled_up_yet_sends_the_pass_back_to_the_scan(rt: Runtime) -> None:
    locs, people = _reset(rt)
    now = ORIGIN + dt.timedelta(days=60)
    early = Made(False, 0, 0, PRIMARY, 2, 10 * 86400, False)
    with transaction(rt.sessions) as s:
        _store(s, [early], locs, people)
        rollup.roll_up(s, PRIMARY)
        _store(s, [Made(False, 0, 0, PRIMARY, 5, 20 * 86400, False)], locs, people)
    with rt.sessions() as s:
        m = Measures(s, PRIMARY, now)
        window = m.trust(now - dt.timedelta(days=55), now)
        assert m._complete is False
        assert window[locs[0]].total == 5.0  # the newer answer, which the cells lack


def test_the_bulk_rebuild_and_the_report_by_report_fold_give_the_same_cells(
    rt: Runtime,
) -> None:
    locs, people = _reset(rt)
    made = [
        Made(
            i % 3 == 0, i % 3, i % 5 if i % 7 else None, PRIMARY, 1 + i % 5, i * 40_000, i % 11 == 0
        )
        for i in range(300)
    ]

    def cells(s: Session) -> set[tuple[Any, ...]]:
        rows = s.execute(select(WindowCell).where(WindowCell.n != 0)).scalars()
        kept = {
            (c.stream, c.day, c.locality_id, c.until, c.n, c.total, c.total_sq, c.low) for c in rows
        }
        counts = s.execute(select(DayCount)).scalars()
        return kept | {(c.stream, c.day, c.locality_id, c.plain, c.burst) for c in counts}

    with transaction(rt.sessions) as s:
        rollup.rebuild(s, PRIMARY)
        newest_first = made[::-1]  # every report older than those rolled up before it
        for i in range(0, len(newest_first), 37):
            _store(s, newest_first[i : i + 37], locs, people)
            rollup.fold(s, PRIMARY, limit=10)
            rollup.roll_up(s, PRIMARY)
        folded = cells(s)
        rollup.rebuild(s, PRIMARY)
        assert cells(s) == folded


def test_cells_kept_before_the_residuals_are_built_again_and_scanned_until_then(
    rt: Runtime,
) -> None:
    locs, people = _reset(rt)
    now = ORIGIN + dt.timedelta(days=60)
    answers = [Made(False, 0, 0, PRIMARY, v, 86400 * d, False) for v, d in ((3, 3), (5, 40))]
    resid = rollup.weekly(rollup.residual_stream(PRIMARY))
    with transaction(rt.sessions) as s:
        _store(s, answers, locs, people)
        rollup.rebuild(s, PRIMARY)
        # As the cells of the layout before: no residuals, no layout in the state.
        s.execute(delete(WindowCell).where(WindowCell.stream == resid))
        state = s.get(JobState, rollup.STATE)
        assert state is not None and state.details is not None
        state.details = {k: v for k, v in state.details.items() if k != "layout"}
        s.flush()
        assert not rollup.complete_before(s, now, PRIMARY)  # the pass scans
        rollup.roll_up(s, PRIMARY)
        assert rollup.complete_before(s, now, PRIMARY)
        kept = s.execute(select(WindowCell.n, WindowCell.total).where(WindowCell.stream == resid))
        assert kept.all() == [(1, 200)]  # 5 - 3, in hundredths


def test_alerts_rollup_folds_what_was_stored_and_invalidate_sends_back_to_the_scan(
    app: Flask, rt: Runtime
) -> None:
    locs, people = _reset(rt)
    now = ORIGIN + dt.timedelta(days=60)
    with transaction(rt.sessions) as s:
        _store(s, [Made(False, 1, 2, PRIMARY, 4, 86400 * 3, False)], locs, people)
    result = app.test_cli_runner().invoke(args=["alerts", "rollup"])
    assert result.exit_code == 0 and "folded 1 reports" in result.output
    with transaction(rt.sessions) as s:
        assert rollup.complete_before(s, now, PRIMARY)
        rollup.invalidate(s)
    with rt.sessions() as s:
        assert not rollup.complete_before(s, now, PRIMARY)
        assert Measures(s, PRIMARY, now).trust(ORIGIN, now)[locs[1]].n == 1  # scanned


# Rule values that let the random histories below fire (a few weeks, few reporters).
_FIRING: dict[OverrideKey, float] = {
    **{(None, rule, "baseline_weeks"): 4.0 for rule in ("trust_shift", "incident_cusum")},
    (None, "incident_spike", "baseline_weeks"): 3.0,
    **{(None, rule, "horizon_weeks"): 4.0 for rule in ("trust_shift", "incident_cusum")},
    **{(None, rule, "guard_weeks"): 1.0 for rule in ("trust_shift", "incident_cusum")},
    (None, "incident_spike", "alpha"): 0.2,
    (None, "trust_drop", "drop"): 0.2,
    (None, "trust_low", "level"): 3.5,
    **{(None, rule, "arl_weeks"): 20.0 for rule in ("trust_shift", "incident_cusum")},
    (None, "trust_shift", "within_arl_weeks"): 20.0,
    (None, "trust_shift", "shift"): 0.1,
    (None, "incident_cusum", "ratio"): 1.2,
}


def _pass_figures(m: Measures) -> dict[str, Any]:
    """What a weekly pass reads of the week cells, at the rules' default lengths and
    at shorter ones (read first, so the longer extend what is kept backwards)."""
    out: dict[str, Any] = {}
    for periods in (5, 12, 82):
        out[f"series 7x{periods}"] = m.series(7, periods)
    locs = set(m.first_seen()) | set().union(*(out[k] for k in list(out)))
    for weeks in (4, 9, 86):
        out[f"answers {weeks}"] = {loc: m.trust_weeks(loc, weeks) for loc in locs}
        out[f"residuals {weeks}"] = {loc: m.residual_weeks(loc, weeks) for loc in locs}
    # Report counts: whole weeks from the kept week counts, other days from the cells.
    for window, baseline in ((7, 56), (14, 21), (3, 10)):
        out[f"counts {window} {baseline}"] = m.counts(window, baseline)
    return out


_FIRED: set[str] = set()  # the rules that fired in some example (checked below)

# Eight reporters in two localities, so that the privacy gate (5 reporters) opens.
busy = reports_in(
    2,
    8,
    # Some anywhere, most in five busy weeks (days 112-146) that the passes follow.
    st.one_of(st.integers(0, SPAN_DAYS * 86400 - 1), st.integers(112 * 86400, 146 * 86400)),
)


def _crowd(m: Made, values: list[int]) -> list[Made]:
    """`m` made by each of the first len(values) reporters, an hour apart: enough
    reporters for the privacy gate, so that the rules' checks run."""
    last = SPAN_DAYS * 86400 - 1
    return [
        replace(m, reporter=i, value=v, second=min(last, m.second + 3600 * i))
        for i, v in enumerate(values)
    ]


batches = st.lists(
    busy.map(lambda m: [m])
    | st.builds(_crowd, busy, st.lists(st.integers(1, 5), min_size=5, max_size=8)),
    max_size=10,
).map(lambda groups: [m for group in groups for m in group])


# An example that always runs, whatever the random ones draw (CI once drew none that
# fired trust_low): eight people rate 1 and report an incident in the week before the
# pass, after a first incident weeks before, so trust_low and incident_spike fire.
_FIRING_EXAMPLE = [
    (
        [Made(True, 0, None, PRIMARY, 0, 7 * 86400, False)]
        + [Made(False, 0, i, PRIMARY, 1, 141 * 86400 + 3600 * i, False) for i in range(8)]
        + [Made(True, 0, i, PRIMARY, 0, 142 * 86400 + 3600 * i, False) for i in range(8)],
        21,
        False,
    ),
    ([Made(False, 1, 0, PRIMARY, 2, 100 * 86400, False)], 21, False),
]


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    # Between passes a batch arrives: reports anywhere in the span, so most are late
    # (older than the week of the pass, often older than their author's latest).
    passes=st.lists(
        st.tuples(
            batches,
            # The pass's Monday, in weeks: anywhere, or just after the busy weeks.
            st.integers(0, (SPAN_DAYS + 14) // 7) | st.integers(19, 22),
            st.booleans(),  # a rebuild (`alerts rollup --rebuild`) before the pass
        ),
        min_size=2,
        max_size=6,
    ),
)
@example(passes=_FIRING_EXAMPLE)
def test_the_weeks_kept_between_passes_give_the_figures_and_alerts_of_a_cold_read(
    rt: Runtime, passes: list[tuple[list[Made], int, bool]]
) -> None:
    """Issue 15: the pass keeps the week cells it read and rereads only those written
    since; pass after pass, with late reports and rebuilds between, it finds exactly
    what a cold read of the cells and the scan of the reports find."""
    fired = _FIRED
    locs, people = _reset(rt, reporters=8)
    gaz = gazetteer(rt)
    cells = WeekCells()
    for batch, week, rebuild in passes:
        now = ORIGIN + dt.timedelta(weeks=week)
        with transaction(rt.sessions) as s:
            _store(s, batch, locs, people)
            (rollup.rebuild if rebuild else rollup.roll_up)(s, PRIMARY)
            assert cells.sync(s)
            warm = Measures(s, PRIMARY, now, cells=cells)
            cold = Measures(s, PRIMARY, now)
            scan = Measures(s, PRIMARY, now, scan=True)
            figures, cold_figures = _pass_figures(warm), _pass_figures(cold)
            scanned = _pass_figures(scan)
            assert [k for k in figures if figures[k] != cold_figures[k]] == []
            assert [k for k in figures if scanned[k] != cold_figures[k]] == []
            assert warm._complete is True
            found = findings(rt, gaz, _FIRING, warm, locs)
            assert found == findings(rt, gaz, _FIRING, cold, locs)
            fired.update(rule for (_, rule), (f, _) in found.items() if f is not None)
            cells.finish()
        for (kind, stream), kept in cells._streams.items():  # bounded: the weeks asked
            weeks = 86 if kind == "answers" else 82 if stream == rollup.weekly("incident") else 9
            first = rollup.day_of(now) - 7 * weeks
            assert kept.lo == first and kept.hi == rollup.day_of(now)
            weeks = (kept.hi - kept.lo) // 7
            assert all(len(col) == weeks for cols in kept.cols.values() for col in cols)


def test_the_random_passes_above_made_the_rules_fire() -> None:
    """The comparison above compared findings, not only empty ones (run after it)."""
    if _FIRED:  # empty when the test above was deselected
        assert {"trust_low", "incident_spike"} <= _FIRED


def test_a_pass_keeps_the_weeks_it_read_unless_it_does_not_commit(
    rt: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What a pass read stays on its Runtime for the next pass; a pass whose
    transaction rolls back (its rollup's cells with it) leaves nothing kept."""
    locs, people = _reset(rt)
    with transaction(rt.sessions) as s:
        _store(s, [Made(True, 0, 1, PRIMARY, 0, 86400 * 10, False)], locs, people)
    now = ORIGIN + dt.timedelta(weeks=3)
    run_alert_cycle(rt, now)
    cells = rt.cached(WEEK_CELLS, WeekCells)
    assert cells.epoch is not None and cells._streams

    def fail(*_: Any, **__: Any) -> None:
        raise RuntimeError("the pass fails before it commits")

    monkeypatch.setattr(engine, "record_watermark", fail)
    with pytest.raises(RuntimeError):
        run_alert_cycle(rt, now, force=True)
    assert cells.epoch is None and not cells._streams
    assert not cells.lock.locked()


@settings(max_examples=60, deadline=None)
@given(
    lo=st.integers(0, 30000),
    weeks=st.integers(1, 120),
    seen=st.integers(0, 10**6),
    stream=st.sampled_from(["trust:trust_dsf", "incident", "contact:trust_dsf"]),
    dialect=st.sampled_from([postgresql.dialect(), sqlite.dialect()]),
)
def test_a_statement_compiled_once_gives_what_its_own_compile_gives(
    lo: int, weeks: int, seen: int, stream: str, dialect: Any
) -> None:
    """`kept._compiled` compiles a statement's shape once: each statement of that shape
    still gets its own values, in the order its own compile would give them."""
    hi = lo + 7 * weeks
    made = [
        weeks_module._answers_query(stream, lo, hi),
        weeks_module._changed_answers_query(stream, lo, hi, seen),
        weeks_module._counts_query(stream, lo, hi, seen),
        select(WindowCell.locality_id, (WindowCell.day - lo) // 7)
        .where(WindowCell.stream == stream, WindowCell.day >= lo, WindowCell.until >= hi)
        .group_by(WindowCell.locality_id, (WindowCell.day - lo) // 7),
    ]
    for stmt in made:
        compiled = stmt.compile(dialect=dialect)
        params = compiled.construct_params()
        positions = tuple(compiled.positiontup or ()) if compiled.positional else None
        assert kept_module._compiled(stmt, dialect) == (compiled.string, params, positions)


def test_the_cells_read_off_the_cursor_are_the_rows_sqlalchemy_gives(rt: Runtime) -> None:
    """Issue 15: `kept._run` reads its rows straight off the driver's cursor (on
    psycopg in PostgreSQL's binary format): the same values, of the same Python types,
    as SQLAlchemy's own execution of each shape the pass reads."""
    locs, people = _reset(rt)
    made = [
        Made(i % 4 == 0, i % 3, i % 5, PRIMARY, 1 + i % 5, 86400 * i + 3600 * (i % 7), i % 9 == 0)
        for i in range(80)
    ]
    with transaction(rt.sessions) as s:
        _store(s, made, locs, people)
        rollup.roll_up(s, PRIMARY)
        lo, hi = rollup.day_of(ORIGIN), rollup.day_of(ORIGIN) + 7 * 12
        trust = rollup.weekly(rollup.trust_stream(PRIMARY))
        index = (DayCount.day - lo) // 7
        shapes = [
            (weeks_module._answers_query(trust, lo, hi), True),
            (weeks_module._changed_answers_query(trust, lo, hi, -1), False),
            (weeks_module._counts_query(rollup.weekly(rollup.INCIDENT), lo, hi), False),
            (weeks_module._counts_query(rollup.weekly(rollup.INCIDENT), lo, hi, -1), False),
            (
                select(DayCount.locality_id, index, func.sum(DayCount.plain))
                .where(DayCount.stream == rollup.INCIDENT, DayCount.day >= lo)
                .group_by(DayCount.locality_id, index),
                False,
            ),
        ]
        for stmt, in_key_order in shapes:
            read = kept_module._run(s, stmt, in_key_order=in_key_order)
            expected = [tuple(row) for row in s.execute(stmt)]
            assert read, str(stmt)
            assert sorted(read) == sorted(expected)
            assert sorted(tuple(map(type, r)) for r in read) == sorted(
                tuple(map(type, r)) for r in expected
            )


@pytest.mark.postgres
def test_the_week_cells_are_summed_in_the_keys_order_without_a_hash_or_a_sort(rt: Runtime) -> None:
    """Issue 15: the trust CUSUM's weeks read whole (a cold pass: ~72,000 cells in
    ~38,000 groups at 1M ratings) walk the primary key, in the groups' own order
    (day, locality), and sum each group as it ends: no hash table, no sort, which
    PostgreSQL 15 chooses unasked (a hash of a bitmap scan, ~20 % more of its CPU). The
    same sums, and the planner's settings as they were once the read is done."""
    locs, people = _reset(rt)
    made = [Made(False, i % 3, i % 5, PRIMARY, 1 + i % 4, 86400 * i, False) for i in range(60)]
    plans: list[str] = []
    with transaction(rt.sessions) as s:
        _store(s, made, locs, people)
        rollup.roll_up(s, PRIMARY)
        stream, start = rollup.trust_stream(PRIMARY), ORIGIN
        cells = WeekCells()
        assert cells.sync(s)
        dbapi = s.connection().connection.dbapi_connection
        dbapi.add_notice_handler(lambda diag: plans.append(diag.message_primary or ""))  # type: ignore[union-attr]
        s.execute(text("LOAD 'auto_explain'"))
        s.execute(text("SET LOCAL auto_explain.log_min_duration = 0"))
        s.execute(text("SET LOCAL auto_explain.log_level = 'notice'"))
        settings_before = s.execute(text("SHOW enable_hashagg")).scalar()
        warm = cells.answers(s, stream, rollup.day_of(start), 10)
        cold = kept_module.weekly_answers(s, stream, start, 10)
        assert s.execute(text("SHOW enable_hashagg")).scalar() == settings_before == "on"
        assert s.execute(text("SHOW enable_sort")).scalar() == "on"
        assert s.execute(text("SHOW enable_bitmapscan")).scalar() == "on"
        s.execute(text("SET LOCAL auto_explain.log_min_duration = -1"))
    reads = [p for p in plans if "sum(window_cells.n)" in p or "sum(n)" in p]
    assert len(reads) == 2, plans
    for plan in reads:
        assert "GroupAggregate" in plan and "pk_window_cells" in plan, plan
        assert "HashAggregate" not in plan and "Sort" not in plan, plan
    assert warm and warm == cold


def test_a_backlog_small_beside_what_is_rolled_is_folded_not_rebuilt(
    rt: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A week's reports at 3M a year (57,000, over BULK) were a rebuild of every cell;
    beside the reports already rolled they are few, so they are folded. A backlog as
    large as a tenth of them (an import) is still a rebuild."""
    locs, people = _reset(rt)
    monkeypatch.setattr(rollup, "BULK", 5)
    made = [Made(False, i % 2, i % 5, PRIMARY, 1 + i % 5, i * 20_000, False) for i in range(200)]
    rebuilt: list[int] = []
    real = rollup.rebuild

    def counted(session: Session, primary: str) -> int:
        rebuilt.append(1)
        return real(session, primary)

    monkeypatch.setattr(rollup, "rebuild", counted)
    with transaction(rt.sessions) as s:
        _store(s, made[:150], locs, people)
        rollup.roll_up(s, PRIMARY)  # the first: a rebuild
        _store(s, made[150:158], locs, people)  # 8 >= BULK, but under a tenth of 158
        rollup.roll_up(s, PRIMARY)
        assert len(rebuilt) == 1
        _store(s, made[158:], locs, people)  # 42: over a tenth of 200
        rollup.roll_up(s, PRIMARY)
        assert len(rebuilt) == 2
