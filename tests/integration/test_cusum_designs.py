"""The Poisson CUSUM designs kept across restarts (gateway/services/alerts/designs.py):
what is kept is what `poisson_cusum_design` computes, and a restarted process finds
the same figures and alerts without computing a design again."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

import pytest
from sqlalchemy import select

from gateway.db import transaction
from gateway.domain import surveillance as sv
from gateway.gazetteer.index import gazetteer
from gateway.models import Alert, CusumDesign
from gateway.runtime import Runtime
from gateway.services.alerts import designs
from gateway.services.alerts.engine import Measures, findings, run_alert_cycle
from tests.integration.test_kept_figures import ORIGIN, PRIMARY, Made, _reset, _store

WEEKS = 30  # ends 2026-09-28: every report before the real clock (the rollup folds none after it)


def _incidents(seed: int) -> list[Made]:
    """Two localities' incidents from eight reporters over WEEKS weeks, at random
    weekly counts, rising in the last weeks of one of them (so the CUSUM charts, and
    fires)."""
    rng = random.Random(seed)
    out = []
    for week in range(WEEKS):
        for loc in (0, 1):
            rise = loc == 0 and week >= WEEKS - 4
            for _ in range(rng.randint(12, 20) if rise else rng.randint(0, 3)):
                second = (week * 7 + rng.randrange(7)) * 86400 + rng.randrange(86400)
                burst = rng.random() < 0.1
                out.append(Made(True, loc, rng.randrange(8), PRIMARY, 0, second, burst))
    return out


def _alerts(rt: Runtime) -> list[tuple[Any, ...]]:
    with rt.sessions() as s:
        rows = s.scalars(select(Alert).order_by(Alert.locality_id, Alert.rule))
        return [(a.locality_id, a.rule, a.severity, a.figures) for a in rows]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_restarted_pass_finds_the_kept_designs_and_the_same_alerts(
    rt: Runtime, monkeypatch: pytest.MonkeyPatch, seed: int
) -> None:
    locs, people = _reset(rt, reporters=8)
    with transaction(rt.sessions) as s:
        s.execute(CusumDesign.__table__.delete())
        _store(s, _incidents(seed), locs, people)
    now = ORIGIN + dt.timedelta(weeks=WEEKS)
    rt.forget(designs.CUSUM_DESIGNS)
    run_alert_cycle(rt, now, force=True)
    computed = _alerts(rt)
    assert any(rule.startswith("incident") for _, rule, _, _ in computed)
    with rt.sessions() as s:
        kept = list(s.scalars(select(CusumDesign)))
    assert kept and {row.version for row in kept} == {sv.DESIGN_VERSION}
    for row in kept:  # exactly what the design computes, every float to the last bit
        made = sv.PoissonCusum(row.mean, row.resolution, row.k_units, row.h_units, row.run_length)
        assert sv.poisson_cusum_design.__wrapped__(row.mean, row.arl, row.ratio) == made

    # A restart: nothing in the process, and no design may be computed.
    rt.forget(designs.CUSUM_DESIGNS)

    def refused(*args: Any) -> sv.PoissonCusum:
        raise AssertionError(f"design computed again: {args}")

    monkeypatch.setattr(sv, "poisson_cusum_design", refused)
    run_alert_cycle(rt, now, force=True)
    assert _alerts(rt) == computed
    book = rt.cached(designs.CUSUM_DESIGNS, sv.DesignBook)
    assert len(book) == len(kept) and not book.added
    monkeypatch.undo()

    # The kept designs give the findings of designs computed afresh.
    gaz = gazetteer(rt)
    with transaction(rt.sessions) as s:
        plain = findings(rt, gaz, {}, Measures(s, PRIMARY, now), locs)
        loaded = designs.load(s)
        assert findings(rt, gaz, {}, Measures(s, PRIMARY, now, design=loaded.design), locs) == plain
        assert not loaded.added


def test_designs_of_another_version_are_not_used_and_go_at_the_next_save(
    rt: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    wrong = sv.PoissonCusum(1.25, 9, 13, 40, 99.0)
    with transaction(rt.sessions) as s:
        s.execute(CusumDesign.__table__.delete())
        s.add(CusumDesign(version=sv.DESIGN_VERSION + 1, mean=1.25, arl=160.0, ratio=2.0,
                          resolution=9, k_units=13, h_units=40, run_length=99.0))  # fmt: skip
    with transaction(rt.sessions) as s:
        book = designs.load(s)
        assert len(book) == 0
        assert book.design(1.25, 160.0, 2.0) != wrong
        designs.save(s, book)
    with rt.sessions() as s:
        assert [r.version for r in s.scalars(select(CusumDesign))] == [sv.DESIGN_VERSION]
