"""The closed set of alert rules, their parameters, and where each value comes from.

The rules, their parameters, defaults, bounds and descriptions are data
(`gateway/data/rules.json`); this module loads and checks them. A value is set
nationally (scope None) or for a region, cercle or commune, and the nearest setting
wins: commune, then cercle, then region, then national, then the default.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

# The kinds the engine knows how to evaluate, each with exactly these parameters;
# rules.json must match, so a typo in the data cannot silently disable a check.
_LIFECYCLE = frozenset({"rearm_days", "clear_days"})
# A closed condition of a window rule stays closed for a while (see may_reopen); an
# urgent alert is opened by each new report, never by an old one found again.
_REOPEN = frozenset({"reopen_cooldown_days"})
_WINDOW = _LIFECYCLE | _REOPEN
_INCIDENTS = frozenset({"min_reporters", "burst_weight"})
RULE_PARAMS: Mapping[str, frozenset[str]] = {
    "trust_low": _WINDOW | {"level", "alpha", "min_reporters", "window_days"},
    "trust_drop": _WINDOW | {"drop", "min_reporters", "window_days", "baseline_days"},
    "trust_shift": _WINDOW
    | {
        "baseline_weeks",
        "guard_weeks",
        "horizon_weeks",
        "shift",
        "arl_weeks",
        "within_arl_weeks",
        "within_share",
        "min_reporters",
    },
    "incident_spike": _WINDOW | _INCIDENTS | {"baseline_weeks", "guard_weeks", "alpha"},
    "incident_cusum": _WINDOW
    | _INCIDENTS
    | {"baseline_weeks", "guard_weeks", "horizon_weeks", "ratio", "arl_weeks"},
    "incident_urgent": _LIFECYCLE
    | {
        "urgent_attack",
        "urgent_kidnapping",
        "urgent_explosive",
        "urgent_abuse",
        "urgent_banditry",
        "urgent_intercommunal",
        "urgent_threat",
        "urgent_other",
        "burst_fires",
    },
    "reporting_silence": _WINDOW | _INCIDENTS | {"window_days", "baseline_days", "alpha"},
}
RULE_KINDS = frozenset(RULE_PARAMS)
# No alert may rest on fewer distinct reporters than this, whatever the data says.
MIN_REPORTERS_FLOOR = 5
NATIONAL_SCOPE = "national"
DEFAULT_SCOPE = "default"

OverrideKey = tuple[str | None, str, str]  # (scope or None for national, rule, param)


@dataclass(frozen=True)
class ParamSpec:
    name: str
    default: float
    minimum: float
    maximum: float
    integer: bool
    unit: str
    description: str
    main: bool = False  # one of the few that tune the rule (the console shows these first)

    def check(self, value: float) -> float:
        """`value` if it is allowed for this parameter, else ValueError."""
        if not math.isfinite(value) or not self.minimum <= value <= self.maximum:
            raise ValueError(
                f"{self.name} must be between {self.minimum:g} and {self.maximum:g}, got {value:g}"
            )
        if self.integer and value != int(value):
            raise ValueError(f"{self.name} must be a whole number, got {value:g}")
        return float(value)


@dataclass(frozen=True)
class RuleSpec:
    name: str
    description: str
    params: Mapping[str, ParamSpec]


@dataclass(frozen=True)
class ResolvedValue:
    """A parameter's value and where it comes from: a locality key, NATIONAL_SCOPE
    for a national setting, or DEFAULT_SCOPE for the rules.json default."""

    value: float
    source_scope: str


def _param(name: str, raw: Mapping[str, Any]) -> ParamSpec:
    spec = ParamSpec(
        name=name,
        default=float(raw["default"]),
        minimum=float(raw["min"]),
        maximum=float(raw["max"]),
        integer=bool(raw.get("integer", False)),
        unit=str(raw.get("unit", "")),
        description=str(raw["description"]),
        main=bool(raw.get("main", False)),
    )
    if name == "min_reporters" and spec.minimum < MIN_REPORTERS_FLOOR:
        raise ValueError(f"min_reporters may not allow fewer than {MIN_REPORTERS_FLOOR}")
    spec.check(spec.default)
    return spec


def parse_rules(data: Mapping[str, Any]) -> dict[str, RuleSpec]:
    """Rule specs from the decoded rules.json; ValueError names what is wrong."""
    rules = data.get("rules")
    if not isinstance(rules, Mapping) or set(rules) != RULE_KINDS:
        raise ValueError(f"rules.json must define exactly the rules {sorted(RULE_KINDS)}")
    out: dict[str, RuleSpec] = {}
    for name, raw in rules.items():
        params = raw.get("params", {})
        if set(params) != RULE_PARAMS[name]:
            missing, extra = RULE_PARAMS[name] - set(params), set(params) - RULE_PARAMS[name]
            raise ValueError(f"{name}: missing {sorted(missing)}, unknown {sorted(extra)}")
        try:
            specs = {p: _param(p, spec) for p, spec in params.items()}
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"{name}: {exc}") from exc
        out[name] = RuleSpec(name, str(raw["description"]), specs)
    return out


def load_rules(path: Path | str | None = None) -> dict[str, RuleSpec]:
    """The rules from `path`, or from the packaged gateway/data/rules.json."""
    if path is None:
        text = resources.files("gateway").joinpath("data/rules.json").read_text("utf-8")
    else:
        text = Path(path).read_text(encoding="utf-8")
    return parse_rules(json.loads(text))


def validate_value(rules: Mapping[str, RuleSpec], rule: str, param: str, value: float) -> float:
    """`value` if `param` of `rule` may take it (for `thresholds set`), else ValueError."""
    if rule not in rules:
        raise ValueError(f"unknown rule {rule!r}; known: {', '.join(sorted(rules))}")
    spec = rules[rule].params.get(param)
    if spec is None:
        raise ValueError(f"unknown parameter {param!r} of {rule}")
    return spec.check(value)


def resolve_params(
    rule: str,
    locality_chain: Sequence[str],
    overrides: Mapping[OverrideKey, float],
    defaults: Mapping[str, RuleSpec],
) -> dict[str, ResolvedValue]:
    """Each parameter of `rule` for a locality, from the nearest setting.

    `locality_chain` is the locality and its areas, nearest first (commune, cercle,
    region); `overrides` maps (scope, rule, param) to a value, scope None being the
    national setting. A stored value the rule does not allow raises ValueError rather
    than running a check on, say, fewer than five reporters.
    """
    if rule not in defaults:
        raise ValueError(f"unknown rule {rule!r}")
    scopes: list[str | None] = [*locality_chain, None]
    out: dict[str, ResolvedValue] = {}
    for name, spec in defaults[rule].params.items():
        found = next(
            ((s, overrides[(s, rule, name)]) for s in scopes if (s, rule, name) in overrides), None
        )
        if found is None:
            out[name] = ResolvedValue(spec.default, DEFAULT_SCOPE)
        else:
            scope, value = found
            out[name] = ResolvedValue(spec.check(value), scope or NATIONAL_SCOPE)
    return out


def param_values(resolved: Mapping[str, ResolvedValue]) -> dict[str, float]:
    """Just the values of `resolve_params`, as the checks take them."""
    return {name: r.value for name, r in resolved.items()}


def week_start(t: dt.datetime) -> dt.datetime:
    """Monday 00:00 UTC of the calendar week holding `t` (Mali keeps UTC all year): the
    window rules are evaluated once per week, as of this instant, in production and
    in the console's backtest alike."""
    t = t.astimezone(dt.UTC)
    return dt.datetime.combine(t.date() - dt.timedelta(days=t.weekday()), dt.time(), dt.UTC)


def should_notify(
    prev_severity_sent: int | None,
    new_severity: int,
    last_sent_at: dt.datetime | None,
    now: dt.datetime,
    rearm: dt.timedelta,
) -> bool:
    """Send when nothing was sent yet, when severity rose above what was sent, or when
    the re-arm interval has passed since the last send (a reminder)."""
    if prev_severity_sent is None or last_sent_at is None:
        return True
    return new_severity > prev_severity_sent or now - last_sent_at >= rearm


def should_autoclose(
    clear_since: dt.datetime | None, now: dt.datetime, clear_after: dt.timedelta
) -> bool:
    """Close when the condition has been clear for `clear_after` or longer."""
    return clear_since is not None and now - clear_since >= clear_after


def may_reopen(
    closed_at: dt.datetime | None,
    seen_clear: bool,
    closed_severity: int,
    severity: int,
    now: dt.datetime,
    cooldown: dt.timedelta,
) -> bool:
    """Whether a condition found again may open a new alert after a person closed the
    last one for the same locality and rule: once it has been clear since (a pass found
    nothing), once it is worse (a higher severity), or once the cool-down has passed."""
    if closed_at is None or seen_clear or severity > closed_severity:
        return True
    return now - closed_at >= cooldown


def replay_openings(
    found: Sequence[bool],
    times: Sequence[dt.datetime],
    clear_after: Sequence[dt.timedelta],
    open_at_start: bool = False,
) -> list[int]:
    """The steps at which alerts open when a rule finds `found[i]` at `times[i]`, by
    the engine's own lifecycle with no one acting on them: an alert opens where the
    rule fires and none is open; while open, a step that fires clears `clear since`,
    one that does not sets it; the alert closes at the step where it has been clear
    for `clear_after[i]` (`should_autoclose`). The console's backtest counts these."""
    opened: list[int] = []
    is_open, clear_since = open_at_start, None
    for i, (hit, at) in enumerate(zip(found, times, strict=True)):
        if hit:
            if not is_open:
                opened.append(i)
            is_open, clear_since = True, None
        elif is_open:
            clear_since = clear_since or at
            if should_autoclose(clear_since, at, clear_after[i]):
                is_open, clear_since = False, None
    return opened
