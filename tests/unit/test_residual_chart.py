"""The chart of residuals of `trust_shift`: each answer less the mean of the same
reporter's earlier answers (kept by the rollup, `rollup.residuals`), charted with a
known in-control mean of 0; checked against numpy and scipy references."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from scipy import stats

from gateway.domain.findings import WeeklyAnswers, check_trust_shift
from gateway.domain.rules import load_rules, param_values, resolve_params
from gateway.domain.trust_index import Aggregate
from gateway.services.figures import rollup
from tests.cusum_reference import reference_lower_cusum


def defaults() -> dict[str, float]:
    return param_values(resolve_params("trust_shift", ("c",), {}, load_rules()))


def test_a_residual_is_the_answer_less_the_mean_of_the_earlier_ones() -> None:
    rng = np.random.default_rng(12)
    scale = rollup.RESIDUAL_SCALE
    ties = 0
    for _ in range(400):
        x = rng.integers(1, 6, int(rng.integers(0, 30)))
        got = rollup.residuals([int(v) for v in x])
        assert got[: rollup.MIN_EARLIER] == [None] * min(len(x), rollup.MIN_EARLIER)
        for k in range(rollup.MIN_EARLIER, len(x)):
            exact = scale * (x[k] - x[:k].mean())
            value = got[k]
            assert value is not None and abs(value - exact) <= 0.5 + 1e-9
            # Ties go to the even neighbour (exact arithmetic, no float in between).
            half = Fraction(int(scale * (k * x[k] - x[:k].sum())), k)
            assert value == round(half)
            ties += half.denominator == 2
    assert ties > 10  # the ties were met, not only the plain cases


def _columns(weeks: list[np.ndarray]) -> WeeklyAnswers:
    return WeeklyAnswers(
        [float(w.size) for w in weeks],
        [float(w.sum()) for w in weeks],
        [float((w * w).sum()) for w in weeks],
    )


def _steady_answers(weeks: int) -> list[Aggregate]:
    return [Aggregate.of([4, 3, 4, 5, 3, 4])] * weeks


def test_the_residuals_chart_fires_with_its_own_limit_and_a_z_test_severity() -> None:
    params = defaults()
    answers = _steady_answers(62)
    rng = np.random.default_rng(4)
    steady = [rng.normal(0, 0.8, 6).round(2) for _ in range(60)]
    low = np.array([-0.9, -0.7, -0.6, -1.1, -0.4, -0.8])
    weeks = [*steady, low, low]
    finding = check_trust_shift(answers, 30, params, _columns(weeks))
    ref = reference_lower_cusum(weeks, 52, 8, 26, 0.5, params["within_arl_weeks"], known_mean=0.0)
    assert ref[2], "the reference alarms too"
    assert finding is not None and finding.rule == "trust_shift"
    assert finding.figures["chart"] == "residuals"
    assert float(finding.figures["statistic"]) == pytest.approx(ref[0], abs=1e-3)
    assert float(finding.figures["limit"]) == pytest.approx(ref[1], abs=1e-3)
    run = np.concatenate(weeks[-int(finding.figures["run_weeks"]) :])
    p = stats.norm.cdf(run.mean() * math.sqrt(run.size) / ref[4])
    assert float(finding.figures["p"]) == pytest.approx(p, rel=1e-2)
    assert float(finding.figures["delta"]) == pytest.approx(run.mean(), abs=1e-3)
    # The answers' own chart sees nothing here (the answers did not move).
    assert check_trust_shift(answers, 30, params) is None
    assert check_trust_shift(answers, 4, params, _columns(weeks)) is None  # privacy gate


def test_the_chart_of_residuals_is_used_only_where_the_baseline_has_them() -> None:
    """Where at least within_share of the last week's baseline answers have a residual
    the chart is of the residuals; elsewhere (people who seldom answer twice), of the
    answers, as without residuals."""
    params = defaults()
    fallen = [*_steady_answers(61), *[Aggregate.of([3, 3, 2, 4, 3, 3])] * 2]
    quiet = [np.zeros(6)] * 63  # every answer at its reporter's usual: no fall seen
    # Residuals for 3 of each week's 6 baseline answers: half of them (the default).
    half = [np.zeros(3)] * 63
    assert check_trust_shift(fallen, 30, params, _columns(quiet)) is None
    assert check_trust_shift(fallen, 30, params, _columns(half)) is None
    few = [np.zeros(2)] * 63  # a third: the answers' chart, which sees the fall
    finding = check_trust_shift(fallen, 30, params, _columns(few))
    assert finding is not None and finding.figures["chart"] == "answers"
    assert finding == check_trust_shift(fallen, 30, params)
    never = {**params, "within_share": 1.01}
    assert check_trust_shift(fallen, 30, never, _columns(quiet)) == finding


def test_a_change_of_who_answers_moves_the_answers_not_the_residuals() -> None:
    """People of lasting tendencies: the cheerful leave, the gloomy stay. The mean of
    the answers falls and the answers' chart takes it for a fall of trust; each
    person's answers against their own earlier ones do not move."""
    params = defaults()
    rng = np.random.default_rng(9)
    people = {i: 3.0 + (1.0 if i < 10 else -1.0) for i in range(20)}
    answers: list[Aggregate] = []
    residuals: list[np.ndarray] = []
    past: dict[int, list[int]] = {i: [] for i in people}
    for t in range(80):
        here = [i for i in people if t < 60 or i >= 10]  # the cheerful leave at week 60
        week = [i for i in here if rng.random() < 0.3]
        values = {i: int(np.clip(round(people[i] + rng.normal(0, 0.5)), 1, 5)) for i in week}
        answers.append(Aggregate.of(list(values.values())))
        r = []
        for i, x in values.items():
            earlier = rollup.residuals([*past[i], x])[-1]
            if earlier is not None:
                r.append(earlier / rollup.RESIDUAL_SCALE)
            past[i].append(x)
        residuals.append(np.array(r))
    never = {**params, "within_share": 1.01}
    ends = range(60, 81)
    assert any(check_trust_shift(answers[:t], 30, never) for t in ends)
    assert not any(
        check_trust_shift(answers[:t], 30, params, _columns(residuals[:t])) for t in ends
    )
