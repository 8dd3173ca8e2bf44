"""URGENT by SMS: people in danger now.

A USSD report asks "are people in danger now?"; an SMS says it with URGENT (DANGER,
SOS, ... in `keywords.json`). `URGENT R7SD3K` marks a report the sender made before,
a bare `URGENT` their latest one of the last hours (or the report they are completing);
`URGENT Menaka hommes armes` is a new report with people in danger. Either way the
incident's `danger_now` is set and the urgent check (`alerts/urgent.py`, every few
seconds) takes it from there, exactly as for the USSD caller's "yes". Only the sender's
own reports can be marked, and only once; the answer to a code that is not theirs does
not say whether it exists. No reply quotes what the sender wrote.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from sqlalchemy import select

from gateway.domain.sms_grammar import Command, split_locality
from gateway.gazetteer.index import gazetteer
from gateway.models import Incident, Outcome
from gateway.services.alerts.urgent import URGENT_LOOKBACK
from gateway.services.intake.completion import complete
from gateway.services.intake.conversation import Conversation, Pending, PendingIntent
from gateway.services.intake.locating import resolve, settle
from gateway.services.intake.places import score
from gateway.services.intake.routing import emergency_number, in_danger_told

# A report can be marked this long after it was made: the urgent check looks back
# URGENT_LOOKBACK, and the hour between leaves it time to run (a clock restarting)
# before the report falls out of its reach, so a "committee told" is never left unkept.
FLAG_WITHIN = URGENT_LOOKBACK - dt.timedelta(hours=1)
WAITING = (PendingIntent.INCIDENT, PendingIntent.OFFERED_INCIDENT)


def urgent(convo: Conversation, command: Command) -> Outcome:
    """URGENT + a code, URGENT + place and words, or URGENT alone."""
    if command.ref_code is not None:
        return _flag_code(convo, command.ref_code)
    if command.free_text:
        return _new_report(convo, command.free_text, command.incident_kind or "other")
    return _bare(convo)


def is_bare(command: Command) -> bool:
    """URGENT with nothing after it: about the report just made or being made."""
    return command.ref_code is None and not command.free_text


def _new_report(convo: Conversation, words: str, kind: str) -> Outcome:
    """An incident with people in danger now; its place as for INCIDENT (the words,
    else the sender's home, else asked)."""
    gaz = gazetteer(convo.rt)
    skip = convo.rt.reference.grammar.prepositions
    place, text = split_locality(words, lambda t: score(gaz, t), skip=skip)
    pending = Pending(PendingIntent.INCIDENT, kind=kind, text=text or None, danger=True)
    if place:
        resolve(convo, place, pending)
    elif convo.reporter.home_locality_id is not None:
        complete(convo, pending, gaz.pcodes[convo.reporter.home_locality_id])
    else:
        _ask_place(convo, pending)
    return Outcome.PROCESSED


def _bare(convo: Conversation) -> Outcome:
    """The report being completed (waiting for its place, or offered for OUI) takes
    the danger; else the sender's latest report of the last FLAG_WITHIN hours."""
    pending = convo.pending()
    if pending is not None and pending.intent in WAITING:
        pending = replace(pending, danger=True)
        if pending.intent is PendingIntent.OFFERED_INCIDENT and pending.pcode is not None:
            settle(convo, pending, pending.pcode)
        else:
            _ask_place(convo, replace(pending, intent=PendingIntent.INCIDENT))
        return Outcome.PROCESSED
    latest = convo.session.scalar(
        select(Incident)
        .where(
            Incident.reporter_id == convo.reporter.id,
            Incident.reported_at >= convo.now - FLAG_WITHIN,
        )
        .order_by(Incident.reported_at.desc(), Incident.id.desc())
        .limit(1)
    )
    if latest is None:
        convo.say("urgent_ask", number=_number(convo, None))
        return Outcome.PROCESSED
    return _flag(convo, latest)


def _flag_code(convo: Conversation, code: str) -> Outcome:
    row = convo.session.scalar(
        select(Incident).where(Incident.ref_code == code, Incident.reporter_id == convo.reporter.id)
    )
    if row is None:  # unknown, or someone else's: the same answer, nothing changed
        convo.say("urgent_unknown", number=_number(convo, None))
        return Outcome.REJECTED
    return _flag(convo, row)


def _flag(convo: Conversation, incident: Incident) -> Outcome:
    """Mark the sender's own report: people in danger now, once."""
    number = _number(convo, incident.locality_id)
    code = incident.ref_code
    if incident.danger_now:
        convo.say("urgent_already", code=code, number=number)
        return Outcome.PROCESSED
    if incident.reported_at < convo.now - FLAG_WITHIN:
        convo.say("urgent_too_old", code=code, number=number)
        return Outcome.PROCESSED
    incident.danger_now = True  # the urgent check picks it up at its next run
    gaz = gazetteer(convo.rt)
    where = incident.locality_id
    told = in_danger_told(convo.rt, convo.session, gaz, incident.kind, where, burst=incident.burst)
    convo.say(f"urgent_flagged{told}", code=code, number=number)
    return Outcome.PROCESSED


def _ask_place(convo: Conversation, pending: Pending) -> None:
    convo.set_pending(pending)  # any choices listed before still hold
    convo.say("urgent_ask_place", number=_number(convo, None))


def _number(convo: Conversation, locality_id: int | None) -> str:
    """The number to call there; without a place, at the sender's home."""
    where = locality_id if locality_id is not None else convo.reporter.home_locality_id
    return emergency_number(convo.rt, gazetteer(convo.rt), where)
