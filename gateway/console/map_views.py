"""The map (/console/map): every commune drawn server-side as SVG, coloured by trust
index (?by=trust, the default) or by incidents of the last 30 days (?by=incidents),
with region and cercle outlines and names, a marker on every place with an open alert
(sized in screen pixels, so even a tiny commune shows) and the list of those places
beside it. ?region= zooms into one region. Communes under 5 reporters are hatched,
communes without any answer plain grey, those outside a committee user's area white.
No script and nothing from outside: the page is complete as served."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from flask import Response, abort, request
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gateway.console.access import area_of, current_user, runtime
from gateway.console.blueprint import bp
from gateway.console.i18n import number
from gateway.console.pages import render
from gateway.console.svgmap import Box, MapShapes, bounds, centre, outlines, shapes
from gateway.gazetteer.index import Gazetteer, gazetteer
from gateway.models import Alert, AlertState, Role
from gateway.runtime import Runtime
from gateway.services.figures.tables import K_MIN, cell, figures

NO_DATA = "#eceef1"
FEW = "url(#few)"  # hatched: answers exist, from fewer than K_MIN people
OUTSIDE = "#ffffff"
# (lower bound, colour), highest first: ColorBrewer RdYlGn and OrRd, 5 classes each.
TRUST_BINS: Sequence[tuple[float, str]] = (
    (4.0, "#1a9641"),
    (3.5, "#a6d96a"),
    (3.0, "#ffffbf"),
    (2.0, "#fdae61"),
    (1.0, "#d7191c"),
)
# Whole counts of incidents in the last 30 days: 0, 1, 2-4, 5-9, 10 and more.
INCIDENT_BINS: Sequence[tuple[float, str]] = (
    (10, "#b30000"),
    (5, "#e34a33"),
    (2, "#fc8d59"),
    (1, "#fdcc8a"),
    (0, "#fef0d9"),
)


@dataclass(frozen=True)
class Shape:
    pcode: str
    name: str
    path: str
    fill: str
    value: str
    link: bool


@dataclass(frozen=True)
class Spot:
    """A label or marker, placed in percent of the drawing so it keeps its size."""

    pcode: str
    name: str
    left: float
    top: float
    count: int = 0
    severity: int = 0
    where: str = ""


@dataclass(frozen=True)
class Layout:
    """Commune → cercle and → region groupings, outlines and label points."""

    cercle_of: dict[str, str]
    region_of: dict[str, str]
    cercles: dict[str, str]
    regions: dict[str, str]
    members: dict[str, list[str]]  # cercle or region → its communes


def layout(rt: Runtime) -> Layout:
    gaz, drawn = gazetteer(rt), shapes(rt)  # outside build: the cache lock is not reentrant

    def build() -> Layout:
        cercle_of, region_of = {}, {}
        members: dict[str, list[str]] = {}
        for pcode in drawn.paths:
            loc = gaz.ids.get(pcode)
            if loc is None:
                continue
            chain = [gaz.pcodes[i] for i in gaz.chain(loc)]
            if len(chain) >= 3:
                cercle_of[pcode], region_of[pcode] = chain[1], chain[-1]
                members.setdefault(chain[1], []).append(pcode)
                members.setdefault(chain[-1], []).append(pcode)
        return Layout(
            cercle_of,
            region_of,
            outlines(drawn, cercle_of),
            outlines(drawn, region_of),
            members,
        )

    return rt.cached("console_map_layout", build)


def in_region(lay: Layout, cercle: str, region: str) -> bool:
    return lay.region_of.get(lay.members[cercle][0]) == region


def colour(value: float | None, bins: Sequence[tuple[float, str]]) -> str:
    if value is None:
        return NO_DATA
    return next((c for low, c in bins if value >= low), bins[-1][1])


def legend(by: str) -> list[tuple[str, str]]:
    """(colour, label) per class, highest first, numbers in the reader's language."""
    if by == "incidents":
        labels = ["≥ 10", "5 – 9", "2 – 4", "1", "0"]
        return [(c, label) for (_, c), label in zip(INCIDENT_BINS, labels, strict=True)]
    out = [(TRUST_BINS[0][1], f"≥ {number(TRUST_BINS[0][0], 1)}")]
    for (low, c), (high, _) in zip(TRUST_BINS[1:], TRUST_BINS, strict=False):
        out.append((c, f"{number(low, 1)} – {number(high, 1)}"))
    return out


def view_box(drawn: MapShapes, box: Box | None) -> tuple[float, float, float, float]:
    if box is None:
        return 0.0, 0.0, float(drawn.width), float(drawn.height)
    west, north, east, south = box
    pad = max(east - west, south - north) * 0.04 + 2
    return west - pad, north - pad, east - west + 2 * pad, south - north + 2 * pad


def spot(
    drawn: MapShapes, box: tuple[float, float, float, float], pcode: str, members: list[str]
) -> tuple[float, float] | None:
    point = centre(drawn, members or [pcode])
    if point is None:
        return None
    x, y, w, h = box
    return round(100 * (point[0] - x) / w, 2), round(100 * (point[1] - y) / h, 2)


def open_alert_places(session: Session, area: set[int] | None) -> list[tuple[int, int, int]]:
    """(locality, open alerts, highest severity) for every place with one not closed."""
    query = (
        select(Alert.locality_id, func.count(), func.max(Alert.severity))
        .where(Alert.state != AlertState.CLOSED)
        .group_by(Alert.locality_id)
    )
    if area is not None:
        query = query.where(Alert.locality_id.in_(area))
    return [(int(a), int(b), int(c)) for a, b, c in session.execute(query).all()]


def chosen_region(gaz: Gazetteer, lay: Layout) -> str | None:
    raw = request.args.get("region", "").strip().upper()[:24]
    if not raw:
        return None
    if raw not in lay.regions:
        abort(404)
    return raw


def markers(
    gaz: Gazetteer,
    lay: Layout,
    drawn: MapShapes,
    box: tuple[float, float, float, float],
    places: list[tuple[int, int, int]],
    region: str | None,
) -> list[Spot]:
    out = []
    for loc, count, severity in places:
        pcode = gaz.pcodes.get(loc)
        if pcode is None:
            continue
        chain = [gaz.pcodes[i] for i in gaz.chain(loc)]
        if region is not None and chain[-1] != region:
            continue
        at = spot(drawn, box, pcode, lay.members.get(pcode, []))
        if at is None:
            continue
        where = " › ".join(gaz.name_of(gaz.ids[p]) for p in chain[1:])
        out.append(Spot(pcode, gaz.name_of(loc), *at, count, severity, where))
    return sorted(out, key=lambda s: (-s.severity, -s.count, s.name))


def places_css(rt: Runtime, region: str | None) -> str:
    """Where each region, cercle and commune sits in the drawing of `region` (None: the
    whole country), as CSS in percent: the page's labels and markers take their place
    from it, since the Content-Security-Policy allows no inline style."""
    drawn, lay = shapes(rt), layout(rt)

    def build() -> str:
        box = view_box(drawn, bounds(drawn, lay.members[region]) if region else None)
        rules = []
        for pcode in [*lay.members, *drawn.paths]:
            at = spot(drawn, box, pcode, lay.members.get(pcode, []))
            if at is not None and 0 <= at[0] <= 100 and 0 <= at[1] <= 100:
                rules.append(f".at-{pcode}{{left:{at[0]}%;top:{at[1]}%}}")
        return "\n".join(rules) + "\n"

    return rt.cached(f"console_map_css_{region or 'ML'}", build)


@bp.route("/map/places.css")
def map_places_css() -> Response:
    rt = runtime()
    region = chosen_region(gazetteer(rt), layout(rt))
    response = Response(places_css(rt, region), mimetype="text/css")
    response.headers["Cache-Control"] = "private, max-age=86400"
    return response


@bp.route("/map")
def map_view() -> str:
    rt = runtime()
    user = current_user()
    gaz, drawn, lay = gazetteer(rt), shapes(rt), layout(rt)
    by = "incidents" if request.args.get("by") == "incidents" else "trust"
    region = chosen_region(gaz, lay)
    with rt.sessions() as session:
        area = area_of(user, session)
        fig = figures(session, rt, rt.now())
        alerts = open_alert_places(session, area)
    box = view_box(drawn, bounds(drawn, lay.members[region]) if region else None)
    show_small = user.role == Role.ADMIN
    out = []
    for pcode, path in drawn.paths.items():
        if region is not None and lay.region_of.get(pcode) != region:
            continue
        loc = gaz.ids.get(pcode)
        name = gaz.name_of(loc) if loc is not None else pcode
        if loc is None or (area is not None and loc not in area):
            out.append(Shape(pcode, name, path, OUTSIDE, "", False))
            continue
        c = cell(fig, gaz, pcode, show_small)
        if by == "incidents":
            fill, shown = colour(c.incidents, INCIDENT_BINS), c.incidents_shown
        elif c.reporters == 0 or (c.index is None and not c.suppressed):
            fill, shown = NO_DATA, "none"
        elif c.suppressed:
            fill, shown = FEW, "few"
        else:
            fill, shown = colour(c.index, TRUST_BINS), number(c.index)
        out.append(Shape(pcode, name, path, fill, shown, True))
    labels = lay.cercles if region else lay.regions
    names = [
        Spot(p, gaz.name_of(gaz.ids[p]), *at)
        for p in labels
        if (region is None or in_region(lay, p, region))
        and (at := spot(drawn, box, p, lay.members[p])) is not None
    ]
    return render(
        "map.html",
        by=by,
        region=region,
        region_name=gaz.name_of(gaz.ids[region]) if region else None,
        regions=sorted((p, gaz.name_of(gaz.ids[p])) for p in lay.regions),
        box=box,
        shapes=out,
        cercle_lines=[
            v for p, v in lay.cercles.items() if region is None or in_region(lay, p, region)
        ],
        region_lines=[lay.regions[region]] if region else list(lay.regions.values()),
        names=names,
        markers=markers(gaz, lay, drawn, box, alerts, region),
        legend=legend(by),
        no_data=NO_DATA,
        outside=OUTSIDE,
        committee=area is not None,
        k=K_MIN,
    )
