"""A locality's page: its trust index over the last 12 months with 95% intervals
(drawn by the vendored uPlot from a JSON block), the rule values that apply there,
its incidents by kind and the alerts raised in it."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import abort
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gateway.console.access import area_of, current_user, runtime, with_descendants
from gateway.console.blueprint import bp
from gateway.console.pages import render
from gateway.domain.rules import DEFAULT_SCOPE, NATIONAL_SCOPE, ResolvedValue
from gateway.domain.trust_index import Aggregate, mean_ci
from gateway.gazetteer.index import Gazetteer, gazetteer
from gateway.models import Alert, Incident, Role
from gateway.runtime import Runtime
from gateway.services.alerts.thresholds import overrides, resolved
from gateway.services.figures.measures import trust_aggregates
from gateway.services.figures.tables import (
    K_MIN,
    hidden_of_window,
    own_people,
    parent_map,
    people_of,
)

POINT = dt.timedelta(days=30)
POINTS = 12
INCIDENT_WINDOW = dt.timedelta(days=90)


def series(
    session: Session,
    rt: Runtime,
    pcode: str,
    places: set[int],
    now: dt.datetime,
    show_small: bool,
) -> list[dict[str, Any]]:
    """One point per 30-day window over the last year, oldest first: the index of the
    latest answer of each reporter in the window, summed over `places`. Under K_MIN
    reporters a point is withheld (None) from viewers without `show_small`."""
    points = []
    gaz = gazetteer(rt)
    parents = parent_map(gaz)
    for i in range(POINTS, 0, -1):
        end = now - POINT * (i - 1)
        question = rt.reference.primary_question
        aggs = trust_aggregates(session, question, end - POINT, end)
        agg = sum((a for loc, a in aggs.items() if loc in places), Aggregate())
        own = own_people(session, gaz, question, end - POINT, end)
        n = people_of(parents, own).get(pcode, 0)  # one who rated two communes is one
        # Hidden as the overview would hide it for that window: small, or derivable
        # from its parent and siblings by subtraction.
        hidden = not show_small and (n < K_MIN or pcode in hidden_of_window(gaz, own))
        ci = None if hidden else mean_ci(agg)
        points.append(
            {
                "t": int(end.timestamp()),
                "day": end.date().isoformat(),
                "n": None if hidden else n,
                "index": None if hidden or agg.mean is None else round(agg.mean, 3),
                "low": round(ci.low, 3) if ci else None,
                "high": round(ci.high, 3) if ci else None,
            }
        )
    return points


def source_label(gaz: Gazetteer, value: ResolvedValue) -> str:
    """Where a value comes from: "default", "national" or the locality's name."""
    if value.source_scope in (DEFAULT_SCOPE, NATIONAL_SCOPE):
        return value.source_scope
    loc = gaz.ids.get(value.source_scope)
    return gaz.name_of(loc) if loc is not None else value.source_scope


def applying(session: Session, rt: Runtime, gaz: Gazetteer, loc: int) -> list[dict[str, Any]]:
    """Every rule's parameters as they apply at `loc`, with their source."""
    stored = overrides(session)
    out = []
    specs = rt.reference.rules
    for name in sorted(specs):
        for param, value in sorted(resolved(rt, gaz, stored, name, loc).items()):
            out.append(
                {
                    "rule": name,
                    "param": param,
                    "unit": specs[name].params[param].unit,
                    "integer": specs[name].params[param].integer,
                    "value": value.value,
                    "source": value.source_scope,
                    "label": source_label(gaz, value),
                }
            )
    return out


@bp.route("/locality/<pcode>")
def locality(pcode: str) -> str:
    rt = runtime()
    user = current_user()
    gaz = gazetteer(rt)
    loc = gaz.ids.get(pcode.upper())
    now = rt.now()
    with rt.sessions() as session:
        area = area_of(user, session)
        if loc is None or (area is not None and loc not in area):
            abort(404)
        places = with_descendants(rt, [loc])
        points = series(session, rt, gaz.pcodes[loc], places, now, user.role == Role.ADMIN)
        kinds = session.execute(
            select(Incident.kind, func.count())
            .where(Incident.locality_id.in_(places), Incident.reported_at >= now - INCIDENT_WINDOW)
            .group_by(Incident.kind)
            .order_by(func.count().desc())
        ).all()
        alerts = session.scalars(
            select(Alert)
            .where(Alert.locality_id.in_(places))
            .order_by(Alert.opened_at.desc(), Alert.id.desc())
            .limit(100)
        ).all()
        values = applying(session, rt, gaz, loc)
    level = next(
        (v["value"] for v in values if v["rule"] == "trust_low" and v["param"] == "level"), None
    )
    marks = [
        {"t": int(a.opened_at.timestamp()), "code": a.code, "severity": a.severity}
        for a in alerts
        if a.opened_at >= now - POINT * POINTS
    ]
    return render(
        "locality.html",
        chart={"points": points, "level": level, "alerts": marks},
        level=level,
        pcode=gaz.pcodes[loc],
        name=gaz.name_of(loc),
        kind=gaz.entry(loc).kind,
        chain=[
            (gaz.pcodes[i], gaz.name_of(i), gaz.entry(i).kind) for i in reversed(gaz.chain(loc))
        ],
        children=gaz.children(gaz.pcodes[loc]),
        points=points,
        kinds=kinds,
        alerts=alerts,
        names={a.locality_id: gaz.name_of(a.locality_id) for a in alerts},
        values=values,
        k=K_MIN,
    )
