"""The overview (/console/): the nation, then its regions; ?area= drills down to a
region's cercles and a cercle's communes. Small cells are suppressed (see stats)."""

from __future__ import annotations

from flask import abort, request
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gateway.console.access import area_of, current_user, runtime
from gateway.console.blueprint import bp
from gateway.console.pages import render
from gateway.domain.trust_index import NATIONAL
from gateway.gazetteer.index import Gazetteer, gazetteer
from gateway.models import Alert, AlertState, Role
from gateway.services.figures.tables import K_MIN, figures, table, top_pcodes

CHILD_LEVEL = {"region": "cercle", "cercle": "commune"}


def chosen_area(gaz: Gazetteer, area: set[int] | None) -> str | None:
    """The ?area= P-code, when known and within the viewer's area; 404 otherwise (the
    same answer for both, so a committee user learns nothing of other areas)."""
    pcode = request.args.get("area", "").strip().upper()[:24]
    if not pcode:
        return None
    loc = gaz.ids.get(pcode)
    if loc is None or (area is not None and loc not in area):
        abort(404)
    return pcode


@bp.route("/")
def overview() -> str:
    rt = runtime()
    user = current_user()
    gaz = gazetteer(rt)
    show_small = user.role == Role.ADMIN
    with rt.sessions() as session:
        area = area_of(user, session)
        fig = figures(session, rt, rt.now())
        unreached = unreached_count(session, area)
    pcode = chosen_area(gaz, area)
    if pcode is None:
        heads = [NATIONAL] if area is None else []
        rows = top_pcodes(gaz, area)
        level = "region" if area is None else ""
        trail: list[tuple[str, str]] = []
    else:
        heads = [pcode]
        rows = [c.pcode for c in gaz.children(pcode)]
        entry = gaz.entry(gaz.ids[pcode])
        level = CHILD_LEVEL.get(entry.kind, "")
        chain = list(reversed(gaz.chain(gaz.ids[pcode])))
        trail = [(gaz.pcodes[i], gaz.name_of(i)) for i in chain if area is None or i in area]
    has_children = {p for p in rows if gaz.children(p)}
    return render(
        "overview.html",
        heads=table(fig, gaz, heads, show_small=show_small, area=area),
        rows=table(fig, gaz, rows, show_small=show_small, area=area),
        has_children=has_children,
        level=level,
        trail=trail,
        current=pcode,
        k=K_MIN,
        levels=("region", "cercle", "commune"),
        unreached=unreached,
    )


def unreached_count(session: Session, area: set[int] | None) -> int:
    """Alerts not closed that reached nobody (no SMS to any member), in the area."""
    query = (
        select(func.count())
        .select_from(Alert)
        .where(Alert.state != AlertState.CLOSED, Alert.recipients == 0)
    )
    if area is not None:
        query = query.where(Alert.locality_id.in_(area))
    return int(session.scalar(query) or 0)
