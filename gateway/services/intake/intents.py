"""What each SMS keyword does. Every handler takes the conversation and the parsed
command, changes what it must, queues its replies with `convo.say`, and returns the
outcome kept on the inbound message."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from sqlalchemy import select

from gateway.domain.sms_grammar import Command, Intent, split_locality
from gateway.domain.text import fold
from gateway.gazetteer.index import gazetteer
from gateway.models import Incident, Outcome
from gateway.services.intake import committee_sms, reports
from gateway.services.intake.conversation import Conversation

PENDING_FOR = dt.timedelta(days=1)
REF_CODE = re.compile(r"^R[A-Z0-9]{5}$")


def dispatch(convo: Conversation, command: Command, text: str) -> Outcome:
    reporter = convo.reporter
    if command.intent is Intent.STOP:
        return stop(convo)
    if reporter.opted_out and command.intent is Intent.UNKNOWN:
        return Outcome.REJECTED
    reporter.opted_out = False  # writing a keyword again re-opens replies
    if command.language and reporter.language is None:
        reporter.language = command.language
    pending = _active_pending(convo)
    if pending and _answers_pending(convo, pending, command, text):
        return Outcome.PROCESSED
    handler = HANDLERS.get(command.intent)
    if handler is None:
        convo.say("help")
        return Outcome.HELP
    return handler(convo, command)


def _active_pending(convo: Conversation) -> dict[str, Any] | None:
    r = convo.reporter
    if r.pending and r.pending_until and r.pending_until > convo.now:
        return r.pending
    return None


def _set_pending(convo: Conversation, **state: Any) -> None:
    convo.reporter.pending = state
    convo.reporter.pending_until = convo.now + PENDING_FOR


def _clear_pending(convo: Conversation) -> None:
    convo.reporter.pending = None
    convo.reporter.pending_until = None


def _answers_pending(
    convo: Conversation, pending: dict[str, Any], command: Command, text: str
) -> bool:
    """A reply to "which locality?": a number from the list, or a name typed again."""
    gaz = gazetteer(convo.rt)
    choices: list[str] = pending.get("choices", [])
    if command.choice is not None and choices:
        n = command.choice
        if not 1 <= n <= len(choices):
            _ask_choice(convo, choices)
            return True
        _complete(convo, pending, gaz.id_of(choices[n - 1]))
        return True
    if command.intent is not Intent.UNKNOWN:
        return False
    _resolve(convo, text, pending)
    return True


def _resolve(convo: Conversation, text: str, pending: dict[str, Any]) -> int | None:
    """Resolve `text` to a locality and complete `pending`, or ask again and keep it."""
    gaz = gazetteer(convo.rt)
    resolution = gaz.resolve(text)
    best = resolution.best
    if resolution.status == "found" and best is not None:
        locality_id = gaz.id_of(best.pcode)
        typed = best.via.split(" (")[0]
        shown = best.name if fold(typed) == fold(best.name) else f"{typed} ({best.name})"
        _complete(convo, pending, locality_id, shown)
        return locality_id
    if resolution.status == "ambiguous":
        choices = [c.pcode for c in resolution.candidates[:3]]
        _set_pending(convo, **{**pending, "choices": choices})
        _ask_choice(convo, choices)
        return -1
    _set_pending(convo, **{**pending, "choices": []})
    convo.say("locality_unknown", text=text.strip())
    return -1


def _ask_choice(convo: Conversation, choices: list[str]) -> None:
    gaz = gazetteer(convo.rt)
    labels = {f"choice{i}": _label(gaz, pcode) for i, pcode in enumerate(choices, start=1)}
    convo.say(f"locality_ambiguous_{len(choices)}", **labels)


def _label(gaz: Any, pcode: str) -> str:
    entry = gaz.index.by_pcode(pcode)
    parents = gaz.index.ancestors(pcode)
    return f"{entry.name} ({parents[0].name})"[:40] if parents else entry.name[:40]


def _complete(
    convo: Conversation, pending: dict[str, Any], locality_id: int, shown: str | None = None
) -> None:
    """Carry out what was waiting for a locality; `shown` is how the reply names it
    (the town typed and its commune, e.g. "Sevare (Mopti)")."""
    _clear_pending(convo)
    intent = pending.get("intent")
    shown = shown or gazetteer(convo.rt).name_of(locality_id)
    if intent == "trust":
        _store_rating(convo, int(pending["rating"]), locality_id, shown)
    elif intent == "incident":
        text = convo.rt.vault.decrypt(pending["text_enc"]) if pending.get("text_enc") else None
        _store_incident(convo, locality_id, pending.get("kind") or "other", text, shown)
    elif intent == "place":
        convo.reporter.home_locality_id = locality_id
        convo.say("place_set", place=shown)
    elif intent == "join":
        reports.subscribe(
            convo.session, convo.rt, convo.reporter, convo.e164, locality_id, convo.now
        )
        convo.say("joined", place=shown)


def _locality_or_ask(convo: Conversation, text: str | None, pending: dict[str, Any]) -> None:
    """Use the typed locality, else the reporter's home, else ask for it."""
    if text and text.strip():
        _resolve(convo, text, pending)
        return
    home = convo.reporter.home_locality_id
    if home is not None and pending["intent"] != "place":
        _complete(convo, pending, home)
        return
    _set_pending(convo, **pending, choices=[])
    convo.say("join_ask" if pending["intent"] == "join" else "locality_ask")


def trust(convo: Conversation, command: Command) -> Outcome:
    if command.rating is None or command.rating_error:
        convo.say("rating_missing" if command.rating_error == "missing" else "rating_out_of_range")
        return Outcome.PROCESSED
    _locality_or_ask(convo, command.locality_text, {"intent": "trust", "rating": command.rating})
    return Outcome.PROCESSED


def _store_rating(convo: Conversation, value: int, locality_id: int, shown: str) -> None:
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


def incident(convo: Conversation, command: Command) -> Outcome:
    rest = (command.free_text or "").strip()
    if not rest:
        convo.say("incident_ask_details")
        return Outcome.PROCESSED
    first, _, after = rest.partition(" ")
    if REF_CODE.match(first.upper()) and _add_text(convo, first.upper(), after):
        return Outcome.PROCESSED
    gaz = gazetteer(convo.rt)
    place, free_text = split_locality(
        rest,
        lambda t: gaz.resolve(t).status != "unknown",
        skip=convo.rt.reference.grammar.prepositions,
    )
    pending = {
        "intent": "incident",
        "kind": command.incident_kind or "other",
        "text_enc": convo.rt.vault.encrypt(free_text) if free_text else None,
    }
    _locality_or_ask(convo, place, pending)
    return Outcome.PROCESSED


def _add_text(convo: Conversation, code: str, text: str) -> bool:
    """`INCIDENT R4K7Q2 what happened`: free text for a report made by USSD."""
    row = convo.session.scalar(
        select(Incident).where(Incident.ref_code == code, Incident.reporter_id == convo.reporter.id)
    )
    if row is None or not text.strip():
        return False
    row.text_enc = convo.rt.vault.encrypt(text.strip())
    convo.say("incident_text_added", code=code)
    return True


def _store_incident(
    convo: Conversation, locality_id: int, kind: str, text: str | None, shown: str
) -> None:
    code = reports.record_incident(
        convo.session,
        convo.rt,
        convo.reporter,
        kind=kind,
        locality_id=locality_id,
        occurred="today",
        danger_now=False,
        text=text,
        source="sms",
        source_ref=convo.source_ref,
        ref_code=reports.new_ref_code(),
        now=convo.now,
    )
    if code is not None:
        convo.say("incident_received", code=code, place=shown)


def place(convo: Conversation, command: Command) -> Outcome:
    _locality_or_ask(convo, command.locality_text, {"intent": "place"})
    return Outcome.PROCESSED


def join(convo: Conversation, command: Command) -> Outcome:
    text = command.locality_text
    if not (text and text.strip()) and convo.reporter.home_locality_id is not None:
        _complete(convo, {"intent": "join"}, convo.reporter.home_locality_id)
        return Outcome.PROCESSED
    _locality_or_ask(convo, text, {"intent": "join"})
    return Outcome.PROCESSED


def stop(convo: Conversation) -> Outcome:
    """STOP: no message of any kind to this number but this confirmation; the number
    kept for information messages is erased."""
    convo.reporter.opted_out = True
    _clear_pending(convo)
    reports.unsubscribe(convo.session, convo.reporter)
    convo.replies.clear()
    convo.say("stopped")
    convo.final_only = True
    return Outcome.PROCESSED


def language(convo: Conversation, command: Command) -> Outcome:
    if command.lang_code is None:
        convo.say("language_unknown")
        return Outcome.HELP
    convo.reporter.language = command.lang_code
    convo.lang = command.lang_code
    convo.say("language_changed")
    return Outcome.PROCESSED


def help_(convo: Conversation, command: Command) -> Outcome:
    convo.say("help")
    return Outcome.PROCESSED


HANDLERS = {
    Intent.TRUST: trust,
    Intent.INCIDENT: incident,
    Intent.PLACE: place,
    Intent.JOIN: join,
    Intent.LANG: language,
    Intent.HELP: help_,
    Intent.ACK: committee_sms.acknowledge,
    Intent.CLOSE: committee_sms.close,
}
