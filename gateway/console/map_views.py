"""The map (/console/map): every commune drawn server-side as SVG, coloured by trust
index (?by=trust, the default) or by incidents per 30 days (?by=incidents); suppressed
cells, communes without data and those outside a committee user's area are grey."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from flask import request
from sqlalchemy import func, select

from gateway.console.access import area_of, current_user, runtime
from gateway.console.blueprint import bp
from gateway.console.pages import render
from gateway.console.svgmap import shapes
from gateway.gazetteer.index import gazetteer
from gateway.models import Incident, Role
from gateway.services.figures.tables import K_MIN, cell, figures

NO_DATA = "#d5d9de"
# (lower bound, colour), highest first: ColorBrewer RdYlGn and OrRd, 5 classes each.
TRUST_BINS: Sequence[tuple[float, str]] = (
    (4.0, "#1a9641"),
    (3.5, "#a6d96a"),
    (3.0, "#ffffbf"),
    (2.0, "#fdae61"),
    (1.0, "#d7191c"),
)
INCIDENT_BINS: Sequence[tuple[float, str]] = (
    (10.0, "#b30000"),
    (3.0, "#e34a33"),
    (1.0, "#fc8d59"),
    (0.34, "#fdcc8a"),
    (0.0, "#fef0d9"),
)
INCIDENT_DAYS = 90  # the rate is incidents of the last 90 days per 30 days


@dataclass(frozen=True)
class Shape:
    pcode: str
    name: str
    path: str
    fill: str
    value: str | None
    link: bool


def colour(value: float | None, bins: Sequence[tuple[float, str]]) -> str:
    if value is None:
        return NO_DATA
    return next((c for low, c in bins if value >= low), bins[-1][1])


def incident_rates(days: int) -> dict[int, float]:
    rt = runtime()
    now = rt.now()
    with rt.sessions() as session:
        rows = session.execute(
            select(Incident.locality_id, func.count())
            .where(
                Incident.reported_at >= now - dt.timedelta(days=days),
                Incident.reported_at < now,
                Incident.burst.is_(False),
            )
            .group_by(Incident.locality_id)
        ).all()
    return {int(loc): int(n) * 30 / days for loc, n in rows}


@bp.route("/map")
def map_view() -> str:
    rt = runtime()
    user = current_user()
    gaz = gazetteer(rt)
    by = "incidents" if request.args.get("by") == "incidents" else "trust"
    with rt.sessions() as session:
        area = area_of(user, session)
        fig = figures(session, rt, rt.now()) if by == "trust" else None
    rates = incident_rates(INCIDENT_DAYS) if by == "incidents" else {}
    drawn = shapes(rt)
    out = []
    for pcode, path in drawn.paths.items():
        loc = gaz.ids.get(pcode)
        inside = loc is not None and (area is None or loc in area)
        value: float | None = None
        if inside and fig is not None:
            value = cell(fig, gaz, pcode, user.role == Role.ADMIN).index
        elif inside:
            value = rates.get(loc or 0, 0.0)
        name = gaz.name_of(loc) if loc is not None else pcode
        bins = TRUST_BINS if by == "trust" else INCIDENT_BINS
        shown = None if value is None else f"{value:.2f}" if by == "trust" else f"{value:.1f}"
        out.append(Shape(pcode, name, path, colour(value, bins), shown, inside))
    return render(
        "map.html",
        by=by,
        width=drawn.width,
        height=drawn.height,
        shapes=out,
        legend=TRUST_BINS if by == "trust" else INCIDENT_BINS,
        no_data=NO_DATA,
        k=K_MIN,
    )
