"""`trust_shift` given the first answers too: one CUSUM of the returning reporters' residuals and
the first answers, each weighed by the inverse of its kind's variance; checked against
a numpy and scipy reference written from the formulas, per answer."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from gateway.domain.findings import WeeklyAnswers, check_trust_shift
from gateway.domain.rules import load_rules, param_values, resolve_params
from gateway.domain.trust_index import Aggregate
from tests.cusum_reference import siegmund_limit

BASE, GUARD, HORIZON, SHIFT, FLOOR = 52, 8, 26, 0.5, 0.5


def defaults() -> dict[str, float]:
    return param_values(resolve_params("trust_shift", ("c",), {}, load_rules()))


def _columns(weeks: list[np.ndarray]) -> WeeklyAnswers:
    return WeeklyAnswers(
        [float(w.size) for w in weeks],
        [float(w.sum()) for w in weeks],
        [float((w * w).sum()) for w in weeks],
    )


def reference(
    resid: list[np.ndarray], firsts: list[np.ndarray], arl_f: float, arl_r: float
) -> tuple[float, float, bool, int, float, float, float]:
    """The combined lower CUSUM answer by answer: each residual r adds
    σ*(0 - r)/σr² - σ*·shift/(2σr²), each first answer x adds σ*(μs - x)/σs² -
    σ*·shift/(2σs²), σr² = mean(r²), σs the sample spread (both floored at 0.5) of the
    baseline's weeks, σ*² = n0/Σ(1/σ²) over the baseline's answers; limit for
    arl_f^(1-ρ)·arl_r^ρ weeks of the baseline's answers a week, ρ the residuals' share
    of the information. (statistic, limit, alarm, run, σr, σs, μs) of the last week."""
    s, run, alarm = 0.0, 0, False
    limit = sr = sf = mf = 0.0
    for t in range(max(0, len(resid) - HORIZON), len(resid)):
        lo, hi = max(0, t - GUARD - BASE), max(0, t - GUARD)
        pr = np.concatenate(resid[lo:hi] or [np.zeros(0)])
        pf = np.concatenate(firsts[lo:hi] or [np.zeros(0)])
        if pr.size + pf.size < 5:
            continue
        sr = max(float(np.sqrt(np.mean(pr**2))) if pr.size else 0.0, FLOOR)
        sf = max(float(pf.std(ddof=1)), FLOOR)
        mf = float(pf.mean())
        info_r, info_f = pr.size / sr**2, pf.size / sf**2
        star = math.sqrt((pr.size + pf.size) / (info_r + info_f))
        s, run = (0.0, 0) if alarm else (s, run)
        if resid[t].size + firsts[t].size:
            add = np.sum(star * (0 - resid[t]) / sr**2 - star * SHIFT / (2 * sr**2))
            add += np.sum(star * (mf - firsts[t]) / sf**2 - star * SHIFT / (2 * sf**2))
            s = max(0.0, s + float(add))
            run = run + 1 if s > 0 else 0
        elif s > 0:
            run += 1
        rho = info_r / (info_r + info_f)
        arl = arl_f ** (1 - rho) * arl_r**rho
        limit = siegmund_limit(SHIFT / (2 * star), arl * (pr.size + pf.size) / (hi - lo))
        alarm = s > limit
    return s, limit, alarm, run, sr, sf, mf


def _world(seed: int, weeks: int, fall_from: int, fall: float) -> tuple[list, list]:
    rng = np.random.default_rng(seed)
    resid, firsts = [], []
    for t in range(weeks):
        drop = fall if t >= fall_from else 0.0
        resid.append((rng.normal(0, 0.8, int(rng.integers(2, 9))) + drop).round(2))
        firsts.append(np.clip(np.rint(rng.normal(3.5 + drop, 1.1, int(rng.integers(1, 7)))), 1, 5))
    return resid, firsts


@pytest.mark.parametrize(
    ("seed", "fall"), [(1, -0.8), (3, -1.0), (5, -1.2), (12, -1.0), (13, -1.0)]
)
def test_the_combined_chart_is_the_reference_cusum_of_both_kinds(seed: int, fall: float) -> None:
    params = defaults()
    resid, firsts = _world(seed, 70, 64, fall)
    answers = [Aggregate.of([3] * (r.size + f.size)) for r, f in zip(resid, firsts, strict=True)]
    finding = check_trust_shift(answers, 30, params, _columns(resid), _columns(firsts))
    s, h, alarm, run, sr, sf, mf = reference(
        resid, firsts, params["arl_weeks"], params["within_arl_weeks"]
    )
    assert alarm, "the reference alarms"
    assert finding is not None and finding.figures["chart"] == "combined"
    assert float(finding.figures["statistic"]) == pytest.approx(s, abs=1e-3)
    assert float(finding.figures["limit"]) == pytest.approx(h, abs=1e-3)
    assert finding.figures["run_weeks"] == run
    r, f = np.concatenate(resid[-run:]), np.concatenate(firsts[-run:])
    info = r.size / sr**2 + f.size / sf**2
    delta = (r.sum() / sr**2 + (f - mf).sum() / sf**2) / info
    assert float(finding.figures["delta"]) == pytest.approx(delta, abs=1e-3)
    assert float(finding.figures["p"]) == pytest.approx(
        stats.norm.cdf(delta * math.sqrt(info)), rel=1e-2
    )


@pytest.mark.parametrize("seed", [7, 8, 9])
def test_the_combined_statistic_follows_the_reference_week_by_week(seed: int) -> None:
    """Steady weeks too: the same statistic, limit and alarm wherever the replay ends."""
    params = {**defaults(), "min_reporters": 5}
    resid, firsts = _world(seed, 75, 66, -0.4)
    from gateway.domain import surveillance as sv

    for end in range(40, 76, 5):
        state = sv.combined_cusum_replay(
            (_columns(resid[:end]).n, _columns(resid[:end]).total, _columns(resid[:end]).total_sq),
            (
                _columns(firsts[:end]).n,
                _columns(firsts[:end]).total,
                _columns(firsts[:end]).total_sq,
            ),
            baseline_weeks=BASE,
            guard_weeks=GUARD,
            horizon_weeks=HORIZON,
            shift=SHIFT,
            arl_firsts=params["arl_weeks"],
            arl_residuals=params["within_arl_weeks"],
            sd_floor=FLOOR,
            min_baseline=5,
        )
        s, h, alarm, run, sr, sf, mf = reference(
            resid[:end], firsts[:end], params["arl_weeks"], params["within_arl_weeks"]
        )
        assert state is not None
        assert state.chart.statistic == pytest.approx(s, abs=1e-9)
        assert state.chart.limit == pytest.approx(h, abs=1e-6)
        assert (state.chart.alarm, state.chart.run) == (alarm, run)
        assert (state.residuals.spread, state.firsts.spread) == pytest.approx((sr, sf))
        assert state.firsts.mean == pytest.approx(mf)


def test_with_one_kind_only_it_is_that_kind_s_own_chart() -> None:
    """All first answers: the chart of the answers; all residuals: the chart of the
    residuals (the same statistic and limit, so the same finding but its chart name)."""
    params = defaults()
    resid, firsts = _world(17, 70, 60, -1.2)
    none = [np.zeros(0)] * 70
    answers = [Aggregate.of([int(x) for x in f]) for f in firsts]
    alone = check_trust_shift(answers, 30, {**params, "within_share": 1.01})
    both = check_trust_shift(answers, 30, params, _columns(none), _columns(firsts))
    assert alone is not None and both is not None
    for key in ("statistic", "limit", "run_weeks", "index", "delta"):
        assert both.figures[key] == pytest.approx(alone.figures[key], abs=1e-3)
    answers = [Aggregate.of([3] * r.size) for r in resid]
    alone = check_trust_shift(answers, 30, params, _columns(resid))
    both = check_trust_shift(answers, 30, params, _columns(resid), _columns(none))
    assert alone is not None and alone.figures["chart"] == "residuals" and both is not None
    for key in ("statistic", "limit", "run_weeks", "delta", "p"):
        assert both.figures[key] == pytest.approx(alone.figures[key], abs=1e-3)


def test_the_combined_chart_keeps_the_privacy_gate_and_needs_both_series() -> None:
    params = defaults()
    resid, firsts = _world(1, 70, 64, -0.8)
    answers = [Aggregate.of([3] * (r.size + f.size)) for r, f in zip(resid, firsts, strict=True)]
    assert check_trust_shift(answers, 4, params, _columns(resid), _columns(firsts)) is None
    # Without the first answers (the evaluation pass's case) the check is the switch.
    switched = check_trust_shift(answers, 30, params, _columns(resid))
    both = check_trust_shift(answers, 30, params, _columns(resid), _columns(firsts))
    assert switched is not None and switched.figures["chart"] == "residuals"
    assert both is not None and both.figures["chart"] == "combined"
