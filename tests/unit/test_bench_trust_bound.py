"""The likelihood ratio of scripts/bench_trust_bound.py: a person's answers, their
tendency integrated, against scipy's normal distribution and quadrature."""

import numpy as np
import pytest
from scipy import integrate, stats

from tests.scripts import script


def p_answer(x: int, centre: float, sd: float) -> float:
    """P(clip(round(N(centre, sd)), 1, 5) = x)."""
    up = np.inf if x == 5 else x + 0.5
    down = -np.inf if x == 1 else x - 0.5
    return float(stats.norm.cdf(up, centre, sd) - stats.norm.cdf(down, centre, sd))


def layout(values: list[int], days: list[int], people: list[int], mu: float):
    """One commune whose change falls on the first evaluated week."""
    b = script("bench_detection")
    bound = script("bench_trust_bound")
    n = 1
    change = np.zeros(n, dtype=int)
    level = b.Level(np.full(n, mu), (b.HISTORY + change) * 7, -0.5)
    ratings = np.array([[0] * len(values), days, [b.NEVER] * len(values), values], dtype=np.int64)
    zeros = np.zeros((n, b.TOTAL), dtype=int)
    w = b.World(zeros, zeros, ratings, change, person=np.array(people), level=level)
    return bound.Layout(w), b.HISTORY * 7


@pytest.mark.parametrize(("x", "mu"), [(1, 3.1), (2, 2.7), (3, 3.5), (4, 4.0), (5, 3.9)])
def test_a_stranger_s_answer_weighs_by_its_marginal_ratio(x: int, mu: float) -> None:
    lay, start = layout([x], [300], [0], mu)
    assert start <= 300 < start + 28
    got = lay.llr(lay.value, -0.5)
    marginal = np.hypot(0.7, 0.8)
    expected = np.log(p_answer(x, mu - 0.5, marginal) / p_answer(x, mu, marginal))
    assert got[0] == pytest.approx(expected, abs=1e-3)


def test_a_returning_person_s_earlier_answers_tell_their_tendency() -> None:
    values, days = [4, 5, 4, 3], [100, 150, 200, 290]  # the last one after the change
    lay, start = layout(values, days, [0, 0, 0, 0], 3.3)
    assert days[-1] >= start > days[-2]
    got = lay.llr(lay.value, -0.5)

    def joint(shift: float) -> float:
        def f(tau: float) -> float:
            p = stats.norm.pdf(tau, 0, 0.7)
            for v, d in zip(values, days, strict=True):
                p *= p_answer(v, 3.3 + tau + (shift if d >= start else 0.0), 0.8)
            return p

        return integrate.quad(f, -4, 4, epsabs=1e-14, limit=200)[0]

    assert got[0] == pytest.approx(np.log(joint(-0.5) / joint(0.0)), abs=1e-3)
    # Against the marginal alone (a stranger's 3 at 3.3) the earlier 4, 5, 4 say more.
    stranger = np.log(p_answer(3, 2.8, np.hypot(0.7, 0.8)) / p_answer(3, 3.3, np.hypot(0.7, 0.8)))
    assert got[0] > stranger
