"""Incidents: kind, place, coarse time, danger. The free text is never on the list;
an admin asks for one report's text with a POST, and each reading is audited."""

from __future__ import annotations

from flask import abort
from sqlalchemy import select

from gateway.console.access import actor, area_of, current_user, require, runtime
from gateway.console.blueprint import bp
from gateway.console.pages import PAGE_SIZE, page_number, render
from gateway.crypto import DecryptionError
from gateway.db import transaction
from gateway.gazetteer.index import gazetteer
from gateway.models import Incident, Role
from gateway.services import audit


@bp.route("/incidents")
def incidents() -> str:
    rt = runtime()
    number = page_number()
    with rt.sessions() as session:
        query = select(Incident)
        area = area_of(current_user(), session)
        if area is not None:
            query = query.where(Incident.locality_id.in_(area))
        rows = session.scalars(
            query.order_by(Incident.reported_at.desc(), Incident.id.desc())
            .offset((number - 1) * PAGE_SIZE)
            .limit(PAGE_SIZE + 1)
        ).all()
    places = gazetteer(rt)
    return render(
        "incidents.html",
        incidents=rows[:PAGE_SIZE],
        names={i.locality_id: places.name_of(i.locality_id) for i in rows},
        page=number,
        more=len(rows) > PAGE_SIZE,
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
