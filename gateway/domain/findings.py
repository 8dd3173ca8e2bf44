"""The checks behind each rule: given figures for one locality and the rule's resolved
parameters (`rules.param_values`), a `Finding` when the rule fires, else None.

Severity (1 low, 2 medium, 3 high) grows with the distance past the threshold:
1 + floor(distance / severity_step), capped at 3, where each rule says below what its
distance is. Figures are numbers and codes only, never anything about a reporter.

Reports flagged as a burst (many from few reporters) come in separately in a `Tally`
and count `burst_weight` each (0 by default: left out). Trust aggregates hold the
latest answer of each reporter, so a burst of ratings already counts once; the caller
leaves burst-flagged ratings out of them.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from gateway.domain.trust_index import Aggregate, TrustIndex, difference_ci

Figure = float | int | str | bool
# Tolerance for comparing computed means with thresholds typed as decimals (0.7).
_EPS = 1e-9


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


def severity_for(distance: float, step: float) -> int:
    """1 at the threshold, one more for each full `step` past it, at most 3.

    A distance a hair below zero is the threshold itself: the checks compare with a
    tolerance of _EPS, so a rule can fire with its distance at -2e-16 (issue 14)."""
    if distance < -_EPS or step <= 0:
        raise ValueError("distance must be >= 0 and step > 0")
    return 1 + min(2, int((max(distance, 0.0) + _EPS) // step))


def _r(x: float) -> float:
    return round(x, 3)


def check_trust_low(index: TrustIndex, params: Mapping[str, float]) -> Finding | None:
    """Fires when index.value < level with at least min_reporters reporters.
    Distance: level - value."""
    level, k = params["level"], params["min_reporters"]
    if index.value is None or index.reporters < k or index.value >= level - _EPS:
        return None
    figures: dict[str, Figure] = {
        "index": _r(index.value),
        "reporters": index.reporters,
        "level": level,
        "min_reporters": int(k),
        "window_days": int(params["window_days"]),
    }
    if index.interval is not None:
        figures |= {"index_low": _r(index.interval.low), "index_high": _r(index.interval.high)}
    if index.low_share is not None:
        figures["low_share"] = _r(index.low_share)
    if index.shrunk is not None:
        figures["shrunk"] = _r(index.shrunk.value)
    severity = severity_for(level - index.value, params["severity_step"])
    return Finding("trust_low", severity, figures)


def check_trust_drop(
    current: Aggregate, baseline: Aggregate, params: Mapping[str, float]
) -> Finding | None:
    """Fires when Δ = current mean - baseline mean <= -drop, the upper bound of the
    95% Welch interval of Δ is below zero, and both windows have min_reporters.
    Distance: -Δ - drop."""
    drop, k = params["drop"], params["min_reporters"]
    if current.n < k or baseline.n < k:
        return None
    diff = difference_ci(current, baseline)
    if diff is None or diff.interval is None:
        return None
    if diff.value > -drop + _EPS or diff.interval.high >= 0:
        return None
    assert current.mean is not None and baseline.mean is not None  # n >= k >= 5
    figures: dict[str, Figure] = {
        "index": _r(current.mean),
        "baseline": _r(baseline.mean),
        "delta": _r(diff.value),
        "delta_low": _r(diff.interval.low),
        "delta_high": _r(diff.interval.high),
        "reporters": current.n,
        "baseline_reporters": baseline.n,
        "drop": drop,
        "min_reporters": int(k),
        "window_days": int(params["window_days"]),
        "baseline_days": int(params["baseline_days"]),
    }
    severity = severity_for(-diff.value - drop, params["severity_step"])
    return Finding("trust_drop", severity, figures)


def check_incident_spike(
    current: Tally,
    history: Sequence[Tally],
    current_reporters: int,
    params: Mapping[str, float],
) -> Finding | None:
    """EARS C2 style. `history` holds the periods just before the current one, oldest
    first. The last guard_periods are skipped and the baseline_periods before them give
    mean μ and standard deviation s; σ = max(s, sd_floor); bound = μ + z·σ.
    Fires when the weighted count x > bound, x >= min_count and the current period has
    min_reporters distinct reporters. None with fewer than 3 baseline periods.
    Distance: (x - bound) / σ, in deviations.
    """
    w, guard, b = (
        params["burst_weight"],
        int(params["guard_periods"]),
        int(params["baseline_periods"]),
    )
    usable = history[: len(history) - guard] if guard else history
    base = [t.weighted(w) for t in usable[-b:]]
    if len(base) < 3:
        return None
    mu = statistics.fmean(base)
    sigma = max(statistics.stdev(base), params["sd_floor"])
    bound = mu + params["z"] * sigma
    x = current.weighted(w)
    if x <= bound or x < params["min_count"] or current_reporters < params["min_reporters"]:
        return None
    figures: dict[str, Figure] = {
        "count": _r(x),
        "burst": current.burst,
        "baseline_mean": _r(mu),
        "baseline_sd": _r(sigma),
        "bound": _r(bound),
        "statistic": _r((x - mu) / sigma),
        "reporters": current_reporters,
        "period_days": int(params["period_days"]),
        "baseline_periods": len(base),
        "guard_periods": guard,
        "z": params["z"],
        "min_count": params["min_count"],
    }
    severity = severity_for((x - bound) / sigma, params["severity_step"])
    return Finding("incident_spike", severity, figures)


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
    """Fires for a locality that usually reports (weighted baseline count B over
    baseline_days gives B·7/baseline_days >= min_weekly, from min_reporters distinct
    reporters) when the weighted current count x < fraction · usual, where
    usual = B·window_days/baseline_days. Distance: (fraction - x/usual) / fraction,
    from 0 at the threshold to 1 for no report at all."""
    w, fraction = params["burst_weight"], params["fraction"]
    base = baseline.weighted(w)
    weekly = base * 7 / params["baseline_days"]
    if weekly < params["min_weekly"] or baseline_reporters < params["min_reporters"]:
        return None
    usual = base * params["window_days"] / params["baseline_days"]
    x = current.weighted(w)
    if x >= fraction * usual:
        return None
    figures: dict[str, Figure] = {
        "count": _r(x),
        "usual": _r(usual),
        "weekly_usual": _r(weekly),
        "baseline_reporters": baseline_reporters,
        "fraction": fraction,
        "window_days": int(params["window_days"]),
        "baseline_days": int(params["baseline_days"]),
    }
    severity = severity_for((fraction - x / usual) / fraction, params["severity_step"])
    return Finding("reporting_silence", severity, figures)
