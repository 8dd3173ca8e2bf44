"""Independent references for the lower CUSUM of weekly answers (or residuals), written
with numpy and scipy from the formulas, not from `gateway.domain.surveillance`."""

from __future__ import annotations

import math

import numpy as np
from scipy import optimize


def siegmund_limit(k: float, arl: float) -> float:
    """h with (exp(2kb) - 2kb - 1)/(2k²) = arl, b = h + 1.166, by scipy's root finder."""
    return float(
        optimize.brentq(
            lambda h: (math.exp(2 * k * (h + 1.166)) - 2 * k * (h + 1.166) - 1) / (2 * k * k) - arl,
            -1.0,
            200.0,
            xtol=1e-12,
        )
    )


def reference_lower_cusum(
    weeks: list[np.ndarray],
    base: int,
    guard: int,
    horizon: int,
    shift: float,
    arl: float,
    known_mean: float | None = None,
) -> tuple[float, float, bool, int, float]:
    """The answer-weighted lower CUSUM from the raw values of each week: each value x
    adds (μ0 - x)/σ0 - shift/(2σ0), μ0 and σ0 (floored at 0.5) from the baseline weeks
    ending guard weeks before, or μ0 = known_mean and σ0 = √mean((x - μ0)²) (the chart
    of residuals); (statistic, limit, alarm, run, σ0)."""
    s, run, alarm, limit, sigma = 0.0, 0, False, 0.0, 0.0
    for t in range(max(0, len(weeks) - horizon), len(weeks)):
        pooled = np.concatenate(weeks[max(0, t - guard - base) : max(0, t - guard)] or [[]])
        if pooled.size < 5:
            continue
        if known_mean is None:
            mu0, spread = pooled.mean(), pooled.std(ddof=1)
        else:
            mu0, spread = known_mean, float(np.sqrt(np.mean((pooled - known_mean) ** 2)))
        sigma = max(float(spread), 0.5)
        k = shift / (2 * sigma)
        limit = siegmund_limit(k, arl * pooled.size / min(base, t - guard))
        s, run = (0.0, 0) if alarm else (s, run)
        if weeks[t].size:
            s = max(0.0, s + float(np.sum((mu0 - weeks[t]) / sigma - k)))
            run = run + 1 if s > 0 else 0
        elif s > 0:
            run += 1
        alarm = s > limit
    return s, limit, alarm, run, sigma
