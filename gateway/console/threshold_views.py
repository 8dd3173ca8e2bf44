"""Rule values by level with their inheritance (/console/thresholds), the backtest of
a proposed value, saving it (admins), and the outcomes of past alerts per rule and area.

The backtest replays the rule over the last N days at the clock's own steps (calendar
weeks), with the stored values and with the proposal (changed in memory only), and
counts per locality the alerts the engine's lifecycle would open (`replay_openings`).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass

from flask import abort, redirect, request, url_for
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from gateway.console.access import actor, area_of, current_user, require, runtime, with_descendants
from gateway.console.blueprint import bp
from gateway.console.locality_views import source_label
from gateway.console.pages import notify, render
from gateway.db import transaction
from gateway.domain.rules import DEFAULT_SCOPE, OverrideKey, replay_openings, week_start
from gateway.gazetteer.index import Gazetteer, gazetteer
from gateway.models import Alert, AlertState, Role
from gateway.runtime import Runtime
from gateway.services import audit
from gateway.services.alerts.engine import (
    CANDIDATE_WINDOW,
    WINDOW_RULES,
    Measures,
    findings,
)
from gateway.services.alerts.jobstate import days
from gateway.services.alerts.thresholds import overrides, resolved, set_threshold
from gateway.services.figures.measures import active_localities, first_seen
from gateway.services.figures.tables import top_pcodes

STEP = dt.timedelta(days=7)
DEFAULT_DAYS, MAX_DAYS = 180, 730
OUTCOME_COLUMNS = ("open", "confirmed", "false_alarm", "resolved")


@dataclass(frozen=True)
class Proposal:
    rule: str
    param: str
    value: float
    scope: str | None  # P-code, None for national
    days: int


def scope_of(gaz: Gazetteer, area: set[int] | None, raw: str | None) -> str | None:
    """The chosen area's P-code (None: national); 404 when unknown or outside the
    viewer's area; a committee user without a choice gets its own area's top."""
    text = (raw or "").strip()[:120]
    if not text:
        return None if area is None else next(iter(top_pcodes(gaz, area)), None)
    loc = gaz.lookup(text)  # a P-code, or a name that names one place clearly
    if loc is None or (area is not None and loc not in area):
        abort(404)
    return gaz.pcodes[loc]


def rule_table(
    rt: Runtime, gaz: Gazetteer, stored: Mapping[OverrideKey, float], scope: str | None
) -> list[dict[str, object]]:
    loc = gaz.ids[scope] if scope else None
    out = []
    for name, spec in sorted(rt.reference.rules.items()):
        values = resolved(rt, gaz, stored, name, loc)
        params = [
            {
                "name": p,
                "spec": spec.params[p],
                "value": v.value,
                "source": v.source_scope,
                "label": source_label(gaz, v),
                "here": v.source_scope == (scope or "national"),
            }
            for p, v in sorted(values.items())
        ]
        # The settings that tune the rule, and any set somewhere, first; the rest folded.
        shown = [
            p for p in params if spec.params[str(p["name"])].main or p["source"] != DEFAULT_SCOPE
        ]
        out.append(
            {
                "rule": name,
                "description": spec.description,
                "params": shown,
                "other_params": [p for p in params if p not in shown],
                "backtest": name in WINDOW_RULES,
            }
        )
    return out


def outcomes(
    session: Session, gaz: Gazetteer, scope: str | None, area: set[int] | None
) -> list[tuple[str, str, Counter[str]]]:
    """(area name, rule, counts by OUTCOME_COLUMNS) for the alerts under `scope`, each
    counted in the area just below the scope (regions at national level)."""
    query = select(Alert.locality_id, Alert.rule, Alert.state, Alert.outcome)
    if scope is not None:
        query = query.where(Alert.locality_id.in_(with_descendants_of(gaz, scope)))
    if area is not None:
        query = query.where(Alert.locality_id.in_(area))
    table: dict[tuple[int, str], Counter[str]] = {}
    for loc, rule, state, outcome in session.execute(query):
        chain = list(reversed(gaz.chain(loc)))  # region first
        depth = chain.index(gaz.ids[scope]) + 1 if scope else 0
        key = (chain[min(depth, len(chain) - 1)], rule)
        column = "open" if state != AlertState.CLOSED else (outcome or "resolved")
        table.setdefault(key, Counter())[column] += 1
    rows = [(gaz.name_of(loc), rule, counts) for (loc, rule), counts in table.items()]
    return sorted(rows, key=lambda r: (r[0], r[1]))


def with_descendants_of(gaz: Gazetteer, pcode: str) -> set[int]:
    return with_descendants(runtime(), [gaz.ids[pcode]])


@bp.route("/thresholds")
def thresholds() -> str:
    rt = runtime()
    user = current_user()
    gaz = gazetteer(rt)
    with rt.sessions() as session:
        area = area_of(user, session)
        typed = request.args.get("area")
        if typed and gaz.lookup(typed.strip()[:120]) is None:
            notify("thresholds.error.area", "error")  # unknown or ambiguous: say what to type
            typed = None
        scope = scope_of(gaz, area, typed)
        stored = overrides(session)
        seen = outcomes(session, gaz, scope, area)
    loc = gaz.ids[scope] if scope else None
    return render(
        "thresholds.html",
        scope=scope,
        scope_name=gaz.name_of(loc) if loc else None,
        chain=[(gaz.pcodes[i], gaz.name_of(i)) for i in reversed(gaz.chain(loc))] if loc else [],
        children=gaz.children(scope) if scope or area is None else [],
        table=rule_table(rt, gaz, stored, scope),
        outcomes=seen,
        columns=OUTCOME_COLUMNS,
        can_backtest=user.role in (Role.ADMIN, Role.ANALYST),
        can_save=user.role == Role.ADMIN,
        days=DEFAULT_DAYS,
    )


def read_proposal(rt: Runtime, gaz: Gazetteer, form: Mapping[str, str]) -> Proposal | str:
    """The proposal in a form or query, or the catalogue key of what is wrong."""
    rule, param = form.get("rule", ""), form.get("param", "")
    spec = rt.reference.rules.get(rule)
    if spec is None or param not in spec.params:
        return "thresholds.error.unknown"
    try:
        value = spec.params[param].check(float(form.get("value", "").replace(",", ".")))
        days = int(form.get("days") or DEFAULT_DAYS)
    except ValueError:
        return "thresholds.error.value"
    scope = scope_of(gaz, None, form.get("area"))
    return Proposal(rule, param, value, scope, max(STEP.days, min(days, MAX_DAYS)))


def backtest(
    session: Session,
    rt: Runtime,
    gaz: Gazetteer,
    proposal: Proposal,
    now: dt.datetime,
    weekly: list[tuple[dt.datetime, int, int]] | None = None,
) -> list[tuple[int, int, int]]:
    """(locality, alerts opened with the stored values, with the proposal) per
    locality under the proposal's scope that opened at least one either way: the
    rule replayed at the clock's own steps, the calendar weeks (`week_start`), through
    the engine's lifecycle (an alert stays open until clear for clear_days), so the
    count is what the clock would have opened with no one closing alerts by hand. With
    `weekly`, also appends (step, alerts opened with the stored values, with the
    proposal) for each week replayed."""
    stored = overrides(session)
    proposed = {**stored, (proposal.scope, proposal.rule, proposal.param): proposal.value}
    steps = proposal.days // STEP.days
    last = week_start(now)
    times = [last - STEP * (steps - k) for k in range(-1, steps + 1)]  # one step before
    locs = active_localities(session, times[0] - CANDIDATE_WINDOW, now)
    if proposal.scope is not None:
        locs &= with_descendants_of(gaz, proposal.scope)
    hits: list[list[dict[int, tuple[bool, dt.timedelta]]]] = [[], []]
    first = first_seen(session)
    for when in times:
        m = Measures(session, rt.reference.primary_question, when, first)
        for side, values in enumerate((stored, proposed)):
            found = findings(rt, gaz, values, m, locs, rules=[proposal.rule])
            hits[side].append(
                {loc: (f is not None, days(p["clear_days"])) for (loc, _), (f, p) in found.items()}
            )
    counts: dict[int, list[int]] = {}
    per_week = [[0, 0] for _ in times[1:]]
    for side in (0, 1):
        for loc in locs:
            seen = [step.get(loc, (False, STEP)) for step in hits[side]]
            opened = replay_openings(
                [hit for hit, _ in seen[1:]],
                times[1:],
                [clear for _, clear in seen[1:]],
                open_at_start=seen[0][0],
            )
            if opened:
                counts.setdefault(loc, [0, 0])[side] += len(opened)
            for step in opened:
                per_week[step][side] += 1
    if weekly is not None:
        weekly.extend((when, a, b) for when, (a, b) in zip(times[1:], per_week, strict=True))
    rows = [(loc, c[0], c[1]) for loc, c in counts.items()]
    return sorted(rows, key=lambda r: (-abs(r[2] - r[1]), gaz.name_of(r[0])))


@bp.route("/thresholds/backtest")
@require(Role.ADMIN, Role.ANALYST)
def threshold_backtest() -> str | Response:
    rt = runtime()
    gaz = gazetteer(rt)
    proposal = read_proposal(rt, gaz, request.args)
    if isinstance(proposal, str):
        notify(proposal, "error")
        return redirect(url_for("console.thresholds", area=request.args.get("area", "")))
    with rt.sessions() as session:
        stored = overrides(session)
        loc = gaz.ids[proposal.scope] if proposal.scope else None
        current = resolved(rt, gaz, stored, proposal.rule, loc)[proposal.param]
        weeks: list[tuple[dt.datetime, int, int]] = []
        replayable = proposal.rule in WINDOW_RULES
        rows = backtest(session, rt, gaz, proposal, rt.now(), weeks) if replayable else []
    return render(
        "backtest.html",
        p=proposal,
        spec=rt.reference.rules[proposal.rule].params[proposal.param],
        current=current,
        current_label=source_label(gaz, current),
        scope_name=gaz.name_of(loc) if loc else None,
        rows=[(gaz.pcodes[r[0]], gaz.name_of(r[0]), r[1], r[2]) for r in rows],
        totals=(sum(r[1] for r in rows), sum(r[2] for r in rows)),
        weeks=weeks,
        one_day=dt.timedelta(days=1),  # a step is Monday 00:00: its week ends the day before
        peak=max([1, *(max(a, b) for _, a, b in weeks)]),
        can_save=current_user().role == Role.ADMIN,
        replayable=replayable,
    )


@bp.route("/thresholds", methods=["POST"])
@require(Role.ADMIN)
def threshold_save() -> Response:
    rt = runtime()
    gaz = gazetteer(rt)
    proposal = read_proposal(rt, gaz, request.form)
    if isinstance(proposal, str):
        notify(proposal, "error")
        return redirect(url_for("console.thresholds", area=request.form.get("area", "")))
    user = current_user()
    loc = gaz.ids[proposal.scope] if proposal.scope else None
    with transaction(rt.sessions) as session:
        before = resolved(rt, gaz, overrides(session), proposal.rule, loc)[proposal.param]
        old, new = set_threshold(
            session,
            rt,
            rule=proposal.rule,
            param=proposal.param,
            value=proposal.value,
            locality_id=loc,
            actor=actor(user),
            now=rt.now(),
        )
        scope = proposal.scope or "national"
        details = {
            "rule": proposal.rule,
            "param": proposal.param,
            "scope": scope,
            "old": old,
            "old_effective": before.value,
            "old_source": before.source_scope,
            "new": new,
        }
        target = f"threshold:{proposal.rule}.{proposal.param}@{scope}"
        audit.record(session, actor(user), "threshold.set", target, details, rt.now())
    notify("thresholds.done.saved")
    return redirect(url_for("console.thresholds", area=proposal.scope or ""))
