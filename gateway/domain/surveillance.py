"""Tail probabilities and control-chart limits for the early-warning rules, stdlib only.

- Poisson tails from the regularised incomplete gamma function: P(X <= x) = Q(x + 1, μ),
  P(X >= x) = P(x, μ) (Numerical Recipes' series and continued fraction).
- Negative-binomial tails (scipy's `nbinom(n, p)`: pmf C(x+n-1, x) p^n (1-p)^x) from the
  regularised incomplete beta function: P(X <= x) = I_p(n, x + 1).
- Student t: P(T <= t) = ½·I_{df/(df+t²)}(df/2, ½) for t <= 0.
- The one-sided Poisson CUSUM S_t = max(0, S_{t-1} + x_t - k), k = m0·(ρ-1)/ln ρ for a
  rise from m0 to ρ·m0 (Lucas 1985), on a grid of 1/r counts; its in-control average
  run length (ARL) is computed exactly on that grid by the Markov chain of Brook and
  Evans (1972), and the limit h is the smallest with ARL >= the chosen one.
- The one-sided normal CUSUM's ARL by Siegmund's approximation,
  ARL = (exp(2kb) - 2kb - 1)/(2k²), b = h + 1.166 (in-control mean 0, variance 1).

Severity uses one scale for every rule: the chance p, were nothing changed, of evidence
at least as strong. 1 when a rule fires, 2 from p <= 1e-3 (once in 1,000 weeks), 3 from
p <= 1e-5.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass

SEVERITY_P = (1e-3, 1e-5)
_TINY = 1e-300
_EPS = 3e-16


def severity_of_p(p: float) -> int:
    """1, 2 when p <= 1e-3, 3 when p <= 1e-5: the same scale for all rules."""
    return 1 + sum(1 for cut in SEVERITY_P if p <= cut)


def _gamma_series(a: float, x: float) -> float:
    term = total = 1.0 / a
    ap = a
    for _ in range(10_000):
        ap += 1
        term *= x / ap
        total += term
        if abs(term) < abs(total) * _EPS:
            break
    return total * math.exp(-x + a * math.log(x) - math.lgamma(a))


def _gamma_fraction(a: float, x: float) -> float:
    b = x + 1 - a
    c = 1 / _TINY
    d = 1 / b
    h = d
    for i in range(1, 10_000):
        an = -i * (i - a)
        b += 2
        d = an * d + b
        d = _TINY if abs(d) < _TINY else d
        c = b + an / c
        c = _TINY if abs(c) < _TINY else c
        d = 1 / d
        delta = d * c
        h *= delta
        if abs(delta - 1) < _EPS:
            break
    return math.exp(-x + a * math.log(x) - math.lgamma(a)) * h


def gamma_p(a: float, x: float) -> float:
    """Regularised lower incomplete gamma P(a, x), a > 0, x >= 0."""
    if a <= 0 or x < 0:
        raise ValueError("need a > 0 and x >= 0")
    if x == 0:
        return 0.0
    if x < a + 1:
        return min(1.0, _gamma_series(a, x))
    return max(0.0, 1 - _gamma_fraction(a, x))


def gamma_q(a: float, x: float) -> float:
    """Regularised upper incomplete gamma Q(a, x) = 1 - P(a, x), accurate in the tail."""
    if a <= 0 or x < 0:
        raise ValueError("need a > 0 and x >= 0")
    if x == 0:
        return 1.0
    if x < a + 1:
        return max(0.0, 1 - _gamma_series(a, x))
    return min(1.0, _gamma_fraction(a, x))


def poisson_cdf(x: float, mu: float) -> float:
    """P(X <= x) for X ~ Poisson(mu)."""
    n = math.floor(x)
    if n < 0:
        return 0.0
    if mu <= 0:
        return 1.0
    return gamma_q(n + 1, mu)


def poisson_sf(x: float, mu: float) -> float:
    """P(X >= x) for X ~ Poisson(mu) (x rounded up to a whole count)."""
    n = math.ceil(x)
    if n <= 0:
        return 1.0
    if mu <= 0:
        return 0.0
    return gamma_p(n, mu)


def _beta_fraction(a: float, b: float, x: float) -> float:
    qab, qap, qam = a + b, a + 1, a - 1
    c, d = 1.0, 1 - qab * x / qap
    d = 1 / (_TINY if abs(d) < _TINY else d)
    h = d
    for m in range(1, 10_000):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1 + aa * d
        d = 1 / (_TINY if abs(d) < _TINY else d)
        c = 1 + aa / c
        c = _TINY if abs(c) < _TINY else c
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1 + aa * d
        d = 1 / (_TINY if abs(d) < _TINY else d)
        c = 1 + aa / c
        c = _TINY if abs(c) < _TINY else c
        delta = d * c
        h *= delta
        if abs(delta - 1) < _EPS:
            break
    return h


def beta_inc(a: float, b: float, x: float) -> float:
    """Regularised incomplete beta I_x(a, b), a, b > 0, 0 <= x <= 1."""
    if a <= 0 or b <= 0 or not 0 <= x <= 1:
        raise ValueError("need a, b > 0 and 0 <= x <= 1")
    if x in (0, 1):
        return float(x)
    front = math.exp(
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    )
    if x < (a + 1) / (a + b + 2):
        return min(1.0, front * _beta_fraction(a, b, x) / a)
    return max(0.0, 1 - front * _beta_fraction(b, a, 1 - x) / b)


def nbinom_cdf(x: float, size: float, prob: float) -> float:
    """P(X <= x) for X ~ NegBin(size, prob), mean size·(1 - prob)/prob."""
    n = math.floor(x)
    if n < 0:
        return 0.0
    if prob >= 1:
        return 1.0
    return beta_inc(size, n + 1, prob)


def nbinom_sf(x: float, size: float, prob: float) -> float:
    """P(X >= x) for X ~ NegBin(size, prob) (x rounded up to a whole count)."""
    n = math.ceil(x)
    if n <= 0:
        return 1.0
    if prob >= 1:
        return 0.0
    return beta_inc(n, size, 1 - prob)


def t_cdf(t: float, df: float) -> float:
    """P(T <= t) for Student's t with `df` degrees of freedom (df > 0)."""
    if df <= 0:
        raise ValueError("df must be > 0")
    if math.isinf(t):
        return 1.0 if t > 0 else 0.0
    tail = 0.5 * beta_inc(df / 2, 0.5, df / (df + t * t))
    return tail if t <= 0 else 1 - tail


def normal_cdf(z: float) -> float:
    return 0.5 * math.erfc(-z / math.sqrt(2))


def benjamini_hochberg(pvalues: list[float | None], q: float = 0.05) -> list[bool]:
    """Which hypotheses the Benjamini–Hochberg step-up procedure rejects at false
    discovery rate q: sort the m p-values, find the largest rank i with p_(i) <= i·q/m,
    reject the i smallest. None (no test) is never rejected and not counted in m."""
    tested = sorted((p, i) for i, p in enumerate(pvalues) if p is not None)
    m = len(tested)
    cut = max((rank for rank, (p, _) in enumerate(tested, 1) if p <= rank * q / m), default=0)
    out = [False] * len(pvalues)
    for _, i in tested[:cut]:
        out[i] = True
    return out


# --- CUSUM charts ------------------------------------------------------------------


def normal_cusum_arl(k: float, h: float) -> float:
    """In-control ARL of S_t = max(0, S_{t-1} + z_t - k), alarm S_t > h, z_t ~ N(0, 1):
    Siegmund's approximation (exact to a few per cent for k >= 0.25)."""
    if k <= 0 or h < 0:
        raise ValueError("need k > 0 and h >= 0")
    b = h + 1.166
    return (math.exp(2 * k * b) - 2 * k * b - 1) / (2 * k * k)


# A trust CUSUM needs one limit per locality and week (701 communes x 26 weeks a pass),
# each a function of that week's baseline alone: the cache holds a whole pass, so the
# next week's pass finds most of them again (exact keys: the same floats, same limit).
@functools.lru_cache(maxsize=32768)
def normal_cusum_limit(k: float, arl: float) -> float:
    """The limit h whose in-control ARL (Siegmund) is `arl` weeks: bisection on
    [0, 100], at most 100 steps, stopping at the first step that changes neither bound
    (every later step would repeat it). The ARL is `normal_cusum_arl`'s arithmetic,
    inlined, the same operations in the same order: the same h to the last bit."""
    if k <= 0:
        raise ValueError("need k > 0 and h >= 0")
    k2 = 2 * k
    kk = k2 * k
    lo, hi = 0.0, 100.0
    for _ in range(100):
        mid = (lo + hi) / 2
        t = k2 * (mid + 1.166)
        if (math.exp(t) - t - 1) / kk < arl:
            if mid == lo:
                break
            lo = mid
        else:
            if mid == hi:
                break
            hi = mid
    return hi


@dataclass(frozen=True)
class PoissonCusum:
    """A Poisson CUSUM on a grid of 1/`resolution` counts: reference value
    `k_units`/resolution, alarm when S >= `h_units`/resolution."""

    mean: float
    resolution: int
    k_units: int
    h_units: int
    arl: float  # the in-control ARL at this limit, from the Markov chain

    @property
    def k(self) -> float:
        return self.k_units / self.resolution

    @property
    def h(self) -> float:
        return self.h_units / self.resolution


def poisson_reference(mean: float, ratio: float) -> float:
    """k = m0·(ρ - 1)/ln ρ, the optimal reference value for a rise from m0 to ρ·m0."""
    if mean <= 0 or ratio <= 1:
        raise ValueError("need mean > 0 and ratio > 1")
    return mean * (ratio - 1) / math.log(ratio)


def grid_resolution(mean: float) -> int:
    """Grid steps per count: about a tenth of a count's standard deviation (at most 10)."""
    return max(1, math.ceil(10 / math.sqrt(max(mean, 1.0))))


def _chain(mean: float, r: int, ku: int, n: int) -> list[list[float]]:
    """M = I - P on the states 0..n-1 (S = i/r) of the gridded Poisson CUSUM."""
    pmf: list[float] = []
    p = math.exp(-mean)
    for x in range((n + ku) // r + 2):
        pmf.append(p)
        p *= mean / (x + 1)
    m = [[0.0] * n for _ in range(n)]
    for i in range(n):
        row = m[i]
        row[i] += 1.0
        for x, px in enumerate(pmf):
            j = max(0, i + x * r - ku)
            if j >= n:
                break
            row[j] -= px
    return m


def _lu_in_place(m: list[list[float]]) -> None:
    """Doolittle LU without pivoting (M = I - P is diagonally dominant by rows): L below
    the diagonal (unit diagonal implied), U on and above it."""
    n = len(m)
    for c in range(n):
        rc, pivot = m[c], m[c][c]
        for i in range(c + 1, n):
            ri = m[i]
            f = ri[c] / pivot
            ri[c] = f
            if f:
                for j in range(c + 1, n):
                    ri[j] -= f * rc[j]


def _arl_all_limits(mean: float, r: int, ku: int, n: int) -> list[float]:
    """ARL from S = 0 for every limit H = 1..n grid units, with one LU factorisation:
    the chain on states 0..H-1 is the leading block of the chain on 0..n-1, and so are
    the LU factors, so ARL(H) = Σ_{i<H} w_i·y_i with y = L⁻¹1 and Uᵀw = e₀."""
    m = _chain(mean, r, ku, n)
    _lu_in_place(m)
    y = [0.0] * n
    w = [0.0] * n
    for i in range(n):
        y[i] = 1.0 - sum(m[i][j] * y[j] for j in range(i))
        w[i] = ((1.0 if i == 0 else 0.0) - sum(m[j][i] * w[j] for j in range(i))) / m[i][i]
    return list(itertools.accumulate(wi * yi for wi, yi in zip(w, y, strict=True)))


def poisson_cusum_arl(mean: float, k_units: int, h_units: int, resolution: int) -> float:
    """In-control ARL of the gridded Poisson CUSUM with limit h_units (Markov chain)."""
    return _arl_all_limits(mean, resolution, k_units, h_units)[h_units - 1]


@functools.lru_cache(maxsize=4096)
def poisson_cusum_design(mean: float, arl: float, ratio: float = 2.0) -> PoissonCusum:
    """The CUSUM for weekly counts of in-control mean `mean` designed to detect a rise
    to `ratio`·mean, with the smallest limit whose in-control ARL is >= `arl` weeks."""
    r = grid_resolution(mean)
    ku = max(1, round(poisson_reference(mean, ratio) * r))
    n = 64
    while True:
        arls = _arl_all_limits(mean, r, ku, n)
        for h_units, value in enumerate(arls, start=1):
            if value >= arl:
                return PoissonCusum(mean, r, ku, h_units, value)
        if n >= 4096:
            raise ValueError(f"no limit within {n} grid steps reaches ARL {arl:g}")
        n *= 2


# Bumped whenever `poisson_cusum_design`'s arithmetic changes: designs kept under
# another version (gateway/services/alerts/designs.py) are then ignored.
DESIGN_VERSION = 1

DesignKey = tuple[float, float, float]  # poisson_cusum_design's (mean, arl, ratio)


class DesignBook:
    """`poisson_cusum_design` by its inputs, knowing the designs it is given (kept from
    earlier passes, `know`) and noting those it had to compute (`added`): a first pass
    after a restart finds the ~1,200 designs of the last one (a 64-state Markov chain
    each, ~3 s at 1M ratings) instead of computing them. A design is a pure function
    of its inputs, so a known one is the one it would compute."""

    def __init__(self) -> None:
        self._known: dict[DesignKey, PoissonCusum] = {}
        self.added: dict[DesignKey, PoissonCusum] = {}
        # The replay asks for a design every week of every locality (~18,000 times a
        # pass): a C-level cache in front, as `poisson_cusum_design`'s own.
        self.design: Callable[[float, float, float], PoissonCusum] = functools.lru_cache(
            maxsize=8192
        )(self._design)

    def know(self, arl: float, ratio: float, design: PoissonCusum) -> None:
        self._known[(design.mean, arl, ratio)] = design

    def _design(self, mean: float, arl: float, ratio: float = 2.0) -> PoissonCusum:
        key = (mean, arl, ratio)
        found = self._known.get(key)
        if found is None:
            found = self._known[key] = self.added[key] = poisson_cusum_design(mean, arl, ratio)
        return found

    def __len__(self) -> int:
        return len(self._known)


# --- CUSUMs that carry their state --------------------------------------------------


@dataclass(frozen=True)
class ChartState:
    """A CUSUM replayed over a locality's history, as of its last week: the statistic
    S and its limit h there, whether that week alarmed, the weeks since S last left
    zero (the run behind it), and the in-control figures of that week's baseline."""

    statistic: float
    limit: float
    alarm: bool
    run: int
    usual: float  # the baseline mean: m0 (counts a week) or μ0 (points)
    spread: float  # the baseline spread of one answer σ0 (0 for counts)
    baseline_n: float  # the baseline's weeks (counts) or answers (trust)
    reference: float  # k in the statistic's units


def _prefix(values: list[float]) -> list[float]:
    return [0.0, *itertools.accumulate(values)]


def _baseline_span(t: int, baseline: int, guard: int) -> tuple[int, int]:
    """The baseline weeks [lo, hi) of week t: `baseline` weeks ending `guard` weeks
    before t (fewer at the start of the history)."""
    hi = t - guard
    return max(0, hi - baseline), hi


def poisson_cusum_replay(
    counts: list[float],
    *,
    baseline_weeks: int,
    guard_weeks: int,
    horizon_weeks: int,
    arl: float,
    ratio: float,
    gate_counts: list[float] | None = None,
    gate: int = 0,
    min_baseline_weeks: int = 4,
    design: Callable[[float, float, float], PoissonCusum] = poisson_cusum_design,
) -> ChartState | None:
    """The Poisson CUSUM S_t = max(0, S_{t-1} + x_t - k_t), replayed over the last
    `horizon_weeks` weeks of `counts` (oldest first, the last being the current week)
    from S = 0, and again from 0 after each alarm (S_t >= h_t) that could have been
    an alert: where `gate_counts` (the reports that can open the privacy gate) hold at
    least `gate` in the 4 weeks to t. Where they do not, the gate was surely shut, so
    S keeps accumulating and alarms once the gate opens. Week t's chart
    (`poisson_cusum_design`) is designed for its own in-control mean
    m0_t = (Σ baseline counts + ½)/b, over the b <= baseline_weeks weeks ending
    guard_weeks before t, so a rise does not raise its own baseline before it is seen;
    weeks with fewer than `min_baseline_weeks` baseline weeks leave S at 0. The same
    counts always give the same state, whenever it is computed. None when the last
    week has no baseline. `design` gives the charts (`DesignBook.design`: the same)."""
    cum = _prefix(counts)
    gate_cum = None if gate_counts is None else _prefix(gate_counts)
    s, run, alarm = 0.0, 0, False
    # The loop is the pass's hottest (701 communes x 26 weeks): the baseline span
    # inlined (`_baseline_span`), the last week's state made once, at the end.
    seen, raw, m0, b, chart = False, False, 0.0, 0, None
    end = len(counts)
    for t in range(max(0, end - horizon_weeks), end):
        hi = t - guard_weeks
        lo = hi - baseline_weeks if hi > baseline_weeks else 0
        b = hi - lo
        if b < min_baseline_weeks:
            seen = False
            continue
        if alarm:
            s, run = 0.0, 0
        m0 = (cum[hi] - cum[lo] + 0.5) / b
        chart = design(m0, arl, ratio)
        r = chart.resolution
        # On the chart's grid of 1/r counts, as its Markov chain assumes.
        s = s + (round(counts[t] * r) - chart.k_units) / r
        s = s if s > 1e-9 else 0.0  # sums of 1/r steps: what rounding leaves is zero
        run = run + 1 if s > 0 else 0
        raw = alarm = s >= chart.h_units / r - 1e-9  # chart.h, without the property call
        seen = True
        alarm = alarm and (gate_cum is None or gate_cum[t + 1] - gate_cum[max(0, t - 3)] >= gate)
    if not seen or chart is None:
        return None
    return ChartState(s, chart.h, raw, run, m0, 0.0, b, chart.k)


def mean_cusum_replay(
    n: list[float],
    total: list[float],
    total_sq: list[float],
    *,
    baseline_weeks: int,
    guard_weeks: int,
    horizon_weeks: int,
    shift: float,
    arl: float,
    sd_floor: float,
    min_baseline: int,
    known_mean: float | None = None,
) -> ChartState | None:
    """The lower CUSUM of every answer, one week at a time: for week t with n_t answers
    summing to Σx_t, against the baseline answers of the baseline_weeks weeks ending
    guard_weeks before t (n0 answers, mean μ0, spread σ0 = max(s, sd_floor)),

        S_t = max(0, S_{t-1} + (n_t·μ0 - Σx_t)/σ0 - n_t·k),  k = shift/(2σ0),

    the log-likelihood-ratio CUSUM of a fall of `shift` points (in σ0 units), so a week
    weighs by its answers. Alarm when S_t > h_t, h_t the limit whose in-control run
    length is `arl` weeks of the baseline's answers a week, arl·n0/b answers
    (Siegmund); replayed over the last `horizon_weeks` weeks from S = 0 and again from 0
    after each alarm. Weeks whose baseline has fewer than `min_baseline` answers leave
    S as it is. With `known_mean` m (a chart of residuals, whose in-control mean is
    known), μ0 = m and σ0² = Σ(x - m)²/n0 over the baseline answers. None when the
    last week has no baseline."""
    cn, cs, cq = _prefix(n), _prefix(total), _prefix(total_sq)
    s, run, alarm = 0.0, 0, False
    least = max(min_baseline, 2)
    last = len(n) - 1
    # As in `poisson_cusum_replay`: the span inlined, max(0, x) as a comparison (the
    # same value, NaN included), the state made once, at the end.
    seen, limit, mu0, sigma, n0, k = False, 0.0, 0.0, 0.0, 0.0, 0.0
    for t in range(max(0, len(n) - horizon_weeks), len(n)):
        hi = t - guard_weeks
        lo = hi - baseline_weeks if hi > baseline_weeks else 0
        n0 = cn[hi] - cn[lo] if hi > lo else 0.0
        if n0 < least:
            seen = False
            continue
        if known_mean is None:
            mu0 = (cs[hi] - cs[lo]) / n0
            var0 = (cq[hi] - cq[lo] - n0 * mu0 * mu0) / (n0 - 1)
        else:
            mu0 = known_mean
            var0 = (cq[hi] - cq[lo] - 2 * mu0 * (cs[hi] - cs[lo])) / n0 + mu0 * mu0
        sd = math.sqrt(var0 if var0 > 0.0 else 0.0)
        sigma = sd_floor if sd_floor > sd else sd
        k = shift / (2 * sigma)
        if alarm:
            s, run = 0.0, 0
        nt = n[t]
        if nt > 0:
            s = s + (nt * mu0 - total[t]) / sigma - nt * k
            s = s if s > 0.0 else 0.0
            run = run + 1 if s > 0 else 0
        elif s > 0:
            run += 1
        # At S = 0 no limit (always > 0) alarms: computed only where it decides, and
        # for the last week's state.
        limit = 0.0
        if s > 0 or t == last or k <= 0:
            limit = normal_cusum_limit(k, arl * n0 / (hi - lo))
        alarm = s > limit
        seen = True
    return ChartState(s, limit, alarm, run, mu0, sigma, n0, k) if seen else None


@dataclass(frozen=True)
class Pooled:
    """A baseline's answers of one kind: how many, their in-control mean and spread."""

    n: float
    mean: float
    spread: float

    @property
    def weight(self) -> float:
        """Information of one answer, 1/σ² (0 for a kind without a usable baseline)."""
        return 1 / (self.spread * self.spread) if self.n >= 2 else 0.0


@dataclass(frozen=True)
class CombinedState:
    """`combined_cusum_replay`'s chart as of the last week, with that week's two
    baselines (residuals, first answers)."""

    chart: ChartState
    residuals: Pooled
    firsts: Pooled


def _pool(
    cols: tuple[list[float], list[float], list[float]],
    lo: int,
    hi: int,
    sd_floor: float,
    known_mean: float | None,
) -> Pooled:
    """The answers of weeks [lo, hi) of one kind (prefix sums `cols`): n0, μ0 (or the
    known mean) and σ0 = max(s, sd_floor), s² = Σ(x - μ0)²/n0 with a known mean, the
    sample variance otherwise."""
    cn, cs, cq = cols
    n0 = cn[hi] - cn[lo]
    if n0 < 2:
        return Pooled(n0, 0.0 if known_mean is None else known_mean, sd_floor)
    total, sq = cs[hi] - cs[lo], cq[hi] - cq[lo]
    if known_mean is None:
        mu0 = total / n0
        var0 = (sq - n0 * mu0 * mu0) / (n0 - 1)
    else:
        mu0 = known_mean
        var0 = (sq - 2 * mu0 * total) / n0 + mu0 * mu0
    sd = math.sqrt(var0 if var0 > 0.0 else 0.0)
    return Pooled(n0, mu0, sd_floor if sd_floor > sd else sd)


def combined_cusum_replay(
    residuals: tuple[list[float], list[float], list[float]],
    firsts: tuple[list[float], list[float], list[float]],
    *,
    baseline_weeks: int,
    guard_weeks: int,
    horizon_weeks: int,
    shift: float,
    arl_firsts: float,
    arl_residuals: float,
    sd_floor: float,
    min_baseline: int,
) -> CombinedState | None:
    """One lower CUSUM of two kinds of answers, each weighed by its information: the
    residuals r (an answer less the mean of the same reporter's earlier ones; in-control
    mean 0, σr² = Σr²/n0r over the baseline's) and the first answers x (no earlier one;
    against the baseline's first answers, mean μs, spread σs), both floored at sd_floor,
    each given as weekly (n, Σ, Σ²). With wr = 1/σr², ws = 1/σs² and σ*² = n0/(n0r·wr +
    n0s·ws) (n0 = n0r + n0s), week t adds the log-likelihood ratio of a fall of `shift`,
    in σ*/shift units:

        S_t = max(0, S_{t-1} + σ*·(wr·(0 - Σr_t) + ws·(ns_t·μs - Σx_t))
                             - σ*·(shift/2)·(nr_t·wr + ns_t·ws)),

    which is `mean_cusum_replay`'s statistic when all answers are of one kind. Alarm when
    S_t > h_t, the limit for L weeks of the baseline's answers a week at k = shift/(2σ*)
    (Siegmund, as `mean_cusum_replay`), L = arl_firsts^(1 - ρ)·arl_residuals^ρ, ρ the
    residuals' share of the baseline's information n0r·wr/(n0r·wr + n0s·ws) (so each
    chart's own run length where all answers are of its kind); a kind with fewer than 2 baseline
    answers is left out that week; weeks with fewer than max(min_baseline, 2) baseline
    answers in all leave S as it is; replayed from 0 over the last horizon_weeks weeks,
    and from 0 after each alarm. None when the last week has no baseline."""
    rp = (_prefix(residuals[0]), _prefix(residuals[1]), _prefix(residuals[2]))
    fp = (_prefix(firsts[0]), _prefix(firsts[1]), _prefix(firsts[2]))
    s, run, alarm, seen = 0.0, 0, False, False
    limit, k, sigma, n0 = 0.0, 0.0, 0.0, 0.0
    pr = pf = Pooled(0.0, 0.0, sd_floor)
    weeks = len(residuals[0])
    for t in range(max(0, weeks - horizon_weeks), weeks):
        lo, hi = _baseline_span(t, baseline_weeks, guard_weeks)
        pr = _pool(rp, lo, hi, sd_floor, 0.0) if hi > lo else Pooled(0.0, 0.0, sd_floor)
        pf = _pool(fp, lo, hi, sd_floor, None) if hi > lo else Pooled(0.0, 0.0, sd_floor)
        wr, wf = pr.weight, pf.weight
        n0 = (pr.n if wr else 0.0) + (pf.n if wf else 0.0)
        if n0 < max(min_baseline, 2):
            seen = False
            continue
        sigma = math.sqrt(n0 / (pr.n * wr + pf.n * wf))
        k = shift / (2 * sigma)
        if alarm:
            s, run = 0.0, 0
        nr, nf = residuals[0][t] if wr else 0.0, firsts[0][t] if wf else 0.0
        if nr + nf > 0:
            fall = wr * (0.0 - residuals[1][t]) + wf * (nf * pf.mean - firsts[1][t])
            s = max(0.0, s + sigma * fall - sigma * shift / 2 * (nr * wr + nf * wf))
            run = run + 1 if s > 0 else 0
        elif s > 0:
            run += 1
        rho = pr.n * wr / (pr.n * wr + pf.n * wf)
        arl = arl_firsts ** (1 - rho) * arl_residuals**rho
        limit = normal_cusum_limit(k, arl * n0 / (hi - lo))
        alarm, seen = s > limit, True
    if not seen:
        return None
    return CombinedState(ChartState(s, limit, alarm, run, pf.mean, sigma, n0, k), pr, pf)
