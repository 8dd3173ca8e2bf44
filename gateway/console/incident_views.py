"""Incidents: kind, place, coarse time, danger. The free text is never on the list;
an admin asks for one report's text with a POST, and each reading is audited."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from flask import abort, request
from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from gateway.console.access import actor, area_page, current_user, require, runtime
from gateway.console.alert_views import place_and_days
from gateway.console.blueprint import bp
from gateway.console.pages import parse_day, render
from gateway.crypto import DecryptionError
from gateway.db import transaction
from gateway.domain.sms_grammar import INCIDENT_KINDS
from gateway.gazetteer.index import gazetteer
from gateway.models import Incident, Role
from gateway.runtime import Runtime
from gateway.services import audit


@dataclass(frozen=True)
class IncidentFilters:
    kind: str
    place: str
    since: dt.date | None
    until: dt.date | None
    danger: str  # "yes", "no" or "" for both

    @classmethod
    def from_request(cls) -> IncidentFilters:
        args = request.args
        kind = args.get("kind", "")
        danger = args.get("danger", "")
        return cls(
            kind=kind if kind in INCIDENT_KINDS else "",
            place=args.get("place", "").strip()[:120],
            since=parse_day(args.get("since")),
            until=parse_day(args.get("until")),
            danger=danger if danger in ("yes", "no") else "",
        )

    def apply(self, query: Select[Any], session: Session, rt: Runtime) -> Select[Any]:
        if self.kind:
            query = query.where(Incident.kind == self.kind)
        if self.danger:
            query = query.where(Incident.danger_now.is_(self.danger == "yes"))
        days = (Incident.reported_at, self.since, self.until)
        return place_and_days(query, (session, rt, self.place), Incident.locality_id, days)


@bp.route("/incidents")
def incidents() -> str:
    rt = runtime()
    f = IncidentFilters.from_request()
    with rt.sessions() as session:
        query = f.apply(select(Incident), session, rt)
        order = (Incident.reported_at.desc(), Incident.id.desc())
        page = area_page(session, query, Incident.locality_id, *order)
    places = gazetteer(rt)
    return render(
        "incidents.html",
        incidents=page.rows,
        names={i.locality_id: places.name_of(i.locality_id) for i in page.rows},
        filters=f,
        kinds=INCIDENT_KINDS,
        page=page.number,
        more=page.more,
    )


@bp.route("/incidents/<int:incident_id>/text", methods=["POST"])
@require(Role.ADMIN)
def incident_text(incident_id: int) -> str:
    rt = runtime()
    with transaction(rt.sessions) as session:
        incident = session.get(Incident, incident_id)
        if incident is None:
            abort(404)
        try:
            text = rt.vault.decrypt(incident.text_enc) if incident.text_enc else None
        except DecryptionError:
            text, unreadable = None, True
        else:
            unreadable = False
        details = {"ref": incident.ref_code, "had_text": incident.text_enc is not None}
        who = actor(current_user())
        audit.record(
            session, who, "incident.text_view", f"incident:{incident_id}", details, rt.now()
        )
    places = gazetteer(rt)
    return render(
        "incident_text.html",
        incident=incident,
        place=places.name_of(incident.locality_id),
        text=text,
        unreadable=unreadable,
    )
