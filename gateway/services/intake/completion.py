"""Carrying out what waited for a locality: a rating, an incident, a home, a
subscription. The one place that stores what an SMS reported, and the only one that
tells the reporter who will hear of an incident (only when someone will)."""

from __future__ import annotations

from gateway.gazetteer.index import gazetteer
from gateway.services.intake import reports
from gateway.services.intake.conversation import Conversation, Pending, PendingIntent
from gateway.services.intake.places import confirmation
from gateway.services.intake.routing import someone_will_be_told


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
        store_incident(convo, locality_id, pending.kind or "other", pending.text, shown)
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
    convo: Conversation, locality_id: int, kind: str, text: str | None, shown: str
) -> None:
    report = reports.IncidentReport(
        kind=kind,
        locality_id=locality_id,
        occurred="today",
        danger_now=False,
        text=text,
        source="sms",
        source_ref=convo.source_ref,
        ref_code=reports.new_ref_code(),
    )
    code = reports.record_incident(convo.session, convo.rt, convo.reporter, report, convo.now)
    if code is None:
        return
    told = someone_will_be_told(convo.session, gazetteer(convo.rt), locality_id, urgent=False)
    convo.say("incident_received_told" if told else "incident_received", code=code, place=shown)
