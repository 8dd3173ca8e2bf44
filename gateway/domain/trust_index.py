"""The trust index of a locality, computed from sufficient statistics.

Every function works from an `Aggregate` (count, sum, sum of squares, count of low
answers) of the latest answer of each distinct reporter in a window, so the database
can build them with one GROUP BY and the cost grows with the number of localities,
never with the number of ratings. Answers are on the 1 to 5 scale; "low" means 1 or 2.

Formulas (n answers x_i, S = sum x_i, Q = sum x_i^2, L = number of low answers):
- mean           x̄ = S / n
- variance       s² = (Q - S²/n) / (n - 1)             (sample variance, n >= 2)
- mean interval  x̄ ± t(n-1) · s / √n                   (Student t, see `t_quantile`)
- low share      p̂ = L / n with the Wilson score interval
- difference     Welch: Δ = x̄₁ - x̄₂, SE = √(s₁²/n₁ + s₂²/n₂), Welch–Satterthwaite df
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from statistics import NormalDist

NATIONAL = "national"  # the whole country's key among the areas' aggregates
COUNTRY_PCODE = "ML"  # the whole country as people name it (API, CSV, `--locality ML`)
COUNTRY_NAME = "Mali"
LOW_ANSWER_MAX = 2  # answers 1 and 2 count as low trust
Z95 = 1.96


@dataclass(frozen=True)
class Interval:
    low: float
    high: float

    def contains(self, x: float) -> bool:
        return self.low <= x <= self.high


@dataclass(frozen=True)
class Estimate:
    value: float
    interval: Interval | None


@dataclass(frozen=True)
class Aggregate:
    """Sufficient statistics of one set of answers; `+` merges two disjoint sets."""

    n: int = 0
    total: float = 0.0
    total_sq: float = 0.0
    low: int = 0

    def __post_init__(self) -> None:
        if self.n < 0 or not 0 <= self.low <= self.n:
            raise ValueError(f"need 0 <= low <= n, got n={self.n} low={self.low}")

    def __add__(self, other: Aggregate) -> Aggregate:
        return Aggregate(
            self.n + other.n,
            self.total + other.total,
            self.total_sq + other.total_sq,
            self.low + other.low,
        )

    @classmethod
    def of(cls, values: Sequence[float]) -> Aggregate:
        """The aggregate of raw answers (for tests, imports and small callers)."""
        return cls(
            len(values),
            float(sum(values)),
            float(sum(v * v for v in values)),
            sum(1 for v in values if v <= LOW_ANSWER_MAX),
        )

    @property
    def mean(self) -> float | None:
        return self.total / self.n if self.n else None

    @property
    def variance(self) -> float | None:
        """Sample variance (n - 1 denominator); None below two answers."""
        if self.n < 2:
            return None
        # Clamped: rounding can make Q - S²/n a hair below zero when all answers agree.
        return max(0.0, (self.total_sq - self.total * self.total / self.n) / (self.n - 1))


@dataclass(frozen=True)
class TrustIndex:
    """What is known of trust in one locality and window.

    `value` is the plain mean (None without answers)."""

    reporters: int
    value: float | None
    interval: Interval | None
    low_share: float | None
    low_share_interval: Interval
    sd: float | None = None  # sample standard deviation of the answers (n >= 2)


def t_quantile(z: float, df: float) -> float:
    """The Student t multiplier with the same two-sided coverage as the normal `z`.

    p = Φ(z); exact for df = 1 (tan) and df = 2; from df = 3 the Cornish–Fisher
    expansion in 1/df (Abramowitz & Stegun 26.7.5, error < 0.005 at df = 3 for z = 1.96).
    A fractional df below 3 (Welch) is rounded down, which widens the interval.
    """
    if df < 1:
        raise ValueError("df must be at least 1")
    p = NormalDist().cdf(z)
    if df < 2:
        return math.tan(math.pi * (p - 0.5))
    if df < 3:
        return (2 * p - 1) / math.sqrt(2 * p * (1 - p))
    g1 = (z**3 + z) / 4
    g2 = (5 * z**5 + 16 * z**3 + 3 * z) / 96
    g3 = (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / 384
    g4 = (79 * z**9 + 776 * z**7 + 1482 * z**5 - 1920 * z**3 - 945 * z) / 92160
    return z + g1 / df + g2 / df**2 + g3 / df**3 + g4 / df**4


def mean_ci(agg: Aggregate, z: float = Z95) -> Interval | None:
    """x̄ ± t(n-1)·s/√n, with t at the coverage of `z` (95% by default).

    Student t rather than z because windows hold few reporters (t = 2.78 at n = 5).
    None below two answers, where no spread can be estimated.
    """
    if agg.mean is None or agg.variance is None:
        return None
    half = t_quantile(z, agg.n - 1) * math.sqrt(agg.variance / agg.n)
    return Interval(agg.mean - half, agg.mean + half)


def wilson(successes: int, n: int, z: float = Z95) -> Interval:
    """Wilson score interval of a proportion:
    (p̂ + z²/2n ± z·√(p̂(1-p̂)/n + z²/4n²)) / (1 + z²/n). n = 0 gives [0, 1]."""
    if not 0 <= successes <= n:
        raise ValueError(f"need 0 <= successes <= n, got {successes}/{n}")
    if n == 0:
        return Interval(0.0, 1.0)
    p = successes / n
    z2 = z * z
    denom = 1 + z2 / n
    centre = (p + z2 / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / denom
    # The exact bounds are 0 at no success and 1 at all successes; rounding misses them.
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == n else min(1.0, centre + half)
    return Interval(low, high)


def difference_ci(current: Aggregate, baseline: Aggregate, z: float = Z95) -> Estimate | None:
    """Δ = x̄_current - x̄_baseline with a Welch interval Δ ± t(df)·SE.

    SE = √(a + b), a = s₁²/n₁, b = s₂²/n₂; df = (a + b)² / (a²/(n₁-1) + b²/(n₂-1)).
    None unless both sides have two answers or more.
    """
    m1, m2, v1, v2 = current.mean, baseline.mean, current.variance, baseline.variance
    if m1 is None or m2 is None or v1 is None or v2 is None:
        return None
    delta = m1 - m2
    a, b = v1 / current.n, v2 / baseline.n
    if a + b == 0:
        return Estimate(delta, Interval(delta, delta))
    df = (a + b) ** 2 / (a * a / (current.n - 1) + b * b / (baseline.n - 1))
    half = t_quantile(z, df) * math.sqrt(a + b)
    return Estimate(delta, Interval(delta - half, delta + half))


def trust_index(current: Aggregate, z: float = Z95) -> TrustIndex:
    """The index of one locality: mean and interval, reporters, low share with its
    Wilson interval."""
    return TrustIndex(
        reporters=current.n,
        value=current.mean,
        interval=mean_ci(current, z),
        low_share=current.low / current.n if current.n else None,
        low_share_interval=wilson(current.low, current.n, z),
        sd=math.sqrt(current.variance) if current.variance is not None else None,
    )


def ancestors(locality: str, parent_of: Mapping[str, str | None]) -> list[str]:
    """The areas above `locality`, nearest first, ending with NATIONAL.

    A locality absent from `parent_of` or a cycle raises ValueError: dropping its
    answers from the national total silently would be worse.
    """
    chain: list[str] = []
    node = locality
    while node != NATIONAL:
        if node not in parent_of:
            raise ValueError(f"unknown locality {node!r}")
        parent = parent_of[node]
        node = NATIONAL if parent is None else parent
        if node in chain or node == locality:
            raise ValueError(f"cycle in the locality tree at {node!r}")
        chain.append(node)
    return chain


def roll_up(
    children: Mapping[str, Aggregate], parent_of: Mapping[str, str | None]
) -> dict[str, Aggregate]:
    """Each locality's own aggregate plus those of everything below it, up to NATIONAL.

    `parent_of` maps commune → cercle → region → None (None means the nation). The
    result holds every key of `children`, all their ancestors, and NATIONAL. Counts
    add up reporter-locality pairs: one person who answered for two communes counts
    twice in their cercle (the people shown and gated are counted apart:
    `figures.measures.trust_people`).
    """
    out: dict[str, Aggregate] = {NATIONAL: Aggregate()}
    for locality, agg in children.items():
        for area in [locality, *ancestors(locality, parent_of)]:
            out[area] = out.get(area, Aggregate()) + agg
    return out
