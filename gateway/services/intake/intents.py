"""What each SMS keyword does. Every handler takes the conversation and the parsed
command, changes what it must, queues its replies with `convo.say`, and returns the
outcome kept on the inbound message."""

from __future__ import annotations

import re
from collections.abc import Callable

from sqlalchemy import select

from gateway.domain.sms_grammar import Command, Intent, split_locality
from gateway.gazetteer.index import gazetteer
from gateway.models import Incident, Outcome
from gateway.services.intake import committee_sms, danger, reports
from gateway.services.intake.conversation import Conversation, Pending, PendingIntent
from gateway.services.intake.locating import choose, locality_or_ask, resolve
from gateway.services.intake.places import score
from gateway.services.intake.unparsed import answer_offer, offer_report, unparsed

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
    if convo.member and command.intent in (Intent.HELP, Intent.UNKNOWN):
        return _member_words(convo, command, text)
    pending = convo.pending()
    if pending is not None and _answers_pending(convo, pending, command, text):
        return Outcome.PROCESSED
    if command.greeting:
        return greeted(convo)
    handler = HANDLERS.get(command.intent)
    if handler is None:
        return unparsed(convo, text)
    return handler(convo, command)


def _member_words(convo: Conversation, command: Command, text: str) -> Outcome:
    """A member's words without a command: the answer to a question asked of them (the
    place of their report, an offered incident), or words that look like a report (a
    member lives in a locality too), or else their committee's help. `OK` alone stays
    the help, whatever was asked."""
    if command.intent is Intent.UNKNOWN:
        pending = convo.pending()
        if pending is not None and pending.intent is PendingIntent.CLOSING:
            closed = committee_sms.completes_close(convo, pending, text)
            if closed is not None:
                return closed
        elif pending is not None and _answers_pending(convo, pending, command, text):
            return Outcome.PROCESSED
        if offer_report(convo, text):
            return Outcome.HELP
    return committee_sms.committee_help(convo)


def _answers_pending(convo: Conversation, pending: Pending, command: Command, text: str) -> bool:
    """A reply to the question we asked: OUI to an offered incident (a bare URGENT
    takes it too, with people in danger: `danger.urgent`); a number from the list; the
    locality however it comes (a bare name, `LIEU name`)."""
    if pending.intent is PendingIntent.CLOSING:
        return False  # only a member's outcome word answers it (`_member_words`)
    urgent_alone = command.intent is Intent.URGENT and danger.is_bare(command)
    if pending.intent is PendingIntent.OFFERED_INCIDENT and not urgent_alone:
        return answer_offer(convo, pending, text)
    if command.choice is not None and pending.choices:
        choose(convo, pending, command.choice)
        return True
    typed_place = command.intent is Intent.PLACE and command.locality_text
    if typed_place and pending.intent is not PendingIntent.PLACE:
        resolve(convo, command.locality_text or "", pending)
        return True
    if command.intent is not Intent.UNKNOWN or command.greeting:
        return False  # a greeting names no place: the question stays open
    resolve(convo, text, pending)
    return True


def trust(convo: Conversation, command: Command) -> Outcome:
    if command.rating is None or command.rating_error:
        convo.say("rating_missing" if command.rating_error == "missing" else "rating_out_of_range")
        return Outcome.PROCESSED
    pending = Pending(PendingIntent.TRUST, rating=command.rating)
    locality_or_ask(convo, command.locality_text, pending)
    return Outcome.PROCESSED


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
        rest, lambda t: score(gaz, t), skip=convo.rt.reference.grammar.prepositions
    )
    kind = command.incident_kind or "other"
    pending = Pending(PendingIntent.INCIDENT, kind=kind, text=free_text or None)
    locality_or_ask(convo, place, pending)
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


def place(convo: Conversation, command: Command) -> Outcome:
    locality_or_ask(convo, command.locality_text, Pending(PendingIntent.PLACE))
    return Outcome.PROCESSED


def join(convo: Conversation, command: Command) -> Outcome:
    locality_or_ask(convo, command.locality_text, Pending(PendingIntent.JOIN))
    return Outcome.PROCESSED


def stop(convo: Conversation) -> Outcome:
    """STOP: no message of any kind to this number but this confirmation; the number
    kept for information messages is erased."""
    convo.reporter.opted_out = True
    convo.clear_pending()
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
    if convo.member:  # a member hears one language: their alerts change too
        committee_sms.set_member_language(convo, command.lang_code)
    convo.say("language_changed")
    return Outcome.PROCESSED


def help_(convo: Conversation, command: Command) -> Outcome:
    convo.say("help")
    return Outcome.PROCESSED


def greeted(convo: Conversation) -> Outcome:
    """A greeting or thanks alone: what she can send, in one SMS. Kept for review as
    the other messages without a keyword, and no report."""
    convo.say("help_short")
    return Outcome.HELP


HANDLERS: dict[Intent, Callable[[Conversation, Command], Outcome]] = {
    Intent.TRUST: trust,
    Intent.INCIDENT: incident,
    Intent.PLACE: place,
    Intent.JOIN: join,
    Intent.LANG: language,
    Intent.HELP: help_,
    Intent.ACK: committee_sms.acknowledge,
    Intent.CLOSE: committee_sms.close,
    Intent.URGENT: danger.urgent,
}
