"""Carrying out what waited for a locality: a rating, an incident, a home, a
subscription. The one place that stores what an SMS reported, and the only one that
tells the reporter who will hear of an incident (only when someone will)."""

from __future__ import annotations

from sqlalchemy import select

from gateway.gazetteer.index import gazetteer
from gateway.models import Incident
from gateway.services.intake import reports
from gateway.services.intake.conversation import Conversation, Pending, PendingIntent
from gateway.services.intake.places import confirmation
from gateway.services.intake.routing import (
    emergency_number,
    in_danger_told,
    someone_will_be_told,
)


def complete(convo: Conversation, pending: Pending, pcode: str, shown: str | None = None) -> None:
    """Carry out `pending` for the locality `pcode`; `shown` is how the reply names it
    (the town typed and its commune, "Sevare (Mopti)"; else the commune and its cercle)."""
    convo.clear_pending()
    gaz = gazetteer(convo.rt)
    locality_id = gaz.id_of(pcode)
    shown = shown or confirmation(gaz, pcode)
    intent = pending.intent
    if intent is PendingIntent.TRUST and pending.rating is not None:
        store_rating(convo, pending.rating, locality_id, shown)
    elif intent in (PendingIntent.INCIDENT, PendingIntent.OFFERED_INCIDENT):
        kind = pending.kind or "other"
        store_incident(convo, locality_id, kind, pending.text, shown, danger=pending.danger)
    elif intent is PendingIntent.PLACE:
        convo.reporter.home_locality_id = locality_id
        convo.say("place_set", place=shown)
    elif intent is PendingIntent.JOIN:
        reports.subscribe(
            convo.session, convo.rt, convo.reporter, convo.e164, locality_id, convo.now
        )
        convo.say("joined", place=shown)


def store_rating(convo: Conversation, value: int, locality_id: int, shown: str) -> None:
    reports.record_ratings(
        convo.session,
        convo.reporter,
        locality_id,
        [(convo.rt.reference.primary_question, value)],
        source="sms",
        source_ref=convo.source_ref,
        now=convo.now,
    )
    if convo.reporter.home_locality_id is None:
        convo.reporter.home_locality_id = locality_id
    convo.say("thanks_rating", place=shown, rating=value)


def store_incident(
    convo: Conversation,
    locality_id: int,
    kind: str,
    text: str | None,
    shown: str,
    *,
    danger: bool = False,
) -> None:
    """Store an SMS incident and say so, with its code; one with people in danger now
    (URGENT) also gives the number to call, and says a committee is told only when
    the urgent check will tell one."""
    report = reports.IncidentReport(
        kind=kind,
        locality_id=locality_id,
        occurred="today",
        danger_now=danger,
        text=text,
        source="sms",
        source_ref=convo.source_ref,
        ref_code=reports.new_ref_code(),
    )
    code = reports.record_incident(convo.session, convo.rt, convo.reporter, report, convo.now)
    if code is None:
        return
    if danger:
        _say_in_danger(convo, code, kind, locality_id, shown)
        return
    told = someone_will_be_told(convo.session, gazetteer(convo.rt), locality_id, urgent=False)
    convo.say("incident_received_told" if told else "incident_received", code=code, place=shown)


def _say_in_danger(convo: Conversation, code: str, kind: str, locality_id: int, shown: str) -> None:
    gaz = gazetteer(convo.rt)
    burst = convo.session.scalar(select(Incident.burst).where(Incident.ref_code == code))
    told = in_danger_told(convo.rt, convo.session, gaz, kind, locality_id, burst=bool(burst))
    number = emergency_number(convo.rt, gaz, locality_id)
    convo.say(f"urgent_received{told}", code=code, place=shown, number=number)
