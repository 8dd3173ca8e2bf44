"""The incident oracles of scripts/bench_incident_frontier.py: their evidence is the
Poisson log-likelihood ratio, they alarm where that says, and the privacy gate only
ever takes alarms away."""

import functools

import numpy as np
import pytest
from scipy import stats

from tests.scripts import script


def frontier():
    return script("bench_incident_frontier")


@pytest.mark.parametrize(
    "x, m0, ratio",
    [(0, 0.3, 2.0), (1, 0.3, 2.0), (4, 1.2, 2.0), (17, 6.5, 2.0), (3, 0.8, 3.0), (0, 2.0, 1.5)],
)
def test_the_oracles_evidence_is_the_poisson_log_likelihood_ratio(x, m0, ratio):
    f = frontier()
    expected = stats.poisson.logpmf(x, ratio * m0) - stats.poisson.logpmf(x, m0)
    assert f.poisson_llr(np.array(x), np.array(m0), ratio) == pytest.approx(expected, abs=1e-12)


def tiny_world(weeks_after: list[int], gate_at: int):
    """One commune, m0 0.5, change at evaluated week 2: `weeks_after` counts in the
    weeks from the change, the gate passing (5 reporters) at evaluated week `gate_at`."""
    f = frontier()
    inc = np.zeros((1, f.HISTORY + f.WEEKS), int)
    inc[0, f.HISTORY + 2 : f.HISTORY + 2 + len(weeks_after)] = weeks_after
    gate = np.zeros_like(inc)
    gate[0, f.HISTORY + gate_at] = 5
    return inc, gate, np.array([0.5]), np.array([2])


def test_the_known_change_oracle_weighs_the_four_weeks_from_the_change():
    f = frontier()
    inc, gate, mean, change = tiny_world([1, 2, 0, 2], gate_at=3)
    llr = 5 * np.log(2) - 4 * 0.5  # 5 incidents where 2 were expected
    fired = f.oracle_hits(inc, gate, mean, change, llr - 1e-9, 2.0, 5)
    assert fired.sum() == 1 and fired[0, 5]  # at c + 3, the window's last evaluation
    assert not f.oracle_hits(inc, gate, mean, change, llr + 1e-9, 2.0, 5).any()
    closed = tiny_world([1, 2, 0, 2], gate_at=6)[1]  # the gate passes after the window only
    assert not f.oracle_hits(inc, closed, mean, change, llr - 1e-9, 2.0, 5).any()
    assert f.oracle_hits(inc, closed, mean, change, llr - 1e-9, 2.0, 0).any()


def test_the_known_m0_cusum_adds_each_weeks_evidence_and_restarts_after_an_alarm():
    f = frontier()
    inc, gate, mean, _ = tiny_world([3, 0, 3], gate_at=4)
    gate[0, f.HISTORY + 2] = 5
    step = 3 * np.log(2) - 0.5  # 1.58 for a week of 3; a week of 0 takes 0.5
    fired = f.oracle_cusum_hits(inc, gate, mean, step + 0.5, 2.0, 5)
    # Week 2: 1.58 < 2.08; week 3: 1.08; week 4: 2.66 >= 2.08, gate open: alarm.
    assert np.flatnonzero(fired[0]).tolist() == [4]
    fired = f.oracle_cusum_hits(inc, gate, mean, step - 1e-9, 2.0, 5)
    assert np.flatnonzero(fired[0]).tolist() == [2, 4]  # restarted from 0 after week 2


@functools.cache
def small_worlds():
    f = frontier()
    rng = np.random.default_rng(5)
    return {s: f.bd.make_world(rng, 150, *f.bd.SCENARIOS[s], "fresh") for s in f.WORLDS}


def test_with_the_gate_the_bound_never_alarms_where_it_would_not_without():
    f = frontier()
    gated, gated_fa = f.oracle_variant("oracle", 5, 14)
    free, free_fa = f.oracle_variant("oracle+nogate", 5, 14)
    worlds = small_worlds()
    for w in worlds.values():
        for cut in (0.5, 2.0, 4.0, 8.0):
            assert not (gated(w, cut) & ~free(w, cut)).any()
    assert gated_fa(worlds["null"], 2.0) < free_fa(worlds["null"], 2.0)
    for target in (0.6, 1.0):  # at the same false-alarm rate, the gate costs, never gives
        with_gate = f.tuned(gated, gated_fa, worlds, 14, target)
        without = f.tuned(free, free_fa, worlds, 14, target)
        assert with_gate[1] <= without[1] and with_gate[2] <= without[2]


def test_tuning_puts_an_oracle_at_the_false_alarm_rate_asked():
    f = frontier()
    for name in ("oracle", "oracle+cusum"):
        fa, x2, x3 = f.tuned(*f.oracle_variant(name, 5, 14), small_worlds(), 14, 1.0)
        assert fa == pytest.approx(1.0)
        assert 0 < x2 < x3 <= 1


def test_the_bound_in_expectation_sits_at_the_false_alarm_rate_asked():
    f = frontier()
    fa, x2, x3 = f.exact_bound(0.6, draws=20_000)
    assert fa == pytest.approx(0.6, abs=1e-3)
    assert 0.3 < x2 < x3 < 0.9


@pytest.mark.parametrize("total, b", [(0, 36), (5, 52), (20, 44), (60, 52), (150, 40)])
def test_the_mixture_limit_is_the_least_whose_posterior_false_alarm_rate_is_within_budget(total, b):
    """Checked with the gateway's own pure-Python chain (`poisson_cusum_arl`), not the
    script's numpy one: the mean over the posterior nodes of 1/ARL0 is <= 1/A at the
    limit and > 1/A one grid step below; the nodes are the Gamma(T + 1/2, b) quantiles."""
    from gateway.domain import surveillance as sv

    f, arl = frontier(), 115.0
    ku, hu, r = f.mixture_design(float(total), b, arl, 2.0, 16)
    nodes = f.posterior_nodes(float(total), b, 16)
    expected = stats.gamma(total + 0.5, scale=1 / b).ppf((np.arange(16) + 0.5) / 16)
    assert nodes == pytest.approx(expected, rel=1e-12)

    def rate(h_units: int) -> float:
        return float(np.mean([1 / sv.poisson_cusum_arl(m, ku, h_units, r) for m in nodes]))

    assert rate(hu) <= 1 / arl < rate(hu - 1)
    plain = sv.poisson_cusum_design((total + 0.5) / b, arl, 2.0)
    assert (ku, r) == (plain.k_units, plain.resolution)
    assert hu >= plain.h_units  # the baseline's uncertainty only ever raises the limit


def test_one_node_of_the_mixture_is_todays_design():
    from gateway.domain import surveillance as sv

    f = frontier()
    for total, b in ((3, 52), (40, 48), (200, 52)):
        c = sv.poisson_cusum_design((total + 0.5) / b, 160.0, 2.0)
        assert f.mixture_design(float(total), b, 160.0, 2.0, 1) == (
            c.k_units,
            c.h_units,
            c.resolution,
        )
