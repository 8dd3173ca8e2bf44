"""The overview (/console/): the nation, then its regions; ?area= drills down to a
region's cercles and a cercle's communes. Small cells are suppressed (see stats)."""

from __future__ import annotations

from flask import abort, request
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gateway.console import glance
from gateway.console.access import area_of, current_user, runtime, with_descendants
from gateway.console.blueprint import bp
from gateway.console.brief_views import committee_of, last_digest
from gateway.console.i18n import language
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


def open_alerts(session: Session, area: set[int] | None, limit: int = 8) -> list[Alert]:
    """The alerts not closed, most severe and newest first, within the viewer's area."""
    query = select(Alert).where(Alert.state != AlertState.CLOSED)
    if area is not None:
        query = query.where(Alert.locality_id.in_(area))
    order = (Alert.severity.desc(), Alert.opened_at.desc(), Alert.id.desc())
    return list(session.scalars(query.order_by(*order).limit(limit)))


def all_below(gaz: Gazetteer, pcodes: list[str]) -> list[str]:
    """Every cercle and commune under `pcodes` (where the largest falls are looked for)."""
    out, todo = [], list(pcodes)
    while todo:
        kids = [c.pcode for c in gaz.children(todo.pop())]
        out.extend(kids)
        todo.extend(kids)
    return out


@bp.route("/")
def overview() -> str:
    rt = runtime()
    user = current_user()
    gaz = gazetteer(rt)
    show_small = user.role == Role.ADMIN
    now = rt.now()
    with rt.sessions() as session:
        area = area_of(user, session)
        fig = figures(session, rt, now)
        unreached = unreached_count(session, area)
        pcode = chosen_area(gaz, area)
        if pcode is None:
            heads = [NATIONAL] if area is None else top_pcodes(gaz, area)[:1]
            rows = (
                top_pcodes(gaz, area)
                if area is None
                else [c.pcode for c in gaz.children(heads[0])]
                if heads
                else []
            )
            level = (
                "region"
                if area is None
                else CHILD_LEVEL.get(gaz.entry(gaz.ids[heads[0]]).kind, "")
                if heads
                else ""
            )
            trail: list[tuple[str, str]] = []
        else:
            heads = [pcode]
            rows = [c.pcode for c in gaz.children(pcode)]
            entry = gaz.entry(gaz.ids[pcode])
            level = CHILD_LEVEL.get(entry.kind, "")
            chain = list(reversed(gaz.chain(gaz.ids[pcode])))
            trail = [(gaz.pcodes[i], gaz.name_of(i)) for i in chain if area is None or i in area]
        focus = heads[0] if heads else None
        charts = glance.series(session, rt, [*heads, *rows], now, show_small)
        results = glance.questions(session, rt, focus, now, show_small, language()) if focus else []
        scope = with_descendants(rt, [gaz.ids[focus]]) if focus and focus != NATIONAL else area
        alerts = open_alerts(session, scope)
        committee = committee_of(session, user) if pcode is None else None
        home = (
            {"name": committee.name, "digest": last_digest(session, committee.id, language())}
            if committee is not None
            else None
        )
    below = table(
        fig,
        gaz,
        all_below(gaz, heads if focus != NATIONAL else rows),
        show_small=show_small,
        area=area,
    )
    has_children = {p for p in rows if gaz.children(p)}
    return render(
        "overview.html",
        heads=table(fig, gaz, heads, show_small=show_small, area=area),
        rows=table(fig, gaz, rows, show_small=show_small, area=area),
        charts={p: glance.sparkline(points) for p, points in charts.items()},
        results=results,
        falls=glance.falls(below),
        home=home,
        alerts=alerts,
        names={a.locality_id: gaz.name_of(a.locality_id) for a in alerts},
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
