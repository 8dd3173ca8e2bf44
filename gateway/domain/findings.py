"""The checks behind each rule: given figures for one locality and the rule's resolved
parameters (`rules.param_values`), a `Finding` when the rule fires, else None.

Severity (1 low, 2 medium, 3 high) comes from the evidence, on one scale for every rule
(`surveillance.severity_of_p`): p is the chance, were nothing changed, of evidence at
least as strong as what is seen (a tail probability, or for a CUSUM the tail
probability of the counts of its current run); 2 from p <= 1e-3, 3 from p <= 1e-5.
Figures are numbers and codes only, never anything about a reporter.

Weekly rules work on calendar weeks, oldest first, the last being the week that just
ended. Reports flagged as a burst (many from few reporters) come in separately in a
`Tally` and count `burst_weight` each (0 by default: left out). Trust aggregates hold
the latest answer of each reporter, so a burst of ratings already counts once; the
caller leaves burst-flagged ratings out of them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from gateway.domain import surveillance as sv
from gateway.domain.trust_index import Aggregate, TrustIndex, difference_ci

Figure = float | int | str | bool
# Tolerance for comparing computed means with thresholds typed as decimals (0.7).
_EPS = 1e-9
# Smallest spread of one answer used to standardise a week's mean (1 to 5 scale), so a
# baseline where everyone agreed does not make one differing week an alarm.
SD_FLOOR = 0.5


@dataclass(frozen=True)
class Finding:
    rule: str
    severity: int
    figures: dict[str, Figure] = field(default_factory=dict)
    verified: bool = True


@dataclass(frozen=True)
class Tally:
    """Reports in a period: `count` not flagged, `burst` flagged as part of a burst."""

    count: int
    burst: int = 0

    def weighted(self, burst_weight: float) -> float:
        return self.count + burst_weight * self.burst


def _r(x: float) -> float:
    return round(x, 3)


def _p(p: float) -> float:
    """A probability to three significant digits, for the figures."""
    return float(f"{p:.3g}")


def may_be_low(current: Aggregate, params: Mapping[str, float]) -> bool:
    """Whether `check_trust_low(trust_index(current), params)` may fire: its first
    tests (answers, mean under the level), made on the aggregate before the index
    (intervals, low share) is built; most localities fail them."""
    mean = current.mean
    return (
        mean is not None
        and current.n >= params["min_reporters"]
        and (mean < params["level"] - _EPS)
    )


def check_trust_low(index: TrustIndex, params: Mapping[str, float]) -> Finding | None:
    """Fires when the mean answer x̄ of n >= min_reporters reporters is under `level`
    and surely so: the one-sided t test p = P(T_{n-1} <= (x̄ - level)/(s/√n)) <= alpha,
    that is the upper (1 - alpha) bound of the mean is under the level."""
    level, k = params["level"], params["min_reporters"]
    mean, sd, n = index.value, index.sd, index.reporters
    if mean is None or sd is None or n < k or mean >= level - _EPS:
        return None
    p = 0.0 if sd == 0 else sv.t_cdf((mean - level) / (sd / math.sqrt(n)), n - 1)
    if p > params["alpha"]:
        return None
    figures: dict[str, Figure] = {
        "index": _r(mean),
        "reporters": n,
        "level": level,
        "p": _p(p),
        "min_reporters": int(k),
        "window_days": int(params["window_days"]),
    }
    if index.interval is not None:
        figures |= {"index_low": _r(index.interval.low), "index_high": _r(index.interval.high)}
    if index.low_share is not None:
        figures["low_share"] = _r(index.low_share)
    return Finding("trust_low", sv.severity_of_p(p), figures)


def welch_p(current: Aggregate, baseline: Aggregate) -> float | None:
    """One-sided Welch p-value of a fall: P(T_df <= Δ/SE) with the Welch–Satterthwaite
    df; None unless both sides have two answers."""
    m1, m2, v1, v2 = current.mean, baseline.mean, current.variance, baseline.variance
    if m1 is None or m2 is None or v1 is None or v2 is None:
        return None
    a, b = v1 / current.n, v2 / baseline.n
    delta = m1 - m2
    if a + b == 0:
        return 0.0 if delta < 0 else 1.0
    df = (a + b) ** 2 / (a * a / (current.n - 1) + b * b / (baseline.n - 1))
    return sv.t_cdf(delta / math.sqrt(a + b), df)


def check_trust_drop(
    current: Aggregate, baseline: Aggregate, params: Mapping[str, float]
) -> Finding | None:
    """Fires when Δ = current mean - baseline mean <= -drop, the upper bound of the
    95% Welch interval of Δ is below zero, and both windows have min_reporters.
    Severity from the one-sided Welch p-value of the fall."""
    drop, k = params["drop"], params["min_reporters"]
    if current.n < k or baseline.n < k:
        return None
    m1, m2 = current.mean, baseline.mean
    if m1 is not None and m2 is not None and m1 - m2 > -drop + _EPS:
        return None  # Δ (the interval's centre) is not a fall: no interval needed
    diff = difference_ci(current, baseline)
    if diff is None or diff.interval is None:
        return None
    if diff.value > -drop + _EPS or diff.interval.high >= 0:
        return None
    assert current.mean is not None and baseline.mean is not None  # n >= k >= 5
    p = welch_p(current, baseline)
    assert p is not None
    figures: dict[str, Figure] = {
        "index": _r(current.mean),
        "baseline": _r(baseline.mean),
        "delta": _r(diff.value),
        "delta_low": _r(diff.interval.low),
        "delta_high": _r(diff.interval.high),
        "p": _p(p),
        "reporters": current.n,
        "baseline_reporters": baseline.n,
        "drop": drop,
        "min_reporters": int(k),
        "window_days": int(params["window_days"]),
        "baseline_days": int(params["baseline_days"]),
    }
    return Finding("trust_drop", sv.severity_of_p(p), figures)


@dataclass(slots=True)
class WeeklyAnswers:
    """One locality's answers week by week, oldest first, as three columns: answers n,
    their sum and their sum of squares (what `check_trust_shift` reads of each week).
    Not frozen: a pass makes ~5,000 (a frozen dataclass's __init__ costs 3 calls to
    object.__setattr__); nothing changes one once made."""

    n: list[float]
    total: list[float]
    total_sq: list[float]

    @classmethod
    def of(cls, weeks: Sequence[Aggregate]) -> WeeklyAnswers:
        return cls(
            [float(w.n) for w in weeks], [w.total for w in weeks], [w.total_sq for w in weeks]
        )

    def divided(self, scale: float) -> WeeklyAnswers:
        """The columns of values kept in 1/scale units, in units (n unchanged)."""
        return WeeklyAnswers(
            self.n, [x / scale for x in self.total], [x / (scale * scale) for x in self.total_sq]
        )

    def last(self, weeks: int) -> WeeklyAnswers:
        """The last `weeks` weeks (all of them when there are fewer: itself)."""
        cut = len(self.n) - weeks
        if cut <= 0:
            return self
        return WeeklyAnswers(self.n[cut:], self.total[cut:], self.total_sq[cut:])


def check_trust_shift(
    weeks: Sequence[Aggregate] | WeeklyAnswers,
    recent_reporters: int,
    params: Mapping[str, float],
    residuals: WeeklyAnswers | None = None,
    firsts: WeeklyAnswers | None = None,
) -> Finding | None:
    """A lower CUSUM of the weekly answers (`surveillance.mean_cusum_replay`), on one
    of two series. `weeks` holds the weekly aggregates of the answers (or their
    columns, `WeeklyAnswers`), `residuals` the weekly sums of the residuals
    r = x - (the mean of the same reporter's earlier answers in the locality), both
    oldest first, the last being the week that just ended, as far back as
    horizon_weeks + guard_weeks + baseline_weeks (from the locality's first report on).

    Where the last week's baseline (the baseline_weeks weeks ending guard_weeks before
    it) has a residual for at least `within_share` of its answers, the chart is of the
    residuals (`_residual_chart`): a reporter's lasting tendency cancels in r, so it
    sees a fall sooner. Elsewhere (people who seldom answer twice) it is of the answers
    (`_answer_chart`). Either fires when S > h at the last week, with min_reporters in
    the last 28 days (`recent_reporters`) and answers in that week's baseline.

    Given `firsts` too (the weekly answers that have no residual: a reporter's first
    there), one chart of both kinds instead (`_combined_chart`): only
    `scripts/bench_detection.py --combined-chart` gives them for now, as the pass
    keeps no weekly first answers."""
    if recent_reporters < params["min_reporters"]:
        return None
    cols = weeks if isinstance(weeks, WeeklyAnswers) else WeeklyAnswers.of(weeks)
    if residuals is not None and firsts is not None:
        return _combined_chart(cols, residuals, firsts, recent_reporters, params)
    if (
        residuals is not None
        and _residual_share(cols, residuals, params) >= params["within_share"] - _EPS
    ):
        return _residual_chart(cols, residuals, recent_reporters, params)
    return _answer_chart(cols, recent_reporters, params)


def _residual_share(
    cols: WeeklyAnswers, residuals: WeeklyAnswers, params: Mapping[str, float]
) -> float:
    """The share of the last week's baseline answers that have a residual (0 without
    answers)."""
    hi = len(cols.n) - 1 - int(params["guard_weeks"])
    lo = max(0, hi - int(params["baseline_weeks"]))
    answers = sum(cols.n[lo:hi]) if hi > lo else 0.0
    return sum(residuals.n[lo:hi]) / answers if answers > 0 else 0.0


def _chart(cols: WeeklyAnswers, params: Mapping[str, float], arl: float,
           known_mean: float | None) -> sv.ChartState | None:  # fmt: skip
    return sv.mean_cusum_replay(
        cols.n,
        cols.total,
        cols.total_sq,
        baseline_weeks=int(params["baseline_weeks"]),
        guard_weeks=int(params["guard_weeks"]),
        horizon_weeks=int(params["horizon_weeks"]),
        shift=params["shift"],
        arl=arl,
        sd_floor=SD_FLOOR,
        min_baseline=int(params["min_reporters"]),
        known_mean=known_mean,
    )


def _answer_chart(
    cols: WeeklyAnswers, recent_reporters: int, params: Mapping[str, float]
) -> Finding | None:
    """The chart of the answers: against the baseline's mean μ0 and spread σ0, limit
    for arl_weeks. Severity from the one-sided z test of the m weeks of the current
    run, N answers of mean ȳ: p = Φ((ȳ - μ0)/(σ0·√(1/N + 1/n0)))."""
    state = _chart(cols, params, params["arl_weeks"], None)
    if state is None or not state.alarm:
        return None
    recent = cols.last(state.run)
    answers = sum(recent.n)
    mean = sum(recent.total) / answers
    se = state.spread * math.sqrt(1 / answers + 1 / state.baseline_n)
    p = sv.normal_cdf((mean - state.usual) / se)
    figures: dict[str, Figure] = {
        "chart": "answers",
        "index": _r(mean),
        "baseline": _r(state.usual),
        "delta": _r(mean - state.usual),
        **_run_figures(state, recent_reporters, p),
    }
    return Finding("trust_shift", sv.severity_of_p(p), figures)


def _residual_chart(
    cols: WeeklyAnswers,
    residuals: WeeklyAnswers,
    recent_reporters: int,
    params: Mapping[str, float],
) -> Finding | None:
    """The chart of the residuals: in a steady locality E[r] = 0 whoever answers, so
    its in-control mean is 0, known (σ0² = Σr²/n0 over the baseline's residuals),
    limit for within_arl_weeks. Severity from the one-sided z test of the run's N
    residuals of mean r̄: p = Φ(r̄·√N/σ0); `index` is the run's mean answer, `delta`
    its mean residual (the fall against each reporter's own earlier answers)."""
    state = _chart(residuals, params, params["within_arl_weeks"], 0.0)
    if state is None or not state.alarm:
        return None
    run = residuals.last(state.run)
    n = sum(run.n)
    mean = sum(run.total) / n
    p = sv.normal_cdf(mean * math.sqrt(n) / state.spread)
    answers = cols.last(state.run)
    index = sum(answers.total) / sum(answers.n) if sum(answers.n) > 0 else None
    figures: dict[str, Figure] = {"chart": "residuals", "delta": _r(mean)}
    if index is not None:
        figures |= {"index": _r(index), "baseline": _r(index - mean)}
    figures |= _run_figures(state, recent_reporters, p)
    return Finding("trust_shift", sv.severity_of_p(p), figures)


def _combined_chart(
    cols: WeeklyAnswers,
    residuals: WeeklyAnswers,
    firsts: WeeklyAnswers,
    recent_reporters: int,
    params: Mapping[str, float],
) -> Finding | None:
    """The chart of residuals and first answers together
    (`surveillance.combined_cusum_replay`), its run length from arl_weeks (first
    answers only) to within_arl_weeks (residuals only). Severity from
    the one-sided z test of the run's weighted fall, with the last week's baselines:
    d = (wr·Σr + ws·Σ(x - μs))/(wr·Nr + ws·Ns), p = Φ(d·√(wr·Nr + ws·Ns)); `delta` is
    d, `index` the run's mean answer."""
    state = sv.combined_cusum_replay(
        (residuals.n, residuals.total, residuals.total_sq),
        (firsts.n, firsts.total, firsts.total_sq),
        baseline_weeks=int(params["baseline_weeks"]),
        guard_weeks=int(params["guard_weeks"]),
        horizon_weeks=int(params["horizon_weeks"]),
        shift=params["shift"],
        arl_firsts=params["arl_weeks"],
        arl_residuals=params["within_arl_weeks"],
        sd_floor=SD_FLOOR,
        min_baseline=int(params["min_reporters"]),
    )
    if state is None or not state.chart.alarm:
        return None
    run = state.chart.run
    wr, wf = state.residuals.weight, state.firsts.weight
    r, f = residuals.last(run), firsts.last(run)
    info = wr * sum(r.n) + wf * sum(f.n)
    fall = wr * sum(r.total) + wf * (sum(f.total) - sum(f.n) * state.firsts.mean)
    # The run's kinds may all lack a baseline spread this week (weight 0): no z test.
    delta = fall / info if info > 0 else 0.0
    p = sv.normal_cdf(delta * math.sqrt(info)) if info > 0 else 1.0
    answers = cols.last(run)
    figures: dict[str, Figure] = {"chart": "combined", "delta": _r(delta)}
    if sum(answers.n) > 0:
        index = sum(answers.total) / sum(answers.n)
        figures |= {"index": _r(index), "baseline": _r(index - delta)}
    figures |= _run_figures(state.chart, recent_reporters, p)
    return Finding("trust_shift", sv.severity_of_p(p), figures)


def _run_figures(state: sv.ChartState, reporters: int, p: float) -> dict[str, Figure]:
    return {
        "statistic": _r(state.statistic),
        "limit": _r(state.limit),
        "run_weeks": state.run,
        "p": _p(p),
        "reporters": reporters,
        "baseline_answers": int(state.baseline_n),
        "window_days": 7 * state.run,
    }


def check_incident_spike(
    weeks: Sequence[Tally], reporters_28d: int, params: Mapping[str, float]
) -> Finding | None:
    """Negative-binomial predictive threshold (surveillance's algo.bayes). `weeks`
    holds the weekly counts, oldest first, the last being the current week. The
    guard_weeks before it are skipped and the baseline_weeks before those, b of them
    with total T, give the predictive NegBin(size = T + 1/2, prob = b/(b + 1)). Fires
    when p = P(X >= x) <= alpha for this week's weighted count x >= 1, with
    min_reporters distinct incident reporters over the last 28 days. None with fewer
    than 3 baseline weeks."""
    w, guard, b = params["burst_weight"], int(params["guard_weeks"]), int(params["baseline_weeks"])
    *history, current = weeks
    usable = history[: len(history) - guard] if guard else history
    base = [t.count + w * t.burst for t in usable[-b:]]  # `Tally.weighted`, inlined
    if len(base) < 3:
        return None
    x = current.weighted(w)
    if x < 1 or reporters_28d < params["min_reporters"]:
        return None
    total, n = sum(base), len(base)
    p = sv.nbinom_sf(x, total + 0.5, n / (n + 1))
    if p > params["alpha"]:
        return None
    figures: dict[str, Figure] = {
        "count": _r(x),
        "burst": current.burst,
        "usual": _r(total / n),
        "p": _p(p),
        "reporters": reporters_28d,
        "period_days": 7,
        "weeks_in_baseline": n,
        "guard_weeks": guard,
        "alpha": params["alpha"],
    }
    return Finding("incident_spike", sv.severity_of_p(p), figures)


def check_incident_cusum(
    weeks: Sequence[Tally],
    reporters_28d: int,
    params: Mapping[str, float],
    design: Callable[[float, float, float], sv.PoissonCusum] = sv.poisson_cusum_design,
) -> Finding | None:
    """One-sided Poisson CUSUM that carries its state (`surveillance.
    poisson_cusum_replay`). `weeks` holds the weekly counts, oldest first, the last
    being the current week, as far back as horizon_weeks + guard_weeks +
    baseline_weeks (from the locality's first report on). Each week's chart is
    designed for the mean m0 = (total + 1/2)/b of the baseline_weeks ending guard_weeks
    before it: k = m0·(ratio - 1)/ln(ratio) and the limit h (ARL >= arl_weeks), on
    the chart's grid. Fires when S >= h at the current week, with min_reporters
    distinct incident reporters over 28 days (the statistic runs whatever the gate;
    only the alert waits for it: an alarm restarts the chart only in a week whose 4
    weeks hold min_reporters unflagged reports, the least the gate needs). Severity
    from p = P(Poisson(m·m0) >= X), X the incidents of the m weeks of the current run.
    `design` gives each week's chart (`surveillance.DesignBook.design`: the same)."""
    w = params["burst_weight"]
    if reporters_28d < params["min_reporters"]:
        return None
    counts = [t.count + w * t.burst for t in weeks]  # `Tally.weighted`, inlined
    state = sv.poisson_cusum_replay(
        counts,
        baseline_weeks=int(params["baseline_weeks"]),
        guard_weeks=int(params["guard_weeks"]),
        horizon_weeks=int(params["horizon_weeks"]),
        arl=params["arl_weeks"],
        ratio=params["ratio"],
        gate_counts=[float(t.count) for t in weeks],
        gate=int(params["min_reporters"]),
        design=design,
    )
    if state is None or not state.alarm:
        return None
    recent = counts[len(counts) - state.run :]
    p = sv.poisson_sf(sum(recent), len(recent) * state.usual)
    figures: dict[str, Figure] = {
        "count": _r(sum(recent)),
        "week_count": _r(counts[-1]),
        "run_weeks": state.run,
        "usual": _r(state.usual),
        "statistic": _r(state.statistic),
        "limit": _r(state.limit),
        "reference": _r(state.reference),
        "p": _p(p),
        "reporters": reporters_28d,
        "period_days": 7,
        "window_days": 7 * state.run,
        "weeks_in_baseline": int(state.baseline_n),
    }
    return Finding("incident_cusum", sv.severity_of_p(p), figures)


def check_incident_urgent(
    kind: str, danger_now: bool, burst: bool, params: Mapping[str, float]
) -> Finding | None:
    """Fires, severity 3 and unverified, for an incident with people in danger now
    whose kind has urgent_<kind> = 1. A burst-flagged report fires only with
    burst_fires = 1 (the unflagged first report of the burst has fired already)."""
    if not danger_now or params.get(f"urgent_{kind}", 0.0) < 0.5:
        return None
    if burst and params["burst_fires"] < 0.5:
        return None
    return Finding("incident_urgent", 3, {"kind": kind, "danger_now": True}, verified=False)


def check_reporting_silence(
    current: Tally,
    baseline: Tally,
    baseline_reporters: int,
    params: Mapping[str, float],
) -> Finding | None:
    """Poisson lower-tail test. The weighted baseline count B over baseline_days, from
    min_reporters distinct reporters, gives the usual count of a window
    μ = B·window_days/baseline_days; fires when p = P(Poisson(μ) <= x) <= alpha for the
    weighted current count x (so a locality with μ under -ln(alpha), 6.9 at the default,
    can never fire: silence there is ordinary)."""
    w = params["burst_weight"]
    if baseline_reporters < params["min_reporters"]:
        return None
    usual = baseline.weighted(w) * params["window_days"] / params["baseline_days"]
    x = current.weighted(w)
    if usual <= 0 or x >= usual:
        return None
    p = sv.poisson_cdf(x, usual)
    if p > params["alpha"]:
        return None
    figures: dict[str, Figure] = {
        "count": _r(x),
        "usual": _r(usual),
        "p": _p(p),
        "baseline_reporters": baseline_reporters,
        "alpha": params["alpha"],
        "window_days": int(params["window_days"]),
        "baseline_days": int(params["baseline_days"]),
    }
    return Finding("reporting_silence", sv.severity_of_p(p), figures)
