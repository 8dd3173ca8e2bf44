"""The incident detectors' frontier: false alarms against sensitivity (issue 14).

`scripts/bench_detection.py` runs every rule through the real checks, one setting a
run; this script scores many incident settings on the same worlds in minutes. It draws
the bench's own worlds (`make_world`, the null, x2 and x3 scenarios, so the incidents
are the bench's to the count for the same seed) and replays the incident rules with
numpy: `incident_cusum` exactly as `surveillance.poisson_cusum_replay` does (its
charts from `surveillance.poisson_cusum_design`), `incident_spike` as
`check_incident_spike`, the privacy gate as the bench's, openings by the real
`replay_openings`. `--check N` first compares, commune by commune and week by week,
what the replay fires with what the real checks fire for the first N communes of each
world (they must agree everywhere). Variants measured beside the defaults:

- `cusum:A`, the CUSUM at in-control ARL A (spike as default, `+nospike` without it);
- `lagrange:L`, each commune's limit chosen from its chart's own curves: with
  D(h) = P(alarm within 4 weeks | mean 2·m0, S0 = 0) and F(h) = 1/ARL0(h) (both exact,
  Markov chain on the chart's grid), the limit maximising D(h) - L·F(h), i.e. the
  budget spent where the chart's own detection curve says it buys most; `+gate`
  weighs D and F by the chance that the gate can open, P(Poisson(4·2·m0) >= 5) and
  P(Poisson(4·m0) >= 5);
- `glr:W:C`, a window-limited Poisson GLR (unknown ratio) in place of the CUSUM:
  G_t = max over w <= W of X ln(X/(w·m0)) - (X - w·m0) for the X incidents of the w
  weeks to t (X > w·m0), alarm when G_t >= C; `scan:W:P` alarms when the smallest
  P(Poisson(w·m0) >= X) over w <= W is <= P;
- `eb:A`, the CUSUM's m0 shrunk toward the parent (gamma-Poisson empirical Bayes,
  method of moments over the communes): m0 = (T + a)/(b + a/μ), μ the parent's
  mean rate, a = μ²/(var of the rates - μ/b); `glr:W:C+eb` gives the GLR that m0;
- `oracle[:R]`, the upper bound: it knows each commune's true m0 and change week c
  and alarms at c+3 when the Poisson LLR of the 4 weeks c..c+3 for a mean ×R
  (default 2) reaches a cut common to all communes (the Neyman-Pearson test of the
  pooled problem), under the gate if it passes at any evaluation of the window; its
  cut is tuned on each seed's null world to each `--fa` rate (see `window_fa`), and
  the expected figures without gate are printed too (`exact_bound`); `+nogate`
  without the gate; `+cusum` knows m0 only: the Poisson CUSUM in LLR units with the
  true m0 and one cut for all, a detector with perfect baselines that does not know
  when the change came (optimal for detection delay, Moustakides 1986; not a proven
  bound on the 4-week sensitivity); `cusum:A+truem0` is the real chart (its design,
  grid and limit for ARL A) fed the true m0 instead of its baseline's;
- `mix:A[:Q]`, the real chart (its grid and k from m0 = (T + 1/2)/b) with the limit
  designed for the baseline's uncertainty: the smallest H whose false-alarm rate
  averaged over the posterior of the mean, Gamma(T + 1/2, rate b) at Q (16)
  equal-probability nodes, mean_j 1/ARL0(m_j, H), is <= 1/A (`mixture_design`);
  `mix:A:1` is `cusum:A`;
- `+base:N` (with `cusum`, `mix`, `eb`) sets the CUSUM's baseline_weeks to N (the
  bench's worlds have up to 87 weeks before an evaluated week's guard).

    .venv/bin/python scripts/bench_incident_frontier.py --check 80 \\
        cusum:160 cusum:160+nospike glr:4:3.4 lagrange:25 eb:160
    .venv/bin/python scripts/bench_incident_frontier.py --fa 0.6 1.0 \\
        oracle oracle+nogate oracle:3 oracle+cusum oracle+cusum+nogate
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
from scipy import linalg, stats

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_detection as bd

from gateway.domain import surveillance as sv
from gateway.domain.rules import load_rules, replay_openings

HISTORY, WEEKS = bd.HISTORY, bd.WEEKS
Design = Callable[[float], tuple[float, float, float]]  # m0 -> (k units, h units, r)
WORLDS = ("null", "incidents x2", "incidents x3")


def defaults() -> dict[str, dict[str, float]]:
    specs = load_rules()
    return {r: {k: v.default for k, v in specs[r].params.items()} for r in bd.INCIDENT_RULES}


def arl_design(arl: float, ratio: float) -> Design:
    def design(m0: float) -> tuple[float, float, float]:
        c = sv.poisson_cusum_design(m0, arl, ratio)
        return c.k_units, c.h_units, c.resolution

    return design


def _transitions(mean: float, r: int, ku: int, n: int) -> np.ndarray:
    xs = np.arange(0, (n + ku) // r + 3)
    pmf = stats.poisson.pmf(xs, mean)
    p = np.zeros((n, n))
    for i in range(n):
        j = np.maximum(0, i + xs * r - ku)
        ok = j < n
        np.add.at(p[i], j[ok], pmf[ok])
    return p


@functools.cache
def chart_curves(m0: float, ratio: float, weeks: int = 4, n: int = 240) -> tuple:
    """ARL0(H) and P(alarm within `weeks` | ratio·m0, S0 = 0) for H = 1..n grid units."""
    r = sv.grid_resolution(m0)
    ku = max(1, round(sv.poisson_reference(m0, ratio) * r))
    m = np.eye(n) - _transitions(m0, r, ku, n)
    for c in range(n - 1):  # LU without pivoting, as surveillance._lu_in_place
        f = m[c + 1 :, c] / m[c, c]
        m[c + 1 :, c + 1 :] -= np.outer(f, m[c, c + 1 :])
        m[c + 1 :, c] = f
    y = linalg.solve_triangular(np.tril(m, -1) + np.eye(n), np.ones(n), lower=True)
    w = linalg.solve_triangular(np.triu(m).T, np.eye(n)[0], lower=True)
    arl0 = np.cumsum(w * y)
    p1 = _transitions(ratio * m0, r, ku, n)
    mask = (np.arange(n)[None, :] < np.arange(1, n + 1)[:, None]).astype(float)
    alive = np.zeros((n, n))
    alive[:, 0] = 1
    for _ in range(weeks):
        alive = (alive @ p1) * mask
    return np.where(arl0 > 1e7, np.inf, arl0), 1 - alive.sum(1), r, ku


@functools.cache
def arl_curve(mean: float, r: int, ku: int, n: int) -> np.ndarray:
    """ARL0 from S = 0 for every limit H = 1..n grid units of the chart (r, ku) when the
    weekly counts are Poisson(`mean`) (the leading-block LU of `chart_curves`)."""
    m = np.eye(n) - _transitions(mean, r, ku, n)
    for c in range(n - 1):
        f = m[c + 1 :, c] / m[c, c]
        m[c + 1 :, c + 1 :] -= np.outer(f, m[c, c + 1 :])
        m[c + 1 :, c] = f
    y = linalg.solve_triangular(np.tril(m, -1) + np.eye(n), np.ones(n), lower=True)
    w = linalg.solve_triangular(np.triu(m).T, np.eye(n)[0], lower=True)
    return np.cumsum(w * y)


def posterior_nodes(total: float, b: int, q: int) -> np.ndarray:
    """`q` equal-probability nodes of the baseline's posterior of the weekly mean,
    Gamma(shape total + 1/2, rate b) (the mid-quantiles (j + 1/2)/q)."""
    return stats.gamma.ppf((np.arange(q) + 0.5) / q, total + 0.5, scale=1.0 / b)


@functools.cache
def mixture_design(total: float, b: int, arl: float, ratio: float, q: int):
    """The chart of m0 = (total + 1/2)/b (its grid and k) with the smallest limit whose
    false-alarm rate averaged over the posterior of the mean, mean_j 1/ARL0(m_j, H),
    is <= 1/arl: the limit for what the baseline leaves plausible, not for m0 alone."""
    m0 = (total + 0.5) / b
    r = sv.grid_resolution(m0)
    ku = max(1, round(sv.poisson_reference(m0, ratio) * r))
    nodes = posterior_nodes(total, b, q) if q > 1 else np.array([m0])
    n = 64
    while True:
        with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
            rate = np.mean([1.0 / arl_curve(round(float(m), 12), r, ku, n) for m in nodes], 0)
        ok = np.nonzero(rate <= 1.0 / arl)[0]
        if len(ok):
            return ku, int(ok[0]) + 1, r
        n *= 2


def lagrange_design(lam: float, ratio: float, gate: bool) -> Design:
    def design(m0: float) -> tuple[float, float, float]:
        arl0, det, r, ku = chart_curves(round(m0, 9), ratio)
        gd = stats.poisson.sf(4, 4 * ratio * m0) if gate else 1.0
        gf = stats.poisson.sf(4, 4 * m0) if gate else 1.0
        with np.errstate(divide="ignore"):
            obj = gd * det - lam * gf / arl0
        h = int(np.argmax(obj))
        return (ku, 10**9, r) if not np.isfinite(arl0[h]) else (ku, h + 1, r)

    return design


def baseline(cum: np.ndarray, t: int, b: int, guard: int) -> tuple[np.ndarray, int]:
    hi = t - guard
    lo = max(0, hi - b)
    return cum[:, hi] - cum[:, lo], hi - lo


def eb_mean(total: np.ndarray, b: int) -> np.ndarray:
    """Gamma-Poisson empirical Bayes toward the mean of all communes (the bench has no
    cercles; leaving one commune out of 1,000 would move the parent by 0.1%)."""
    rate = total / b
    mu = rate.mean()
    between = max(rate.var(ddof=1) - mu / b, 1e-9)
    a = mu * mu / between
    return (total + a) / (b + a / mu)


def cusum_hits(
    inc: np.ndarray,
    gate: np.ndarray,
    p: dict,
    design: Design,
    eb: bool = False,
    true_m0: np.ndarray | None = None,
    mix: tuple[float, int] | None = None,
):
    """`poisson_cusum_replay` for every commune and evaluated week at once."""
    n, total_weeks = inc.shape
    cum = np.concatenate([np.zeros((n, 1)), np.cumsum(inc, 1)], 1)
    b, guard, horizon = int(p["baseline_weeks"]), int(p["guard_weeks"]), int(p["horizon_weeks"])
    k, h, r = (np.ones((n, total_weeks)) for _ in range(3))
    for t in range(HISTORY - horizon, total_weeks):
        total, bb = baseline(cum, t, b, guard)
        # Shrunk means are all different: to 3 decimals, so their charts are cached.
        m0 = np.round(eb_mean(total, bb), 3) if eb else (total + 0.5) / bb
        m0 = m0 if true_m0 is None else true_m0
        for j, m in enumerate(m0):
            if mix is not None:
                got = mixture_design(float(total[j]), int(bb), mix[0], p["ratio"], mix[1])
                k[j, t], h[j, t], r[j, t] = got
                continue
            k[j, t], h[j, t], r[j, t] = design(float(m))
    hits = np.zeros((n, WEEKS), bool)
    least = int(p["min_reporters"])
    for i in range(WEEKS):
        end = HISTORY + i
        s, alarm, raw = np.zeros(n), np.zeros(n, bool), np.zeros(n, bool)
        for t in range(end - horizon + 1, end + 1):
            s = np.where(alarm, 0.0, s) + (np.rint(inc[:, t] * r[:, t]) - k[:, t]) / r[:, t]
            s = np.where(s > 1e-9, s, 0.0)
            raw = s >= h[:, t] / r[:, t] - 1e-9
            alarm = raw & (cum[:, t + 1] - cum[:, max(0, t - 3)] >= least)
        hits[:, i] = raw & (gate[:, end] >= least)
    return hits


def _cumulated(inc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cumulative weekly counts (a leading 0 column) and an empty (n, WEEKS) hit grid."""
    n = inc.shape[0]
    return np.concatenate([np.zeros((n, 1)), np.cumsum(inc, 1)], 1), np.zeros((n, WEEKS), bool)


def _weeks(cum: np.ndarray, p: dict) -> Iterator[tuple[int, int, np.ndarray, int]]:
    """(evaluated week i, its column t, baseline total, baseline weeks) for each week."""
    for i in range(WEEKS):
        t = HISTORY + i
        yield (i, t, *baseline(cum, t, int(p["baseline_weeks"]), int(p["guard_weeks"])))


def spike_hits(inc: np.ndarray, gate: np.ndarray, p: dict) -> np.ndarray:
    cum, hits = _cumulated(inc)
    for i, t, total, bb in _weeks(cum, p):
        x = inc[:, t]
        pv = stats.nbinom.sf(x - 1, total + 0.5, bb / (bb + 1))
        hits[:, i] = (x >= 1) & (gate[:, t] >= p["min_reporters"]) & (pv <= p["alpha"])
    return hits


def window_hits(
    inc, gate, p: dict, kind: str, width: int, cut: float, eb: bool = False
) -> np.ndarray:
    """GLR (kind 'glr') or smallest Poisson tail (kind 'scan') over the windows of
    1..width weeks to each week, against the CUSUM's m0 (its baseline and guard)."""
    n = inc.shape[0]
    cum, hits = _cumulated(inc)
    for i, t, total, bb in _weeks(cum, p):
        m0 = eb_mean(total, bb) if eb else (total + 0.5) / bb
        best = np.zeros(n) if kind == "glr" else np.ones(n)
        for w in range(1, width + 1):
            x, mu = cum[:, t + 1] - cum[:, t + 1 - w], w * m0
            if kind == "glr":
                g = x * np.log(np.maximum(x, 1e-12) / mu) - (x - mu)
                best = np.maximum(best, np.where(x > mu, g, 0.0))
            else:
                best = np.minimum(best, stats.poisson.sf(x - 1, mu))
        fired = best >= cut if kind == "glr" else best <= cut
        hits[:, i] = fired & (gate[:, t] >= p["min_reporters"])
    return hits


def poisson_llr(x: np.ndarray, m0: np.ndarray, ratio: float) -> np.ndarray:
    """log P(x | Poisson(ratio·m0)) - log P(x | Poisson(m0)): the evidence of x counts
    over weeks whose in-control total is m0 for the mean multiplied by `ratio`."""
    return x * np.log(ratio) - (ratio - 1.0) * m0


def gate_passes(gate: np.ndarray, least: float) -> np.ndarray:
    """(n, WEEKS): whether the privacy gate lets each evaluated week alert."""
    return gate[:, HISTORY : HISTORY + WEEKS] >= least


def oracle_hits(inc, gate, mean, change, cut: float, ratio: float, least: float) -> np.ndarray:
    """The bound: knowing m0 and the change week c, the Neyman-Pearson test of the 4
    weeks c..c+3 (the sensitivity window), alarm at c+3 when their LLR >= cut. One
    `cut` for every commune is the NP solution of the pooled problem too (most
    detections for a total of false alarms). The gate (`least` reporters, 0 for none)
    lets it alarm when it passes at any evaluation of the window: a superset of what
    a detector alarming at that evaluation could do, so still a bound."""
    n = inc.shape[0]
    rows, col = np.arange(n), HISTORY + change
    x = sum(inc[rows, col + j] for j in range(4))
    passed = gate_passes(gate, least)[rows[:, None], change[:, None] + np.arange(4)].any(1)
    fired = (poisson_llr(x, 4 * mean, ratio) >= cut) & passed
    hits = np.zeros((n, WEEKS), bool)
    hits[rows, change + 3] = fired
    return hits


def oracle_cusum_hits(inc, gate, mean, cut: float, ratio: float, least: float) -> np.ndarray:
    """Knowing m0 only: the Poisson CUSUM in LLR units, S = max(0, S + LLR(week)), run
    from the first week, alarm when S >= cut (and the gate passes), reset after an alarm."""
    n = inc.shape[0]
    passes = gate >= least
    s, hits = np.zeros(n), np.zeros((n, WEEKS), bool)
    for t in range(inc.shape[1]):
        s = np.maximum(0.0, s + poisson_llr(inc[:, t], mean, ratio))
        alarm = (s >= cut) & passes[:, t]
        s = np.where(alarm, 0.0, s)
        if t >= HISTORY:
            hits[:, t - HISTORY] = alarm
    return hits


TIMES = [dt.datetime(2026, 1, 5, tzinfo=dt.UTC) + dt.timedelta(weeks=i) for i in range(WEEKS)]


def openings(hits: np.ndarray, clear_days: float) -> list[list[int]]:
    clear = [dt.timedelta(days=clear_days)] * WEEKS
    return [replay_openings([bool(x) for x in row], TIMES, clear) for row in hits]


def detected(hits: np.ndarray, change: np.ndarray, clear_days: float) -> float:
    opened = openings(hits, clear_days)
    return float(
        np.mean([any(c <= i <= c + 3 for i in w) for c, w in zip(change, opened, strict=True)])
    )


def variant_hits(name: str, inc, gate, p: dict, mean: np.ndarray | None = None) -> np.ndarray:
    cu, sp = p["incident_cusum"], p["incident_spike"]
    head, *flags = name.split("+")
    for f in flags:  # +base:N, the CUSUM's baseline_weeks
        if f.startswith("base:"):
            cu = {**cu, "baseline_weeks": int(f.split(":")[1])}
    kind, *args = head.split(":")
    if kind in ("glr", "scan"):
        main = window_hits(inc, gate, cu, kind, int(args[0]), float(args[1]), "eb" in flags)
    elif kind == "lagrange":
        main = cusum_hits(
            inc, gate, cu, lagrange_design(float(args[0]), cu["ratio"], "gate" in flags)
        )
    elif kind == "mix":  # mix:A[:Q]
        q = int(args[1]) if len(args) > 1 else 16
        main = cusum_hits(inc, gate, cu, arl_design(1.0, cu["ratio"]), mix=(float(args[0]), q))
    else:  # cusum:A or eb:A
        design = arl_design(float(args[0]) if args else cu["arl_weeks"], cu["ratio"])
        true_m0 = mean if "truem0" in flags else None
        main = cusum_hits(inc, gate, cu, design, eb=kind == "eb", true_m0=true_m0)
    return main if "nospike" in flags else main | spike_hits(inc, gate, sp)


def window_fa(hits_of: Callable, null: bd.World, cut: float) -> float:
    """The known-change oracle's false alarms per 100 commune-weeks on the null world,
    over every window c..c+3 (c = 0..47) of every commune rather than the drawn one:
    the null world's counts do not depend on c, so this is the same rate measured on
    12 times the weeks. Scaled by 48/52: c is uniform on 0..47 and independent of the
    counts, so a real detector's expected false openings in the window are at most
    4/48 of its 52 weeks' ones, and its rate there at most 52/48 of its FA; the oracle
    at F so computed bounds real detectors at FA F."""
    n = null.incidents.shape[0]
    fired = sum(
        int(
            hits_of(
                bd.World(null.incidents, null.gate, null.ratings, np.full(n, c), mean=null.mean),
                cut,
            ).sum()
        )
        for c in range(WEEKS - 4)
    )
    return 100 * fired / (4 * n * (WEEKS - 4)) * (WEEKS - 4) / WEEKS


def oracle_variant(name: str, least: float, clear: float) -> tuple[Callable, Callable]:
    """`oracle[:R][+cusum][+nogate]` -> hits(world, cut) and FA(null world, cut): the
    known-change oracle (`oracle_hits`, design ratio R, default 2) or, with `+cusum`,
    the known-m0 one (`oracle_cusum_hits`, FA as every variant's), under the privacy
    gate of `least` reporters or, with `+nogate`, none."""
    head, *flags = name.split("+")
    ratio = float(head.split(":")[1]) if ":" in head else 2.0
    gate_least = 0.0 if "nogate" in flags else least
    if "cusum" in flags:

        def cusum(w: bd.World, cut: float) -> np.ndarray:
            return oracle_cusum_hits(w.incidents, w.gate, w.mean, cut, ratio, gate_least)

        def fa(null: bd.World, cut: float) -> float:
            opened = openings(cusum(null, cut), clear)
            return 100 * sum(map(len, opened)) / (len(opened) * WEEKS)

        return cusum, fa

    def known(w: bd.World, cut: float) -> np.ndarray:
        return oracle_hits(w.incidents, w.gate, w.mean, w.change, cut, ratio, gate_least)

    return known, functools.partial(window_fa, known)


def tuned(hits_of: Callable, fa_of: Callable, worlds: dict, clear: float, target: float):
    """(FA, x2, x3) of the oracle at false-alarm rate `target` on this seed's null
    world: bisection on the cut to the step of the FA curve that holds `target`, then
    the mix of the tests on its two sides that has FA `target` exactly (a randomised
    test; sensitivities mix in the same proportion)."""
    lo, hi = -20.0, 40.0  # fa(lo) > target >= fa(hi)
    for _ in range(40):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if fa_of(worlds["null"], mid) > target else (lo, mid)
    f_lo, f_hi = fa_of(worlds["null"], lo), fa_of(worlds["null"], hi)
    share = (target - f_hi) / (f_lo - f_hi) if f_lo > f_hi else 0.0

    def sens(cut: float, s: str) -> float:
        return detected(hits_of(worlds[s], cut), worlds[s].change, clear)

    mixed = [share * sens(lo, s) + (1 - share) * sens(hi, s) for s in WORLDS[1:]]
    return (share * f_lo + (1 - share) * f_hi, *mixed)


MEANS = (2.0, 0.45)  # make_world's gamma(shape, scale) of the communes' weekly means


def exact_bound(
    target: float,
    ratio: float = 2.0,
    draws: int = 400_000,
    band: tuple[float, float] = (0.0, np.inf),
) -> tuple[float, ...]:
    """`oracle:R+nogate` in expectation rather than on one world: its FA and x2, x3
    sensitivities, exact Poisson tails averaged over `draws` means from the bench's
    gamma, at the cut whose expected FA is `target` (the noise-free check of the
    simulated figures; the gate's cost is not in it); the sensitivities among the
    communes whose weekly mean lies in `band` only, if given."""
    m0 = 4 * np.random.default_rng(0).gamma(*MEANS, draws)  # the window's 4 weeks
    inside = (m0 >= 4 * band[0]) & (m0 < 4 * band[1])

    def at(cut: float) -> tuple[float, ...]:
        least = np.ceil((cut + (ratio - 1) * m0) / np.log(ratio) - 1e-12)  # X >= least
        fa = 100 * stats.poisson.sf(least - 1, m0).mean() / 4 * (WEEKS - 4) / WEEKS
        seen = (stats.poisson.sf(least - 1, f * m0)[inside].mean() for f in (2.0, 3.0))
        return (fa, *seen)

    lo, hi = -20.0, 40.0
    for _ in range(50):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if at(mid)[0] > target else (lo, mid)
    return at(hi)


def check_replay(worlds: dict, p: dict, count: int) -> None:
    """The numpy replay fires where the real checks fire, commune by commune."""
    params = {r: {**p[r]} for r in p}
    cu = p["incident_cusum"]
    for name, w in worlds.items():
        sub = bd.World(w.incidents[:count], w.gate[:count], w.ratings, w.change[:count])
        for rule, mine in (
            (
                "incident_cusum",
                cusum_hits(sub.incidents, sub.gate, cu, arl_design(cu["arl_weeks"], cu["ratio"])),
            ),
            ("incident_spike", spike_hits(sub.incidents, sub.gate, p["incident_spike"])),
        ):
            real = bd.weekly_hits(sub, bd.finder(rule, params[rule]))
            bad = int((real != mine).sum())
            print(f"# check {name}, {rule}, {count} communes: {bad} weeks differ")
            if bad:
                raise SystemExit("the replay does not match the real checks")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("variants", nargs="+")
    parser.add_argument("--seeds", type=int, nargs="+", default=[14, 15, 16, 17])
    parser.add_argument("--communes", type=int, default=1000)
    parser.add_argument(
        "--fa",
        type=float,
        nargs="+",
        default=[0.6, 1.0],
        help="false-alarm rates the oracles are tuned to, on each seed's null world",
    )
    parser.add_argument(
        "--check", type=int, default=0, help="communes compared with the real checks"
    )
    args = parser.parse_args()
    p = defaults()
    clear = p["incident_spike"]["clear_days"]
    started = time.monotonic()
    plain = [v for v in args.variants if not v.startswith("oracle")]
    rows: dict[str, list[tuple[float, float, float]]] = {v: [] for v in plain}
    for seed in args.seeds:
        rng = np.random.default_rng(seed)
        worlds = {s: bd.make_world(rng, args.communes, *bd.SCENARIOS[s], "panel") for s in WORLDS}
        if args.check:
            check_replay(worlds, p, args.check)
        for v in args.variants:
            if v.startswith("oracle"):
                for target in args.fa:
                    least = p["incident_cusum"]["min_reporters"]
                    score = tuned(*oracle_variant(v, least, clear), worlds, clear, target)
                    rows.setdefault(f"{v} at FA {target}", []).append(score)
                    print(f"# seed {seed} {v} at FA {target}: x2 {score[1]:.3f} x3 {score[2]:.3f}")
                continue
            h = {s: variant_hits(v, w.incidents, w.gate, p, w.mean) for s, w in worlds.items()}
            fa = 100 * sum(map(len, openings(h["null"], clear))) / (args.communes * WEEKS)
            x2 = detected(h["incidents x2"], worlds["incidents x2"].change, clear)
            x3 = detected(h["incidents x3"], worlds["incidents x3"].change, clear)
            rows[v].append((fa, x2, x3))
            print(f"# seed {seed} {v}: FA {fa:.3f} x2 {x2:.3f} x3 {x3:.3f}", flush=True)
    print(f"\nseeds {' '.join(map(str, args.seeds))}, {args.communes} communes a world\n")
    print("| variant | FA by seed | mean FA | x2 by seed | mean x2 | x3 by seed | mean x3 |")
    print("|---|---|---|---|---|---|---|")
    for v, r in rows.items():
        a = np.array(r)
        fa, x2, x3 = (" / ".join(f"{x:.2f}" for x in a[:, j]) for j in (0, 1, 2))
        m = a.mean(0)
        print(f"| {v} | {fa} | {m[0]:.3f} | {x2} | {m[1]:.3f} | {x3} | {m[2]:.3f} |")
    for v in {v.split("+")[0] for v in args.variants if v.startswith("oracle")}:
        for target in args.fa:
            fa, x2, x3 = exact_bound(target, float(v.split(":")[1]) if ":" in v else 2.0)
            print(f"# {v}+nogate in expectation at FA {fa:.2f}: x2 {x2:.3f} x3 {x3:.3f}")
            for band in ((0.0, 0.5), (0.5, 1.0), (1.0, np.inf)):
                _, x2, x3 = exact_bound(target, 2.0, band=band)
                print(f"#   weekly mean in {band}: x2 {x2:.3f} x3 {x3:.3f}")
    print(f"# {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
