"""Rule data, nearest-setting resolution, the checks behind each rule, and re-sending."""

from __future__ import annotations

import copy
import datetime as dt
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.domain import surveillance as sv
from gateway.domain.findings import (
    Tally,
    check_incident_cusum,
    check_incident_spike,
    check_incident_urgent,
    check_reporting_silence,
    check_trust_drop,
    check_trust_low,
    may_be_low,
)
from gateway.domain.rules import (
    DEFAULT_SCOPE,
    NATIONAL_SCOPE,
    RULE_KINDS,
    OverrideKey,
    RuleSpec,
    load_rules,
    param_values,
    parse_rules,
    resolve_params,
    should_autoclose,
    should_notify,
    validate_value,
)
from gateway.domain.surveillance import severity_of_p
from gateway.domain.trust_index import Aggregate, trust_index

RULES_JSON = Path(__file__).resolve().parents[2] / "gateway" / "data" / "rules.json"
CHAIN = ("commune-a", "cercle-a", "region-a")


@pytest.fixture(scope="module")
def rules() -> dict[str, RuleSpec]:
    return load_rules()


def defaults(rules: dict[str, RuleSpec], rule: str) -> dict[str, float]:
    return param_values(resolve_params(rule, CHAIN, {}, rules))


def raw_rules() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(RULES_JSON.read_text(encoding="utf-8"))
    return copy.deepcopy(data)


# --- rule data -------------------------------------------------------------------


def test_the_packaged_rules_load_with_every_kind(rules: dict[str, RuleSpec]) -> None:
    assert set(rules) == RULE_KINDS
    assert load_rules(RULES_JSON) == rules
    for spec in rules.values():
        assert spec.description
        assert all(p.description for p in spec.params.values())


def test_every_rule_needs_at_least_five_reporters_by_default(rules: dict[str, RuleSpec]) -> None:
    for name in ("trust_low", "trust_drop", "incident_spike", "reporting_silence"):
        assert rules[name].params["min_reporters"].default >= 5
        assert rules[name].params["min_reporters"].minimum >= 5


def test_rules_that_allow_fewer_than_five_reporters_are_refused() -> None:
    data = raw_rules()
    data["rules"]["trust_low"]["params"]["min_reporters"]["min"] = 2
    with pytest.raises(ValueError, match="min_reporters"):
        parse_rules(data)
    data = raw_rules()
    data["rules"]["trust_drop"]["params"]["min_reporters"]["default"] = 3
    with pytest.raises(ValueError, match="min_reporters"):
        parse_rules(data)


def test_a_setting_of_k_below_five_is_refused(rules: dict[str, RuleSpec]) -> None:
    with pytest.raises(ValueError, match="between 5"):
        validate_value(rules, "trust_low", "min_reporters", 4)
    with pytest.raises(ValueError, match="whole number"):
        validate_value(rules, "trust_low", "min_reporters", 5.5)
    assert validate_value(rules, "trust_low", "min_reporters", 8) == 8.0
    stored: dict[OverrideKey, float] = {("cercle-a", "trust_low", "min_reporters"): 2}
    with pytest.raises(ValueError):
        resolve_params("trust_low", CHAIN, stored, rules)


def test_unknown_rules_params_and_missing_params_are_refused(rules: dict[str, RuleSpec]) -> None:
    with pytest.raises(ValueError, match="unknown rule"):
        validate_value(rules, "trust_high", "level", 3)
    with pytest.raises(ValueError, match="unknown rule"):
        resolve_params("trust_high", CHAIN, {}, rules)
    with pytest.raises(ValueError, match="unknown parameter"):
        validate_value(rules, "trust_low", "lvl", 3)
    data = raw_rules()
    del data["rules"]["incident_spike"]["params"]["alpha"]
    with pytest.raises(ValueError, match="alpha"):
        parse_rules(data)
    data = raw_rules()
    data["rules"]["made_up"] = data["rules"]["trust_low"]
    with pytest.raises(ValueError, match="exactly"):
        parse_rules(data)


def test_the_nearest_setting_wins_and_says_where_it_comes_from(
    rules: dict[str, RuleSpec],
) -> None:
    overrides: dict[OverrideKey, float] = {
        (None, "trust_low", "level"): 2.0,
        ("region-a", "trust_low", "level"): 2.8,
        ("cercle-a", "trust_low", "level"): 3.0,
        ("region-a", "trust_low", "min_reporters"): 8,
        ("commune-b", "trust_low", "window_days"): 60,
        ("commune-a", "trust_drop", "window_days"): 60,
    }
    got = resolve_params("trust_low", CHAIN, overrides, rules)
    assert (got["level"].value, got["level"].source_scope) == (3.0, "cercle-a")
    assert (got["min_reporters"].value, got["min_reporters"].source_scope) == (8, "region-a")
    assert (got["window_days"].value, got["window_days"].source_scope) == (30, DEFAULT_SCOPE)
    elsewhere = resolve_params("trust_low", ("commune-z", "cercle-z", "region-z"), overrides, rules)
    assert (elsewhere["level"].value, elsewhere["level"].source_scope) == (2.0, NATIONAL_SCOPE)


# --- trust -----------------------------------------------------------------------


def test_trust_falling_from_4_to_2_with_20_reporters_fires_trust_drop(
    rules: dict[str, RuleSpec],
) -> None:
    baseline = Aggregate.of([4, 5, 3, 4, 4] * 4)
    current = Aggregate.of([2, 1, 3, 2, 2] * 4)
    finding = check_trust_drop(current, baseline, defaults(rules, "trust_drop"))
    assert finding is not None and finding.rule == "trust_drop"
    assert finding.figures["delta"] == -2.0
    assert finding.figures["reporters"] == finding.figures["baseline_reporters"] == 20
    assert float(finding.figures["delta_high"]) < 0
    assert finding.severity == 3  # 1.3 points past the 0.7 drop, in steps of 0.5
    assert finding.verified


def test_a_small_or_uncertain_fall_does_not_fire(rules: dict[str, RuleSpec]) -> None:
    params = defaults(rules, "trust_drop") | {"drop": 0.7}
    # 0.5 points is under the 0.7 drop.
    assert check_trust_drop(Aggregate.of([3, 4] * 10), Aggregate.of([4, 4] * 10), params) is None
    # A 1-point fall among five spread-out answers: the interval reaches above zero.
    assert (
        check_trust_drop(Aggregate.of([1, 5, 2, 5, 2]), Aggregate.of([5, 1, 5, 4, 5]), params)
        is None
    )


def test_a_fall_equal_to_the_drop_up_to_rounding_fires_without_crashing(
    rules: dict[str, RuleSpec],
) -> None:
    # Issue 14: Δ = -0.6999999999999997 passes the firing test within its tolerance,
    # the distance past the drop is then -2e-16, and severity_for used to raise.
    current = Aggregate.of([1, 2, 2, 1, 2])
    baseline = Aggregate.of([2, 3, 3, 2, 2, 2, 2, 2, 2, 3])
    finding = check_trust_drop(current, baseline, defaults(rules, "trust_drop") | {"drop": 0.7})
    assert finding is not None and finding.severity == 1
    assert finding.figures["delta"] == -0.7


def test_two_low_ratings_in_a_small_commune_raise_nothing(rules: dict[str, RuleSpec]) -> None:
    current = Aggregate.of([1, 1])
    assert check_trust_low(trust_index(current), defaults(rules, "trust_low")) is None
    params = defaults(rules, "trust_drop")
    assert check_trust_drop(current, Aggregate.of([5, 5]), params) is None


def test_low_trust_from_enough_reporters_fires_with_its_figures(
    rules: dict[str, RuleSpec],
) -> None:
    finding = check_trust_low(
        trust_index(Aggregate.of([1, 1, 2, 1, 1])), defaults(rules, "trust_low")
    )
    assert finding is not None
    assert finding.severity == 1  # p = P(T4 <= (1.2 - 2)/(0.447/√5)) = 0.008
    assert finding.figures["index"] == 1.2
    assert finding.figures["low_share"] == 1.0
    assert finding.figures["reporters"] == 5
    assert finding.figures["level"] == 2.0
    json.dumps(finding.figures)  # stored as JSON on the alert
    assert (
        check_trust_low(trust_index(Aggregate.of([3, 3, 2, 3, 3])), defaults(rules, "trust_low"))
        is None
    )


@given(
    answers=st.lists(st.integers(1, 5), max_size=12),
    level=st.sampled_from([1.5, 2.0, 2.2, 3.0, 4.0]),
    least=st.integers(0, 6),
    alpha=st.sampled_from([0.05, 0.5, 1.0]),
)
def test_a_locality_the_pass_skips_as_not_low_is_one_the_check_finds_nothing_in(
    answers: list[int], level: float, least: int, alpha: float
) -> None:
    """Issue 15: the pass builds the trust index only where `may_be_low`."""
    params = {
        **defaults(load_rules(), "trust_low"),
        "level": level,
        "min_reporters": least,
        "alpha": alpha,
    }
    current = Aggregate.of(answers)
    found = check_trust_low(trust_index(current), params) if current.n else None
    assert found is None or may_be_low(current, params)


# --- incidents -------------------------------------------------------------------


def weeks(*counts: int) -> list[Tally]:
    return [Tally(c) for c in counts]


def test_a_week_improbable_under_the_baseline_fires_incident_spike(
    rules: dict[str, RuleSpec],
) -> None:
    params = defaults(rules, "incident_spike")
    # 26 weeks of 1 report, a guard week, then 7: P(X >= 7) under NegBin(26.5, 26/27).
    finding = check_incident_spike(weeks(*[1] * 26, 1, 7), 7, params)
    assert finding is not None and finding.rule == "incident_spike"
    assert finding.figures["count"] == 7 and finding.figures["usual"] == 1.0
    assert float(finding.figures["p"]) < params["alpha"]
    assert finding.severity == 2  # p about 1.5e-4... 1e-3: severity 2
    # An ordinary week, and a doubling alone, are not improbable enough for one week.
    assert check_incident_spike(weeks(*[3] * 27, 4), 10, params) is None
    assert check_incident_spike(weeks(*[3] * 27, 6), 10, params) is None


def test_a_spike_needs_five_reporters_in_28_days_history_and_ignores_bursts(
    rules: dict[str, RuleSpec],
) -> None:
    params = defaults(rules, "incident_spike")
    quiet = [*weeks(*[1] * 27)]
    assert check_incident_spike([*quiet, Tally(9)], 4, params) is None
    floor_lifted = params | {"min_reporters": 4}  # only possible by bypassing validation
    assert check_incident_spike([*quiet, Tally(9)], 4, floor_lifted) is not None
    assert check_incident_spike(weeks(1, 1, 1, 9), 9, params) is None  # 2 baseline weeks
    assert check_incident_spike([*quiet, Tally(1, burst=20)], 5, params) is None
    weighted = params | {"burst_weight": 0.5}
    assert check_incident_spike([*quiet, Tally(1, burst=20)], 5, weighted) is not None


def test_the_guard_week_is_left_out_of_the_baseline(rules: dict[str, RuleSpec]) -> None:
    params = defaults(rules, "incident_spike")
    building_up = weeks(*[1] * 26, 12, 12)
    finding = check_incident_spike(building_up, 9, params)
    assert finding is not None and finding.figures["usual"] == 1.0
    unguarded = check_incident_spike(building_up, 9, params | {"guard_weeks": 0})
    assert unguarded is not None and float(unguarded.figures["usual"]) > 1.4


def test_incident_cusum_sees_a_sustained_doubling_that_no_single_week_shows(
    rules: dict[str, RuleSpec],
) -> None:
    params = defaults(rules, "incident_cusum")
    spike = defaults(rules, "incident_spike")
    base = [2] * 60
    rising = weeks(*base, 4, 5, 4, 5)  # doubled for the last 4 weeks
    finding = check_incident_cusum(rising, 20, params)
    assert finding is not None and finding.rule == "incident_cusum"
    # m0 over the 52 weeks ending 4 weeks before the current one: (104 + 0.5)/52.
    assert finding.figures["usual"] == round(104.5 / 52, 3)
    assert all(check_incident_spike(rising[: 61 + i], 20, spike) is None for i in range(4))
    assert check_incident_cusum(weeks(*base, 2, 3, 1, 2, 2, 3, 2, 1), 20, params) is None
    # k = 2.875 and h = 4.875 (grid of 1/8, ARL 166.3 >= 160): S = 1.125, 3.25, 4.375,
    # 6.5 >= h. It fires, then restarts from zero (18 reports in 4 weeks could pass the
    # gate), so the next week alone (4 reports) does not fire again.
    assert finding.figures["limit"] == 4.875 and finding.figures["statistic"] == 6.5
    assert finding.figures["run_weeks"] == 4
    assert check_incident_cusum([*rising, Tally(4)], 20, params) is None
    assert check_incident_cusum(rising, 4, params) is None  # the privacy gate
    assert check_incident_cusum(rising[-7:], 20, params) is None  # too little history


def test_incident_cusum_carries_its_state_until_the_privacy_gate_can_open(
    rules: dict[str, RuleSpec],
) -> None:
    params = defaults(rules, "incident_cusum")
    # A quiet place (0.2 a week, k = 0.3): S = 0.7, 0.4, 0.1 after its last quiet
    # report, then 1.8, 3.5 >= h = 3.2 on 2 + 2 reports; but 4 reports in 4 weeks
    # cannot pass the gate, so the chart does not restart and keeps adding up...
    quiet = weeks(*[0, 0, 1, 0, 0] * 12)
    blocked = [*quiet, Tally(2), Tally(2)]
    state = replay(blocked, params)
    assert state is not None and state.alarm and state.statistic == pytest.approx(3.5)
    # ... and alerts the week the gate opens: S = 4.2 >= 3.6 with 5 reports in 4 weeks.
    finding = check_incident_cusum([*blocked, Tally(1)], 5, params)
    assert finding is not None and finding.figures["statistic"] == 4.2
    assert finding.figures["run_weeks"] == 6
    # Had the first alarm restarted the chart, one more report alone would not fire.
    opened = [*quiet, Tally(3), Tally(3)]  # 6 reports in 4 weeks: the gate could open
    assert replay(opened, params).alarm  # type: ignore[union-attr]
    assert check_incident_cusum([*opened, Tally(1)], 6, params) is None


def replay(series: list[Tally], params: dict[str, float]) -> sv.ChartState | None:
    return sv.poisson_cusum_replay(
        [float(t.count) for t in series],
        baseline_weeks=int(params["baseline_weeks"]),
        guard_weeks=int(params["guard_weeks"]),
        horizon_weeks=int(params["horizon_weeks"]),
        arl=params["arl_weeks"],
        ratio=params["ratio"],
        gate_counts=[float(t.count) for t in series],
        gate=int(params["min_reporters"]),
    )


def reference_poisson_cusum(
    counts: list[int], params: dict[str, float]
) -> tuple[float, bool, int] | None:
    """The carried Poisson CUSUM written out from its definition: each week's chart
    from the mean of its own baseline weeks, restart after an alarm with >= 5 reports
    in its 4 weeks."""
    base, guard = int(params["baseline_weeks"]), int(params["guard_weeks"])
    s, run, alarm, last = 0.0, 0, False, None
    for t in range(max(0, len(counts) - int(params["horizon_weeks"])), len(counts)):
        window = counts[max(0, t - guard - base) : max(0, t - guard)]
        if len(window) < 4:
            last = None
            continue
        chart = sv.poisson_cusum_design(
            (sum(window) + 0.5) / len(window), params["arl_weeks"], params["ratio"]
        )
        s, run = (0.0, 0) if alarm else (s, run)
        s = max(0.0, s + counts[t] - chart.k)
        run = run + 1 if s > 1e-9 else 0
        hit = s >= chart.h - 1e-9
        last = (s, hit, run)
        alarm = hit and sum(counts[max(0, t - 3) : t + 1]) >= 5
    return last


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5, 6, 7, 8])
def test_the_incident_cusum_state_matches_its_definition_written_out(
    rules: dict[str, RuleSpec], seed: int
) -> None:
    params = defaults(rules, "incident_cusum")
    rng = np.random.default_rng(seed)
    mean, rise_at = float(rng.gamma(2, 0.5)), int(rng.integers(30, 70))
    counts = [
        int(rng.poisson(mean * (2 if t >= rise_at else 1)))
        for t in range(int(rng.integers(20, 90)))
    ]
    ref = reference_poisson_cusum(counts, params)
    state = replay(weeks(*counts), params)
    if ref is None:
        assert state is None
        return
    assert state is not None
    assert state.statistic == pytest.approx(ref[0], abs=1e-9)
    assert (state.alarm, state.run) == ref[1:]


def test_an_urgent_incident_of_an_urgent_kind_fires_at_once_unverified(
    rules: dict[str, RuleSpec],
) -> None:
    params = defaults(rules, "incident_urgent")
    # Armed men seen and clashes between communities, with people in danger now, are
    # the warning before an attack: they alert at once too.
    for kind in ("attack", "kidnapping", "explosive", "abuse", "threat", "intercommunal"):
        finding = check_incident_urgent(kind, danger_now=True, burst=False, params=params)
        assert finding is not None
        assert (finding.severity, finding.verified, finding.figures["kind"]) == (3, False, kind)
    for kind in ("banditry", "other", "unknown"):
        assert check_incident_urgent(kind, danger_now=True, burst=False, params=params) is None
    assert check_incident_urgent("attack", danger_now=False, burst=False, params=params) is None
    assert check_incident_urgent("attack", danger_now=True, burst=True, params=params) is None


def test_an_admin_can_mark_a_kind_urgent_for_one_region(rules: dict[str, RuleSpec]) -> None:
    overrides: dict[OverrideKey, float] = {("region-a", "incident_urgent", "urgent_banditry"): 1}
    params = param_values(resolve_params("incident_urgent", CHAIN, overrides, rules))
    assert check_incident_urgent("banditry", danger_now=True, burst=False, params=params)


# --- silence ---------------------------------------------------------------------


def test_silence_fires_when_the_count_is_improbably_low_for_the_usual_rate(
    rules: dict[str, RuleSpec],
) -> None:
    params = defaults(rules, "reporting_silence")
    usual = Tally(80)  # 10 a week over the 8-week baseline
    finding = check_reporting_silence(Tally(1), usual, 12, params)
    assert finding is not None and finding.rule == "reporting_silence"
    assert finding.figures["usual"] == 10.0
    assert float(finding.figures["p"]) == 0.000499  # P(Poisson(10) <= 1)
    assert finding.severity == 2
    silent = check_reporting_silence(Tally(0), Tally(160), 12, params)
    assert silent is not None and silent.severity == 3  # P(Poisson(20) = 0) = 2e-9
    assert check_reporting_silence(Tally(3), usual, 12, params) is None  # p = 0.010


def test_silence_does_not_fire_for_a_locality_that_never_reports_much(
    rules: dict[str, RuleSpec],
) -> None:
    params = defaults(rules, "reporting_silence")
    assert check_reporting_silence(Tally(0), Tally(0), 0, params) is None
    # 6 a week: no report at all has p = e^-6 = 0.0025, ordinary enough.
    assert check_reporting_silence(Tally(0), Tally(48), 12, params) is None
    assert check_reporting_silence(Tally(0), Tally(80), 3, params) is None  # 3 reporters
    assert check_reporting_silence(Tally(0), Tally(8, burst=72), 12, params) is None


# --- severity and re-sending -----------------------------------------------------


def test_severity_is_one_scale_of_evidence_for_every_rule() -> None:
    assert [severity_of_p(p) for p in (0.05, 1.1e-3, 1e-3, 2e-5, 1e-5, 0.0)] == [1, 1, 2, 2, 3, 3]


NOW = dt.datetime(2026, 3, 1, 12, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)


def test_resend_only_when_severity_rises_or_the_rearm_interval_passed() -> None:
    assert should_notify(None, 1, None, NOW, 7 * DAY)
    assert not should_notify(2, 2, NOW - DAY, NOW, 7 * DAY)
    assert not should_notify(2, 1, NOW - DAY, NOW, 7 * DAY)
    assert should_notify(2, 3, NOW - DAY, NOW, 7 * DAY)
    assert should_notify(2, 2, NOW - 7 * DAY, NOW, 7 * DAY)


def test_autoclose_after_the_condition_is_clear_long_enough() -> None:
    assert not should_autoclose(None, NOW, 14 * DAY)
    assert not should_autoclose(NOW - 13 * DAY, NOW, 14 * DAY)
    assert should_autoclose(NOW - 14 * DAY, NOW, 14 * DAY)
