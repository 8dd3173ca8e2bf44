"""Words without a keyword. A message that looks like a report (it names a locality
or says what happened) is offered as an incident, to be confirmed with OUI; anything
else is answered "not understood, kept for review", so nobody believes a report was
made when it was not. Nothing the sender wrote is quoted back."""

from __future__ import annotations

from gateway.domain.sms_grammar import best_span, incident_kind, is_answer
from gateway.gazetteer.index import gazetteer
from gateway.models import Outcome
from gateway.services.intake.conversation import Conversation, Pending, PendingIntent
from gateway.services.intake.locating import settle
from gateway.services.intake.places import confirmation, offered, score

# A place named inside free words must be a clear hit (a name, an alias, a town),
# not a near spelling of some village: "armes" is no place.
NAMED_MIN = 0.85
REPORT_WORDS = 4  # with a place but no incident word, a message this long is a report


def unparsed(convo: Conversation, text: str) -> Outcome:
    """Answer a message the grammar did not understand; it stays kept for review."""
    if not offer_report(convo, text):
        convo.say("not_understood")
    return Outcome.HELP


def offer_report(convo: Conversation, text: str) -> bool:
    """Offer words that look like a report as an incident, to be confirmed with OUI
    (False, and nothing said, when they do not look like one)."""
    gaz = gazetteer(convo.rt)
    kind = incident_kind(text, convo.rt.reference.grammar)
    span = best_span(text, lambda run: _named(convo, run))
    words = len(text.split())
    if span is not None and (kind is not None or words >= REPORT_WORDS):
        best = offered(gaz.resolve(span[0]), 1)[0]
        offer = Pending(
            PendingIntent.OFFERED_INCIDENT,
            kind=kind or "other",
            text=text.strip(),
            pcode=best.pcode,
        )
        convo.set_pending(offer)
        convo.say("offer_incident_at", place=confirmation(gaz, best.pcode))
    elif kind is not None:
        convo.set_pending(Pending(PendingIntent.OFFERED_INCIDENT, kind=kind, text=text.strip()))
        convo.say("offer_incident")
    else:
        return False
    return True


def _named(convo: Conversation, run: str) -> float:
    gaz = gazetteer(convo.rt)
    if not gaz.index.is_name(run):  # only exact names: fuzzy matching every run is slow
        return 0.0
    value = score(gaz, run)
    return value if value >= NAMED_MIN else 0.0


def answer_offer(convo: Conversation, pending: Pending, text: str) -> bool:
    """OUI takes the offered incident (asking its place if none was named); NON drops
    it. Anything else drops it too and is handled as a new message (False)."""
    grammar = convo.rt.reference.grammar
    convo.clear_pending()
    if is_answer(text, grammar, yes=True):
        if pending.pcode is not None:
            settle(convo, pending, pending.pcode)
        else:
            convo.set_pending(Pending(PendingIntent.INCIDENT, kind=pending.kind, text=pending.text))
            convo.say("locality_ask")
        return True
    if is_answer(text, grammar, yes=False):
        convo.say("offer_declined")
        return True
    return False
