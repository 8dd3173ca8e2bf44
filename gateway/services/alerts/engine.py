"""The alert cycle: measure, check each rule where there is data, and open, update,
clear or close alerts, notifying committees through the outbox.

Every step is keyed so that running it twice, or in two clocks at once, changes
nothing more: one alert that is not closed per locality and rule (a partial unique
index), one SMS per alert, round and member (outbox dedupe keys), and on PostgreSQL a
transaction-level advisory lock so a second clock skips the pass altogether.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import gc
import itertools
import logging
import math
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.db import transaction
from gateway.domain import findings as checks
from gateway.domain import surveillance as sv
from gateway.domain.findings import Finding, WeeklyAnswers
from gateway.domain.rules import (
    OverrideKey,
    may_reopen,
    should_autoclose,
    should_notify,
    week_start,
)
from gateway.domain.trust_index import Aggregate, trust_index
from gateway.gazetteer.index import Gazetteer, gazetteer
from gateway.models import Alert, AlertState, JobState
from gateway.runtime import Runtime
from gateway.services.alerts import designs as cusum_designs
from gateway.services.alerts import lifecycle
from gateway.services.alerts.jobstate import CYCLE_LOCK, days, holds_lock, record_watermark
from gateway.services.alerts.messages import send_round
from gateway.services.alerts.thresholds import overrides, values
from gateway.services.figures import kept, measures, rollup
from gateway.services.figures.weeks import WeekCells

log = logging.getLogger(__name__)
# How far back a backtest looks for localities with data (trust_shift's default
# replay spans 86 weeks, 602 days).
CANDIDATE_WINDOW = dt.timedelta(days=610)
REOPEN_COOLDOWN_MAX = 180  # days: the bound of every rule's reopen_cooldown_days
WINDOW_RULES = (
    "trust_low",
    "trust_drop",
    "trust_shift",
    "incident_spike",
    "incident_cusum",
    "reporting_silence",
)
WEEK = dt.timedelta(days=7)
WEEK_MARK = "evaluate_week"  # JobState: the last calendar week the window rules ran for


@dataclass
class CycleSummary:
    skipped: bool = False
    localities: int = 0
    opened: list[str] = field(default_factory=list)
    updated: int = 0
    closed: int = 0
    queued_sms: int = 0
    # Checks (locality and rule) or localities that raised: logged, left as they were.
    errors: int = 0
    skipped_window: bool = False  # the window rules had run for this week already

    def merge(self, other: CycleSummary) -> None:
        self.opened += other.opened
        self.updated += other.updated
        self.closed += other.closed
        self.queued_sms += other.queued_sms


class Measures:
    """Aggregates computed once per window and reused by every locality of a pass.

    Day-aligned windows (the weekly pass's, the backtest's) are read from the kept
    cells when they hold every report before `now` (`figures.kept`); any other window,
    or cells not yet complete, is scanned (`figures.measures`): the same figures either
    way (tests/integration/test_kept_figures.py). `scan` forces the scan. `design`
    gives the incident CUSUM's charts (a `DesignBook`'s, kept across restarts)."""

    def __init__(
        self,
        session: Session,
        question: str,
        now: dt.datetime,
        first: dict[int, dt.datetime] | None = None,
        *,
        scan: bool = False,
        cells: WeekCells | None = None,
        design: Callable[[float, float, float], sv.PoissonCusum] = sv.poisson_cusum_design,
    ) -> None:
        self.session, self.question, self.now = session, question, now
        self.design = design
        self._cells = cells  # synced in this transaction: the weeks kept between passes
        self._trust: dict[tuple[dt.datetime, dt.datetime], dict[int, Any]] = {}
        self._counts: dict[tuple[dt.datetime, dt.datetime], dict[int, Any]] = {}
        self._series: dict[tuple[dt.timedelta, int], dict[int, Any]] = {}
        self._first: dict[int, dt.datetime] | None = first
        self._weekly: dict[tuple[int, int], list[dict[int, Any]]] = {}
        self._answers: dict[int, dict[int, WeeklyAnswers]] = {}
        self._residuals: dict[int, dict[int, WeeklyAnswers]] = {}
        self._complete: bool | None = False if scan else None
        # Per locality, the weeks from its first report to `now` (None: no report).
        self._since: dict[int, int | None] = {}
        self._parts: kept.Parts = {}  # the windows' parts read, by their bounds

    def _kept(self, *times: dt.datetime) -> bool:
        """Whether the kept cells answer windows bounded by `times` exactly."""
        if not kept.aligned(self.now, *times):
            return False
        if self._complete is None:
            self._complete = rollup.complete_before(self.session, self.now, self.question)
        return self._complete

    def first_seen(self) -> dict[int, dt.datetime]:
        if self._first is None:
            read = measures if self._complete is False else kept  # the scan when told
            self._first = read.first_seen(self.session)
        return self._first

    def active_weeks(self, loc: int, periods: list[Any]) -> list[Any]:
        """The weekly periods ending at `now` from the locality's first report on."""
        keep = self._active(loc, len(periods))
        return periods[len(periods) - keep :]

    def _active(self, loc: int, periods: int) -> int:
        """How many of `periods` weeks ending at `now` follow the locality's first report."""
        if loc in self._since:
            weeks = self._since[loc]
        else:  # once per locality: the rules ask ~5 times each
            first = self.first_seen().get(loc)
            weeks = self._since[loc] = (
                None if first is None else math.ceil((self.now - first) / WEEK)
            )
        if weeks is None:
            return periods
        return min(weeks, periods) if weeks > 0 else 0

    def _week_cells(self, stream: str, weeks: int) -> dict[int, WeeklyAnswers] | None:
        """The week cells' columns of `stream` for the `weeks` calendar weeks ending at
        `now`, or None where the cells do not answer them."""
        start = self.now - WEEK * weeks
        a = rollup.day_of(start)
        if not (self._kept(start) and rollup.monday(a) == a):
            return None
        if self._cells is not None and self._cells.synced:
            return self._cells.answers(self.session, stream, a, weeks)
        return kept.weekly_answers(self.session, stream, start, weeks)

    def residual_weeks(self, loc: int, weeks: int) -> WeeklyAnswers:
        """The locality's residuals (`rollup.residuals`) of the `weeks` calendar weeks
        ending at `now`, from its first report on, as columns in points."""
        if weeks not in self._residuals:
            stream = rollup.residual_stream(self.question)
            found = self._week_cells(stream, weeks)
            if found is None:
                start = self.now - WEEK * weeks
                found = measures.residual_weeks(self.session, self.question, start, weeks)
            self._residuals[weeks] = found
        cols = self._residuals[weeks].get(loc)
        active = self._active(loc, weeks)
        if cols is None:  # no residual in these weeks (most localities): zeros, undivided
            zeros = [0.0] * min(active, weeks)
            return WeeklyAnswers(zeros, zeros, zeros)
        # Cut, then divided: the same values, fewer divisions.
        return cols.last(active).divided(rollup.RESIDUAL_SCALE)

    def trust_weeks(self, loc: int, weeks: int) -> WeeklyAnswers:
        """The locality's trust aggregates of the `weeks` calendar weeks ending at `now`,
        from its first report on, as columns (`weekly_trust` per locality)."""
        if weeks not in self._answers:
            cells = self._week_cells(rollup.trust_stream(self.question), weeks)
            if cells is not None:
                found = cells
            else:
                by_week = self.weekly_trust(weeks)
                locs = set().union(*by_week)
                found = {
                    loc: WeeklyAnswers.of([w.get(loc, _NO_ANSWERS) for w in by_week])
                    for loc in locs
                }
            self._answers[weeks] = found
        cols = self._answers[weeks].get(loc)
        if cols is None:
            zeros = [0.0] * weeks
            cols = WeeklyAnswers(zeros, zeros, zeros)
        return cols.last(self._active(loc, weeks))

    def weekly_trust(self, weeks: int, skip: int = 0) -> list[dict[int, Any]]:
        """Trust aggregates of `weeks` calendar weeks, oldest first, ending `skip`
        weeks before `now` (each week its own latest answer per reporter); from the
        cells, one query however many weeks."""
        if (weeks, skip) in self._weekly:
            return self._weekly[(weeks, skip)]
        end = self.now - WEEK * skip
        edges = [end - WEEK * (weeks - i) for i in range(weeks + 1)]
        pairs = list(itertools.pairwise(edges))
        if self._kept(edges[0]) and any(key not in self._trust for key in pairs):
            stream = rollup.trust_stream(self.question)
            found = kept.weekly(self.session, stream, edges[0], 7, weeks)
            for key, week in zip(pairs, found, strict=True):
                self._trust.setdefault(key, week)
        self._weekly[(weeks, skip)] = [self.trust(lo, hi) for lo, hi in pairs]
        return self._weekly[(weeks, skip)]

    def trust(self, start: dt.datetime, end: dt.datetime) -> dict[int, Any]:
        key = (start, end)
        if key not in self._trust:
            if self._kept(start, end) and kept.answers(start, end):
                found = kept.trust_aggregates(self.session, self.question, start, end, self._parts)
            else:
                found = measures.trust_aggregates(self.session, self.question, start, end)
            self._trust[key] = found
        return self._trust[key]

    def counts(self, window: float, baseline: float) -> dict[int, Any]:
        current_start = self.now - days(window)
        key = (current_start - days(baseline), current_start)
        if key not in self._counts:
            args = (self.session, self.question, key[0], current_start, self.now)
            if self._kept(*key) and kept.answers(*key):
                totals = None
                if self._cells is not None and self._cells.synced:
                    totals = functools.partial(self._cells.totals, self.session)
                self._counts[key] = kept.report_counts(*args, totals)
            else:
                self._counts[key] = measures.report_counts(*args)
        return self._counts[key]

    def series(self, period_days: float, periods: int) -> dict[int, Any]:
        key = (days(period_days), periods)
        if key not in self._series:
            whole = key[0] == dt.timedelta(days=key[0].days)
            if whole and self._kept(self.now - measures.GATE):
                self._series[key] = self._kept_series(key[0], periods)
            else:
                self._series[key] = measures.incident_series(
                    self.session, self.now, *key, measures.GATE
                )
        return self._series[key]

    def _kept_series(self, period: dt.timedelta, periods: int) -> dict[int, Any]:
        """From the cells; cut from a longer series of the same period already read
        (the pass reads its longest first: see `_candidates`)."""
        longer = [n for (p, n) in self._series if p == period and n > periods]
        if longer and period * periods >= measures.GATE:
            return kept.shorter(self._series[(period, min(longer))], periods)
        start = rollup.day_of(self.now) - period.days * periods
        weeks = None
        weekly = period == WEEK and rollup.monday(start) == start
        if self._cells is not None and self._cells.synced and weekly:
            weeks = self._cells.series(self.session, rollup.INCIDENT, start, periods)
        return kept.incident_series(self.session, self.now, period, periods, measures.GATE, weeks)


def _trust_low(m: Measures, loc: int, p: dict[str, float]) -> Finding | None:
    agg = m.trust(m.now - days(p["window_days"]), m.now).get(loc)
    if not agg or not checks.may_be_low(agg, p):
        return None
    return checks.check_trust_low(trust_index(agg), p)


def _trust_drop(m: Measures, loc: int, p: dict[str, float]) -> Finding | None:
    start = m.now - days(p["window_days"])
    current = m.trust(start, m.now).get(loc)
    baseline = m.trust(start - days(p["baseline_days"]), start).get(loc)
    return checks.check_trust_drop(current, baseline, p) if current and baseline else None


_NO_ANSWERS = Aggregate()  # a week without answers (frozen: one shared instance)


def _chart_weeks(p: dict[str, float]) -> int:
    """The weeks a carried CUSUM replays: its horizon and the baseline of its first week."""
    return int(p["horizon_weeks"] + p["guard_weeks"] + p["baseline_weeks"])


def _trust_shift(m: Measures, loc: int, p: dict[str, float]) -> Finding | None:
    recent = m.trust(m.now - measures.GATE, m.now).get(loc)
    # The check's own first test (the privacy gate), made before its weeks are built.
    if recent is None or recent.n < p["min_reporters"]:
        return None
    weeks = _chart_weeks(p)
    residuals = m.residual_weeks(loc, weeks) if p["within_share"] <= 1 else None
    return checks.check_trust_shift(m.trust_weeks(loc, weeks), recent.n, p, residuals)


def _incident_spike(m: Measures, loc: int, p: dict[str, float]) -> Finding | None:
    series = m.series(7, int(p["baseline_weeks"] + p["guard_weeks"]) + 1).get(loc)
    # Below min_reporters the check finds nothing whatever the counts: not built.
    if series is None or series.reporters < p["min_reporters"]:
        return None
    return checks.check_incident_spike(m.active_weeks(loc, series.periods), series.reporters, p)


def _incident_cusum(m: Measures, loc: int, p: dict[str, float]) -> Finding | None:
    series = m.series(7, _chart_weeks(p)).get(loc)
    if series is None or series.reporters < p["min_reporters"]:  # the check's first test
        return None
    weeks = m.active_weeks(loc, series.periods)
    return checks.check_incident_cusum(weeks, series.reporters, p, m.design)


def _reporting_silence(m: Measures, loc: int, p: dict[str, float]) -> Finding | None:
    counts = m.counts(p["window_days"], p["baseline_days"]).get(loc)
    if counts is None:
        return None
    return checks.check_reporting_silence(
        counts.current, counts.baseline, counts.baseline_reporters, p
    )


_CHECKS: dict[str, Callable[[Measures, int, dict[str, float]], Finding | None]] = {
    "trust_low": _trust_low,
    "trust_drop": _trust_drop,
    "trust_shift": _trust_shift,
    "incident_spike": _incident_spike,
    "incident_cusum": _incident_cusum,
    "reporting_silence": _reporting_silence,
}


def _finding(m: Measures, rule: str, loc: int, p: dict[str, float]) -> Finding | None:
    check = _CHECKS.get(rule)
    return check(m, loc, p) if check is not None else None


# A follower rule's finding is dropped where its leader fires for the same locality:
# one alert per event, the CUSUMs alerting for the slower changes the others miss.
LEADER = {"trust_shift": "trust_drop", "incident_cusum": "incident_spike"}


def findings(
    rt: Runtime,
    gaz: Gazetteer,
    stored: Mapping[OverrideKey, float],
    m: Measures,
    localities: Iterable[int],
    rules: Iterable[str] = WINDOW_RULES,
    errors: list[tuple[int, str]] | None = None,
) -> dict[tuple[int, str], tuple[Finding | None, dict[str, float]]]:
    """What each rule finds for each locality as of `m.now`, with the values used;
    nothing is written (the alert cycle and the console's backtest both use it).

    A check that raises is logged and left out of the result (so an open alert is not
    taken for clear), its (locality, rule) appended to `errors`: one locality's
    figures can never stop the checks of the others. A follower rule (LEADER) finds
    nothing where its leader fires."""
    asked = list(rules)
    leaders = [LEADER[r] for r in asked if r in LEADER and LEADER[r] not in asked]
    out = _findings(rt, gaz, stored, m, localities, [*asked, *leaders], errors)
    for (loc, rule), (found, p) in list(out.items()):
        lead = out.get((loc, LEADER.get(rule, "")))
        if found is not None and lead is not None and lead[0] is not None:
            out[(loc, rule)] = (None, p)
    return {key: value for key, value in out.items() if key[1] in asked}


def _findings(
    rt: Runtime,
    gaz: Gazetteer,
    stored: Mapping[OverrideKey, float],
    m: Measures,
    localities: Iterable[int],
    rules: Iterable[str],
    errors: list[tuple[int, str]] | None,
) -> dict[tuple[int, str], tuple[Finding | None, dict[str, float]]]:
    """`findings` without the leaders' precedence."""
    out: dict[tuple[int, str], tuple[Finding | None, dict[str, float]]] = {}
    # Localities whose chain holds no override share the national values.
    scoped = {pcode for pcode, _, _ in stored if pcode is not None}
    shared: dict[str, dict[str, float]] = {}
    for loc in sorted(localities):
        plain = not scoped or not scoped.intersection(gaz.pcodes[i] for i in gaz.chain(loc))
        for rule in rules:
            if plain and rule in shared:
                p = shared[rule]
            else:
                p = values(rt, gaz, stored, rule, loc)
                if plain:
                    shared[rule] = p
            try:
                out[(loc, rule)] = (_finding(m, rule, loc, p), dict(p))
            except Exception:
                log.exception("rule %s failed for locality %s", rule, gaz.pcodes[loc])
                if errors is not None:
                    errors.append((loc, rule))
    return out


def _candidates(rt: Runtime, m: Measures) -> set[int]:
    """Localities with data in the national windows of the rules: the measures a pass
    needs anyway (cached in `m`), so finding candidates costs no extra scan."""
    defaults = {
        rule: {k: v.default for k, v in spec.params.items()}
        for rule, spec in rt.reference.rules.items()
    }
    trust, spike = defaults["trust_drop"], defaults["incident_spike"]
    cusum, silence = defaults["incident_cusum"], defaults["reporting_silence"]
    start = m.now - days(trust["window_days"])
    spike_periods = int(spike["baseline_weeks"] + spike["guard_weeks"]) + 1
    cusum_periods = _chart_weeks(cusum)
    # The longer incident series first: the shorter is then cut from it, not read.
    series = [m.series(7, n) for n in sorted({spike_periods, cusum_periods}, reverse=True)]
    return (
        set(m.trust(start, m.now))
        | set(m.trust(start - days(trust["baseline_days"]), start))
        | set(m.counts(silence["window_days"], silence["baseline_days"]))
        | set().union(*series)
    )


# The parameters that set how far back a rule reads.
WINDOW_PARAMS = frozenset(
    {"window_days", "baseline_days", "baseline_weeks", "guard_weeks", "horizon_weeks"}
)


def _under_own_windows(gaz: Gazetteer, stored: Mapping[OverrideKey, float]) -> set[int]:
    """The localities of areas whose windows are set apart from the national ones:
    their data may sit outside the windows `_candidates` reads. Empty, at no cost,
    when no area has such a setting; else the rules read those windows once for all."""
    areas = {pcode for pcode, _, param in stored if pcode is not None and param in WINDOW_PARAMS}
    if not areas:
        return set()
    return {loc for loc in gaz.pcodes if any(gaz.pcodes[i] in areas for i in gaz.chain(loc))}


WEEK_CELLS = "figures.week_cells"  # Runtime.cached: the week cells a pass keeps


def run_alert_cycle(rt: Runtime, now: dt.datetime, *, force: bool = False) -> CycleSummary:
    """One evaluation pass (the clock's job every 5 minutes, and `alerts evaluate`).

    The window rules run once per calendar week, as of its first instant
    (`week_start`), the first pass of a week that finds them not yet run for it; so
    production opens exactly the alerts the console's backtest replays. `force` runs
    them for the week of `now` again (by hand). Quiet urgent alerts close every pass.

    The pass keeps what it read of the week cells in the Runtime (`weeks.WeekCells`)
    and reads next time only the cells written since; a second pass of the same
    process at the same moment reads them all."""
    cells: WeekCells = rt.cached(WEEK_CELLS, WeekCells)
    if not cells.lock.acquire(blocking=False):
        return _cycle(rt, now, force, None)
    try:
        return _cycle(rt, now, force, cells)
    except BaseException:
        cells.forget()  # it may hold what a transaction rolled back had written
        raise
    finally:
        cells.lock.release()


def _cycle(rt: Runtime, now: dt.datetime, force: bool, cells: WeekCells | None) -> CycleSummary:
    """`run_alert_cycle`, with the week cells kept (None: read them all)."""
    summary = CycleSummary()
    with _no_cycle_collection(), transaction(rt.sessions) as session:
        if not holds_lock(session, CYCLE_LOCK):
            summary.skipped = True
            return summary
        _roll_up(session, rt.reference.primary_question)
        gaz = gazetteer(rt)
        stored = overrides(session)
        open_alerts = _open_alerts(session)
        at = week_start(now)
        mark = session.get(JobState, WEEK_MARK)
        done = mark is not None and mark.watermark is not None and _aware(mark.watermark) >= at
        if not done or force:
            # In its own frame: what the rules read and found is freed when it returns,
            # before the collector is back (`_no_cycle_collection`).
            _window_rules(session, rt, gaz, stored, open_alerts, cells, now, summary)
        else:
            summary.skipped_window = True
        _close_quiet_urgent(session, rt, gaz, stored, open_alerts, now, summary)
        record_watermark(session, "evaluate", now)
        if not summary.skipped_window:
            record_watermark(session, WEEK_MARK, at)
    return summary


def _window_rules(
    session: Session,
    rt: Runtime,
    gaz: Gazetteer,
    stored: Mapping[OverrideKey, float],
    open_alerts: dict[tuple[int, str], Alert],
    cells: WeekCells | None,
    now: dt.datetime,
    summary: CycleSummary,
) -> None:
    """The window rules of the week of `now` for every candidate locality, their
    findings written (`_Writes`)."""
    at = week_start(now)
    kept_weeks = cells if cells is not None and cells.sync(session) else None
    designs = cusum_designs.book(rt, session)
    question = rt.reference.primary_question
    m = Measures(session, question, at, cells=kept_weeks, design=designs.design)
    held = _held(session, now)
    failed: list[tuple[int, str]] = []
    candidates = (
        _candidates(rt, m) | _under_own_windows(gaz, stored) | {loc for loc, _ in open_alerts}
    )
    summary.localities = len(candidates)
    found_all = findings(rt, gaz, stored, m, candidates, errors=failed)
    if kept_weeks is not None:
        kept_weeks.finish()
    cusum_designs.save(session, designs)
    summary.errors += len(failed)
    by_locality: dict[int, Results] = {}
    for (loc, rule), (found, p) in found_all.items():
        by_locality.setdefault(loc, []).append((rule, found, p))
    writes = _Writes(session, rt, gaz, open_alerts, held, now, at)
    writes.apply_all(
        [(loc, results) for loc, results in by_locality.items() if writes.needed(loc, results)],
        summary,
    )


@contextlib.contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """Pause the cyclic garbage collector for the pass: it makes ~100,000 short-lived
    objects (rows, columns, findings), none in a cycle, which reference counting frees;
    meanwhile they would trigger collections of the whole heap (the kept weeks and the
    charts' caches with it) in the middle of the pass: one full collection and ~15 of
    the middle generation per weekly pass at 1M ratings, about a third of its CPU on a
    loaded machine (measured, 2026-12-01). The few cycles a pass leaves (the session's
    own objects) are collected after it."""
    paused = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if paused:
            gc.enable()


Results = list[tuple[str, Finding | None, dict[str, float]]]  # a locality's (rule, found, p)


@dataclass
class _Writes:
    """What a pass needs to write its findings (`apply_all`)."""

    session: Session
    rt: Runtime
    gaz: Gazetteer
    open_alerts: Mapping[tuple[int, str], Alert]
    held: Mapping[tuple[int, str], Alert]
    now: dt.datetime
    at: dt.datetime

    def needed(self, loc: int, results: Results) -> bool:
        """Whether a locality's findings change anything: a finding, or an alert (open,
        or closed and holding a condition back) to update; most localities have none."""
        return any(
            found is not None or (loc, rule) in self.open_alerts or (loc, rule) in self.held
            for rule, found, _ in results
        )

    def apply_all(self, localities: list[tuple[int, Results]], summary: CycleSummary) -> None:
        """Write the localities' findings in one savepoint. Should a write fail, that
        savepoint is undone and each locality written again in a savepoint of its own:
        one that fails undoes its own changes only (logged, counted in `errors`), and
        the others are written."""
        whole = CycleSummary()
        try:
            with self.session.begin_nested():
                for loc, results in localities:
                    self._apply(loc, results, whole)
        except Exception:
            self.session.expire_all()
        else:
            summary.merge(whole)
            return
        for loc, results in localities:
            part = CycleSummary()
            try:
                with self.session.begin_nested():
                    self._apply(loc, results, part)
            except Exception:
                log.exception("alerts of locality %s could not be updated", self.gaz.pcodes[loc])
                self.session.expire_all()
                summary.errors += 1
                continue
            summary.merge(part)

    def _apply(self, loc: int, results: Results, summary: CycleSummary) -> None:
        for rule, found, p in results:
            alert = self.open_alerts.get((loc, rule))
            if alert is None and _held_back(self.held.get((loc, rule)), found, p, self.now):
                continue
            _apply(self.session, self.rt, self.gaz, alert, loc, rule, found, p, self.now,
                   self.at, summary)  # fmt: skip


def roll_up_figures(rt: Runtime, *, rebuild: bool = False) -> int | None:
    """Fold the stored reports into the figures' cells now (`alerts rollup`: after the
    migration or a large import, so the next pass need not); None when a pass holds
    the lock. `rebuild` builds every cell again from all reports."""
    with transaction(rt.sessions) as session:
        if not holds_lock(session, CYCLE_LOCK):
            return None
        question = rt.reference.primary_question
        if rebuild:
            return rollup.rebuild(session, question)
        return rollup.roll_up(session, question)


def _roll_up(session: Session, question: str) -> None:
    """Fold the reports stored since the last pass into the figures' cells (this pass
    holds the lock: the cells' one writer). A failure leaves the cells as they were,
    and the pass scans the windows instead."""
    try:
        with session.begin_nested():
            rollup.roll_up(session, question)
    except Exception:
        log.exception("figure cells could not be rolled up; this pass scans the windows")


def _aware(t: dt.datetime) -> dt.datetime:
    return t if t.tzinfo is not None else t.replace(tzinfo=dt.UTC)


def _open_alerts(session: Session) -> dict[tuple[int, str], Alert]:
    rows = session.scalars(select(Alert).where(Alert.state != AlertState.CLOSED))
    return {(a.locality_id, a.rule): a for a in rows}


def _held(session: Session, now: dt.datetime) -> dict[tuple[int, str], Alert]:
    """Per locality and rule, the newest alert a person closed while its condition still
    held (none seen clear since), within the longest cool-down: it may hold back a new
    alert for the same condition (see `_held_back`)."""
    since = now - days(REOPEN_COOLDOWN_MAX)
    rows = session.scalars(
        select(Alert)
        .where(Alert.state == AlertState.CLOSED, Alert.closed_at >= since)
        .order_by(Alert.closed_at, Alert.id)
    )
    newest = {(a.locality_id, a.rule): a for a in rows}
    return {key: a for key, a in newest.items() if a.clear_since is None}


def _held_back(
    closed: Alert | None, found: Finding | None, p: dict[str, float], now: dt.datetime
) -> bool:
    """Whether a closed alert keeps its condition from opening a new one now. A pass
    that finds the condition clear notes it on the closed alert (`clear_since`), after
    which it holds nothing back."""
    if closed is None:
        return False
    if found is None:
        closed.clear_since = now
        return True
    cooldown = days(p.get("reopen_cooldown_days", 0))
    return not may_reopen(closed.closed_at, False, closed.severity, found.severity, now, cooldown)


def _apply(
    session: Session,
    rt: Runtime,
    gaz: Gazetteer,
    alert: Alert | None,
    loc: int,
    rule: str,
    found: Finding | None,
    p: dict[str, float],
    now: dt.datetime,
    at: dt.datetime,
    summary: CycleSummary,
) -> None:
    """`at` is the week the findings are for: the lifecycle (clear since, closing after
    clear_days) counts in it, so it steps exactly as the backtest's replay does."""
    if found is None:
        if alert is not None:
            _clear(session, alert, p, at, now, summary)
        return
    figures = {**p, **found.figures}  # the rule values used, then what was measured
    if alert is None:
        alert = lifecycle.open_alert(
            session, loc, rule, found.severity, figures, found.verified, now
        )
        if alert is None:
            return  # another clock opened it a moment ago
        summary.opened.append(alert.code)
        summary.queued_sms += send_round(session, rt, gaz, alert, now)
        return
    alert.figures, alert.last_seen_at, alert.clear_since = figures, at, None
    rose = found.severity > alert.severity
    alert.severity = found.severity
    summary.updated += 1
    if rose:
        lifecycle.record_event(session, alert, "severity", now, f"severity {found.severity}")
    rearm = days(p["rearm_days"])
    if alert.state == AlertState.OPEN and should_notify(
        alert.notified_severity, found.severity, alert.notified_at, now, rearm
    ):
        summary.queued_sms += send_round(session, rt, gaz, alert, now)


def _clear(
    session: Session,
    alert: Alert,
    p: dict[str, float],
    at: dt.datetime,
    now: dt.datetime,
    summary: CycleSummary,
) -> None:
    if alert.clear_since is None:
        alert.clear_since = at
    if should_autoclose(_aware(alert.clear_since), at, days(p["clear_days"])):
        lifecycle.autoclose(session, alert, now, "condition clear")
        summary.closed += 1


def _close_quiet_urgent(
    session: Session,
    rt: Runtime,
    gaz: Gazetteer,
    stored: Any,
    open_alerts: dict[tuple[int, str], Alert],
    now: dt.datetime,
    summary: CycleSummary,
) -> None:
    """An urgent alert closes by itself once no urgent report came for clear_days."""
    for (loc, rule), alert in open_alerts.items():
        if rule != "incident_urgent":
            continue
        p = values(rt, gaz, stored, rule, loc)
        if should_autoclose(alert.last_seen_at, now, days(p["clear_days"])):
            lifecycle.autoclose(session, alert, now, "no urgent report since")
            summary.closed += 1
