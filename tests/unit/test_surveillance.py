"""The tails and chart limits of the early-warning rules against independent references:
scipy's distributions, a numpy linear solve of the CUSUM Markov chain, and a seeded
simulation of the charts' run lengths."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from scipy import stats

from gateway.domain import surveillance as sv
from gateway.domain.findings import (
    Tally,
    check_incident_spike,
    check_trust_drop,
    check_trust_low,
    check_trust_shift,
    welch_p,
)
from gateway.domain.rules import load_rules, param_values, resolve_params
from gateway.domain.trust_index import Aggregate, trust_index
from tests.cusum_reference import reference_lower_cusum, siegmund_limit


def defaults(rule: str) -> dict[str, float]:
    return param_values(resolve_params(rule, ("c",), {}, load_rules()))


@pytest.mark.parametrize(
    ("x", "mu"), [(0, 0.3), (1, 0.05), (3, 1.3), (7, 2.0), (20, 9.5), (2, 40.0), (60, 40.0)]
)
def test_poisson_tails_match_scipy(x: int, mu: float) -> None:
    assert sv.poisson_cdf(x, mu) == pytest.approx(stats.poisson.cdf(x, mu), rel=1e-10, abs=1e-300)
    assert sv.poisson_sf(x, mu) == pytest.approx(stats.poisson.sf(x - 1, mu), rel=1e-10)


@pytest.mark.parametrize(
    ("x", "size", "prob"),
    [(1, 0.5, 0.9), (4, 3.5, 26 / 27), (9, 26.5, 26 / 27), (30, 80.5, 0.96), (0, 2.0, 0.5)],
)
def test_negative_binomial_tails_match_scipy(x: int, size: float, prob: float) -> None:
    assert sv.nbinom_cdf(x, size, prob) == pytest.approx(stats.nbinom.cdf(x, size, prob), rel=1e-10)
    assert sv.nbinom_sf(x, size, prob) == pytest.approx(
        stats.nbinom.sf(x - 1, size, prob), rel=1e-9
    )


@pytest.mark.parametrize(("t", "df"), [(-3.2, 2.0), (-1.0, 4.6), (0.0, 9.0), (2.5, 30.0)])
def test_student_t_matches_scipy(t: float, df: float) -> None:
    assert sv.t_cdf(t, df) == pytest.approx(stats.t.cdf(t, df), rel=1e-10)


def test_trust_low_and_trust_drop_p_values_are_scipy_t_tests() -> None:
    answers = [1, 2, 1, 1, 1, 2, 1, 2]
    finding = check_trust_low(trust_index(Aggregate.of(answers)), defaults("trust_low"))
    ref = stats.ttest_1samp(answers, 2.0, alternative="less").pvalue
    assert finding is not None and float(finding.figures["p"]) == pytest.approx(ref, rel=2e-3)
    now, before = [2, 1, 2, 3, 1, 2, 2, 1], [4, 3, 4, 5, 3, 4, 4, 3, 4, 2]
    ref = stats.ttest_ind(now, before, equal_var=False, alternative="less").pvalue
    p = welch_p(Aggregate.of(now), Aggregate.of(before))
    assert p == pytest.approx(ref, rel=1e-9)
    drop = check_trust_drop(Aggregate.of(now), Aggregate.of(before), defaults("trust_drop"))
    assert drop is not None and drop.severity == sv.severity_of_p(ref)


def chain_arl(mean: float, k_units: int, h_units: int, r: int) -> float:
    """The same CUSUM's ARL by numpy's dense solve of (I - P) L = 1."""
    p = np.zeros((h_units, h_units))
    xs = np.arange(0, (h_units + k_units) // r + 3)
    pmf = stats.poisson.pmf(xs, mean)
    for i in range(h_units):
        for x, px in zip(xs, pmf, strict=True):
            j = max(0, i + int(x) * r - k_units)
            if j < h_units:
                p[i, j] += px
    return float(np.linalg.solve(np.eye(h_units) - p, np.ones(h_units))[0])


@pytest.mark.parametrize("mean", [0.05, 0.3, 1.0, 2.4, 8.0])
@pytest.mark.parametrize("arl", [52, 200, 1000])
def test_poisson_cusum_limit_has_the_chosen_arl_by_an_independent_solve(
    mean: float, arl: float
) -> None:
    chart = sv.poisson_cusum_design(mean, arl)
    assert chart.k == pytest.approx(mean / math.log(2), abs=0.5 / chart.resolution + 1e-12)
    at_h = chain_arl(mean, chart.k_units, chart.h_units, chart.resolution)
    assert at_h == pytest.approx(chart.arl, rel=1e-8)
    assert at_h >= arl
    if chart.h_units > 1:  # the smallest limit that reaches it
        assert chain_arl(mean, chart.k_units, chart.h_units - 1, chart.resolution) < arl


def test_poisson_cusum_arl_agrees_with_a_simulation() -> None:
    chart = sv.poisson_cusum_design(0.8, 100)
    rng = np.random.default_rng(14)
    runs = []
    for _ in range(3000):
        s, t = 0, 0
        while True:
            t += 1
            s = max(0, s + int(rng.poisson(0.8)) * chart.resolution - chart.k_units)
            if s >= chart.h_units:
                break
        runs.append(t)
    assert float(np.mean(runs)) == pytest.approx(chart.arl, rel=0.06)


@pytest.mark.parametrize(("k", "h", "published"), [(0.5, 4.0, 336.0), (0.5, 5.0, 930.0)])
def test_normal_cusum_arl_matches_the_published_tables(
    k: float, h: float, published: float
) -> None:
    # Montgomery, Introduction to Statistical Quality Control, table of one-sided ARLs.
    assert sv.normal_cusum_arl(k, h) == pytest.approx(published, rel=0.03)
    assert sv.normal_cusum_arl(k, sv.normal_cusum_limit(k, published)) == pytest.approx(published)


def bisection_limit_before(k: float, arl: float) -> float:
    """`normal_cusum_limit` as it was before it stopped early and inlined the ARL: 100
    bisection steps, each calling `normal_cusum_arl`."""
    lo, hi = 0.0, 100.0
    for _ in range(100):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if sv.normal_cusum_arl(k, mid) < arl else (lo, mid)
    return hi


def test_normal_cusum_limit_is_bit_for_bit_the_full_bisection() -> None:
    # The trust CUSUM's inputs: k = shift/(2σ0), σ0 >= 0.5 on the 1-5 scale, and an ARL
    # of arl_weeks·n0/b answers; plus the edges (tiny and huge ARLs, large k).
    rng = np.random.default_rng(15)
    ks = [*(0.5 / (2 * rng.uniform(0.5, 2.5, 3000))), *rng.uniform(0.01, 5.0, 1000)]
    arls = [*(140 * rng.integers(2, 400, 3000) / rng.integers(1, 53, 3000))]
    arls += [*(10 ** rng.uniform(-3, 12, 1000))]
    sv.normal_cusum_limit.cache_clear()
    for k, arl in zip(ks, arls, strict=True):
        assert sv.normal_cusum_limit(float(k), float(arl)) == bisection_limit_before(
            float(k), float(arl)
        )
    with pytest.raises(ValueError):
        sv.normal_cusum_limit(0.0, 100.0)


def _weekly_values(seed: int, residuals: bool) -> list[np.ndarray]:
    """Weeks of answers on 1..5 (or of residuals around 0) with a fall from a random week."""
    rng = np.random.default_rng(seed)
    fall_at = int(rng.integers(40, 60))
    if residuals:
        return [
            rng.normal(-0.6 if t >= fall_at else 0.0, 0.9, rng.poisson(6)).round(2)
            for t in range(70)
        ]
    return [
        np.clip(np.rint(rng.normal(3.6 - (0.8 if t >= fall_at else 0), 1.0, rng.poisson(5))), 1, 5)
        for t in range(62)
    ]


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5, 6])
@pytest.mark.parametrize("known_mean", [None, 0.0], ids=["answers", "residuals"])
def test_the_trust_cusum_weighs_every_answer_as_a_numpy_reference_does(
    seed: int, known_mean: float | None
) -> None:
    weeks = _weekly_values(seed, residuals=known_mean is not None)
    ref = reference_lower_cusum(weeks, 26, 8, 26, 0.5, 100.0, known_mean=known_mean)
    state = sv.mean_cusum_replay(
        [float(w.size) for w in weeks],
        [float(w.sum()) for w in weeks],
        [float((w * w).sum()) for w in weeks],
        baseline_weeks=26,
        guard_weeks=8,
        horizon_weeks=26,
        shift=0.5,
        arl=100.0,
        sd_floor=0.5,
        min_baseline=5,
        **({} if known_mean is None else {"known_mean": known_mean}),
    )
    assert state is not None
    assert (state.statistic, state.limit) == pytest.approx(ref[:2], rel=1e-9, abs=1e-9)
    assert (state.alarm, state.run) == ref[2:4]
    if known_mean is not None:
        assert state.usual == known_mean
        assert state.spread == pytest.approx(ref[4], rel=1e-9)


def mean_cusum_replay_before(
    n: list[float],
    total: list[float],
    total_sq: list[float],
    **p: float,
) -> sv.ChartState | None:
    """`surveillance.mean_cusum_replay` as it was before it skipped the limits of the
    weeks at S = 0 (with the full bisection of `bisection_limit_before`)."""
    cn, cs, cq = sv._prefix(n), sv._prefix(total), sv._prefix(total_sq)
    base, guard, horizon = int(p["baseline_weeks"]), int(p["guard_weeks"]), int(p["horizon_weeks"])
    s, run, alarm = 0.0, 0, False
    state: sv.ChartState | None = None
    for t in range(max(0, len(n) - horizon), len(n)):
        lo, hi = sv._baseline_span(t, base, guard)
        n0 = cn[hi] - cn[lo] if hi > lo else 0.0
        if n0 < max(p["min_baseline"], 2):
            state = None
            continue
        mu0 = (cs[hi] - cs[lo]) / n0
        var0 = max(0.0, (cq[hi] - cq[lo] - n0 * mu0 * mu0) / (n0 - 1))
        sigma = max(math.sqrt(var0), p["sd_floor"])
        k = p["shift"] / (2 * sigma)
        limit = bisection_limit_before(k, p["arl"] * n0 / (hi - lo))
        if alarm:
            s, run = 0.0, 0
        if n[t] > 0:
            s = max(0.0, s + (n[t] * mu0 - total[t]) / sigma - n[t] * k)
            run = run + 1 if s > 0 else 0
        elif s > 0:
            run += 1
        alarm = s > limit
        state = sv.ChartState(s, limit, alarm, run, mu0, sigma, n0, k)
    return state


def test_the_trust_cusum_replay_is_bit_for_bit_what_it_was() -> None:
    # Random histories, some falling, some with empty weeks, some too short; every
    # state field equal, alarms included.
    rng = np.random.default_rng(150)
    alarms = 0
    for _ in range(300):
        weeks = int(rng.integers(5, 90))
        fall_at = int(rng.integers(0, weeks + 1))
        level = rng.uniform(1.5, 4.5)
        answers = [
            np.clip(np.rint(rng.normal(level - (1 if t >= fall_at else 0), 1.0, size)), 1, 5)
            for t, size in enumerate(rng.poisson(rng.uniform(0.3, 12), weeks))
        ]
        p = {
            "baseline_weeks": int(rng.integers(4, 53)),
            "guard_weeks": int(rng.integers(0, 9)),
            "horizon_weeks": int(rng.integers(1, 40)),
            "shift": float(rng.uniform(0.2, 1.0)),
            "arl": float(rng.uniform(20, 400)),
            "sd_floor": 0.5,
            "min_baseline": int(rng.integers(2, 10)),
        }
        series = (
            [float(a.size) for a in answers],
            [float(a.sum()) for a in answers],
            [float((a * a).sum()) for a in answers],
        )
        state = sv.mean_cusum_replay(*series, **p)  # type: ignore[arg-type]
        assert state == mean_cusum_replay_before(*series, **p)
        alarms += bool(state and state.alarm)
    assert alarms > 10  # the alarms' path (restarts) was compared too


def poisson_cusum_replay_before(
    counts: list[float], gate_counts: list[float] | None, **p: float
) -> sv.ChartState | None:
    """`surveillance.poisson_cusum_replay` as it was before its loop was inlined."""
    cum = sv._prefix(counts)
    gate_cum = None if gate_counts is None else sv._prefix(gate_counts)
    base, guard, horizon = int(p["baseline_weeks"]), int(p["guard_weeks"]), int(p["horizon_weeks"])
    s, run, alarm = 0.0, 0, False
    state: tuple[float, float, bool, int, float, float, float, float] | None = None
    for t in range(max(0, len(counts) - horizon), len(counts)):
        lo, hi = sv._baseline_span(t, base, guard)
        if hi - lo < p["min_baseline_weeks"]:
            state = None
            continue
        if alarm:
            s, run = 0.0, 0
        m0 = (cum[hi] - cum[lo] + 0.5) / (hi - lo)
        chart = sv.poisson_cusum_design(m0, p["arl"], p["ratio"])
        r = chart.resolution
        s = s + (round(counts[t] * r) - chart.k_units) / r
        s = s if s > 1e-9 else 0.0
        run = run + 1 if s > 0 else 0
        alarm = s >= chart.h - 1e-9
        state = (s, chart.h, alarm, run, m0, 0.0, hi - lo, chart.k)
        alarm = alarm and (
            gate_cum is None or gate_cum[t + 1] - gate_cum[max(0, t - 3)] >= p["gate"]
        )
    return None if state is None else sv.ChartState(*state)


def test_the_incident_cusum_replay_is_bit_for_bit_what_it_was() -> None:
    # Random weekly counts (some rising, some with burst weights of a fraction, some
    # too short for a baseline), with and without the gate: every state field equal.
    rng = np.random.default_rng(151)
    alarms = 0
    for _ in range(300):
        weeks = int(rng.integers(3, 90))
        rise_at = int(rng.integers(0, weeks + 1))
        level = rng.uniform(0.1, 6)
        plain = [
            float(x)
            for x in rng.poisson([level * (2.5 if t >= rise_at else 1) for t in range(weeks)])
        ]
        burst = [float(x) for x in rng.poisson(0.3, weeks)]
        weight = float(rng.choice([0.0, 0.5, 1.0, 0.3]))
        counts = [c + weight * b for c, b in zip(plain, burst, strict=True)]
        p = {
            "baseline_weeks": int(rng.integers(4, 53)),
            "guard_weeks": int(rng.integers(0, 9)),
            "horizon_weeks": int(rng.integers(1, 40)),
            "arl": float(rng.choice([50.0, 160.0, 370.0])),
            "ratio": float(rng.choice([1.5, 2.0, 3.0])),
            "min_baseline_weeks": int(rng.integers(1, 8)),
            "gate": int(rng.integers(0, 8)),
        }
        gate = None if rng.random() < 0.2 else plain
        state = sv.poisson_cusum_replay(
            counts,
            baseline_weeks=int(p["baseline_weeks"]),
            guard_weeks=int(p["guard_weeks"]),
            horizon_weeks=int(p["horizon_weeks"]),
            arl=p["arl"],
            ratio=p["ratio"],
            gate_counts=gate,
            gate=int(p["gate"]),
            min_baseline_weeks=int(p["min_baseline_weeks"]),
        )
        assert state == poisson_cusum_replay_before(counts, gate, **p)
        alarms += bool(state and state.alarm)
    assert alarms > 10  # the alarms' path (restarts, the gate) was compared too


def test_trust_shift_fires_on_a_lasting_half_point_fall_and_not_on_noise() -> None:
    params = defaults("trust_shift")
    rng = np.random.default_rng(3)

    def week(choices: list[int]) -> Aggregate:
        return Aggregate.of([int(v) for v in rng.choice(choices, 6)])

    steady = [week([2, 3, 4, 4, 5]) for _ in range(70)]
    assert not any(check_trust_shift(steady[: i + 1], 30, params) for i in range(20, 70))
    fallen = [week([1, 2, 3, 3, 4]) for _ in range(4)]
    finding = next(
        (f for i in range(1, 5) if (f := check_trust_shift(steady + fallen[:i], 30, params))),
        None,
    )
    assert finding is not None and finding.rule == "trust_shift"
    assert float(finding.figures["delta"]) < 0
    assert float(finding.figures["statistic"]) > float(finding.figures["limit"])
    assert check_trust_shift(steady + fallen, 4, params) is None  # privacy gate


def test_the_trust_cusum_carries_its_state_and_restarts_after_an_alarm() -> None:
    params = defaults("trust_shift")
    steady = [Aggregate.of([4, 3, 4, 5, 3, 4])] * 60
    # The baseline: 52 weeks of 6 answers, μ0 = 3.833, σ0 = 0.688 (312 answers). Each
    # low week adds (6·3.833 - 18)/σ0 - 6·k = 5.08 to S, k = 0.5/(2σ0); h = 6.3 for an
    # in-control run of 140 weeks of 6 answers.
    pooled = np.array([4, 3, 4, 5, 3, 4] * 52)
    sigma = float(pooled.std(ddof=1))
    step = (6 * pooled.mean() - 18) / sigma - 6 * 0.5 / (2 * sigma)
    low = Aggregate.of([3, 3, 2, 4, 3, 3])
    assert check_trust_shift([*steady, low], 30, params) is None  # S = 5.08: not yet
    finding = check_trust_shift([*steady, low, low], 30, params)  # carried: 10.17 > h
    assert finding is not None and finding.figures["run_weeks"] == 2
    assert float(finding.figures["statistic"]) == pytest.approx(2 * step, abs=1e-3)
    h = siegmund_limit(0.5 / (2 * sigma), params["arl_weeks"] * 6)
    assert step < h < 2 * step
    assert float(finding.figures["limit"]) == pytest.approx(h, abs=1e-3)
    # A longer history than the horizon changes nothing: the same data, the same state.
    assert check_trust_shift([*steady, *steady, low, low], 30, params) == finding
    # After the alarm the chart starts again from zero: one more low week is not enough.
    assert check_trust_shift([*steady, low, low, low], 30, params) is None
    assert check_trust_shift([*steady, low, low, low, low], 30, params) is not None


def test_severity_follows_the_evidence_not_the_spread_of_the_baseline() -> None:
    # Issue 14: in floored-sigma units 40 reports over a steady 22 got severity 1. On the
    # tail-probability scale (P(X >= 40) = 5e-4 under the predictive) it gets 2.
    params = defaults("incident_spike")
    steady = check_incident_spike([Tally(22)] * 27 + [Tally(40)], 40, params)
    ref = stats.nbinom.sf(39, 22 * 26 + 0.5, 26 / 27)
    assert steady is not None and float(steady.figures["p"]) == pytest.approx(ref, rel=1e-2)
    assert steady.severity == 2


def test_benjamini_hochberg_matches_statsmodels_style_reference() -> None:
    rng = np.random.default_rng(7)
    p = [float(x) for x in np.concatenate([rng.uniform(0, 1, 60), rng.uniform(0, 0.002, 8)])]
    ranked = np.sort(p)
    m = len(p)
    passing = np.nonzero(ranked <= np.arange(1, m + 1) * 0.05 / m)[0]
    cut = ranked[passing.max()] if passing.size else -1.0
    expected = [x <= cut for x in p]  # the step-up rule, computed independently
    assert sv.benjamini_hochberg([*p, None], 0.05) == [*expected, False]
    assert sum(expected) >= 8
    # Without multiplicity control about 5% of null p-values pass 0.05; with it, none.
    null = [float(x) for x in rng.uniform(0, 1, 700)]
    assert sum(x < 0.05 for x in null) > 20 and not any(sv.benjamini_hochberg(null))


def test_a_design_book_gives_the_designs_and_notes_the_ones_it_computed() -> None:
    book = sv.DesignBook()
    known = sv.poisson_cusum_design(2.5, 160.0, 2.0)
    book.know(160.0, 2.0, known)
    assert book.design(2.5, 160.0, 2.0) is known and not book.added
    made = book.design(0.75, 160.0, 2.0)
    assert made == sv.poisson_cusum_design.__wrapped__(0.75, 160.0, 2.0)
    assert book.added == {(0.75, 160.0, 2.0): made} and len(book) == 2
    counts = [float(c) for c in [0, 1, 0, 2, 1, 0, 0, 3, 1, 2, 0, 5, 6, 7]]
    kw: dict[str, Any] = {"baseline_weeks": 6, "guard_weeks": 2, "horizon_weeks": 8,
                          "arl": 50.0, "ratio": 2.0}  # fmt: skip
    assert sv.poisson_cusum_replay(counts, **kw, design=book.design) == sv.poisson_cusum_replay(
        counts, **kw
    )
