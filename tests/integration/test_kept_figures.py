"""The kept figure cells give exactly the figures of the window scans they replace:
random reporters answering repeatedly, reports arriving out of order between
rollups, burst flags, incidents with and without a reporter."""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass
from typing import Any

from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from gateway.db import transaction
from gateway.models import DayCount, Incident, JobState, Locality, Reporter, TrustRating, WindowCell
from gateway.runtime import Runtime
from gateway.services.alerts.engine import Measures
from gateway.services.figures import rollup

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


reports = st.builds(
    Made,
    incident=st.booleans(),
    locality=st.integers(0, 2),
    reporter=st.one_of(st.none(), st.integers(0, 4)),
    question=st.sampled_from([PRIMARY, PRIMARY, "protection"]),
    value=st.integers(1, 5),
    # Mostly a few busy days (many answers of one person close together), some spread.
    second=st.one_of(
        st.integers(0, SPAN_DAYS * 86400 - 1),
        st.integers(40 * 86400, 44 * 86400),
        st.sampled_from([50 * 86400 - 1, 50 * 86400, 77 * 86400]),
    ),
    burst=st.booleans(),
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


def _reset(rt: Runtime) -> tuple[list[int], list[int]]:
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
                for i in range(5)
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
