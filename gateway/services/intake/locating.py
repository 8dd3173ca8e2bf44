"""Asking for, and understanding, the locality a pending SMS report needs."""

from __future__ import annotations

from gateway.gazetteer.index import gazetteer
from gateway.services.intake.completion import complete
from gateway.services.intake.conversation import Conversation, Pending, PendingIntent
from gateway.services.intake.places import (
    REPORT_LEVELS,
    choice_label,
    communes_under,
    level,
    offered,
    understood,
)

CHOICES = 3  # the most a one-segment reply lists
CHOICE_WIDTH = 27  # the width of a choice in the catalogue's templates
# What needs a commune or camp: ratings, incidents and a home are about one place.
NEEDS_COMMUNE = frozenset(
    (
        PendingIntent.TRUST,
        PendingIntent.INCIDENT,
        PendingIntent.OFFERED_INCIDENT,
        PendingIntent.PLACE,
    )
)


def resolve(convo: Conversation, text: str, pending: Pending) -> None:
    """Understand `text` as the locality `pending` waits for and carry it out, or ask
    again (choices, or the name once more) and keep it. Never quotes `text` back."""
    gaz = gazetteer(convo.rt)
    resolution = gaz.resolve(text)
    candidates = offered(resolution, CHOICES)
    best = resolution.best
    if resolution.status == "found" and best is not None and candidates:
        place = understood(gaz, best)
        settle(convo, pending, place.pcode, place.shown)
    elif len(candidates) >= 2:
        ask_choice(convo, pending, tuple(c.pcode for c in candidates))
    else:
        convo.set_pending(pending.asking())
        convo.say("locality_unknown")


def settle(convo: Conversation, pending: Pending, pcode: str, shown: str | None = None) -> None:
    """A region or cercle given for a rating or an incident leads on to its communes."""
    gaz = gazetteer(convo.rt)
    if pending.intent not in NEEDS_COMMUNE or level(gaz, pcode) in REPORT_LEVELS:
        complete(convo, pending, pcode, shown)
        return
    communes = communes_under(gaz, pcode)
    if len(communes) == 1:
        complete(convo, pending, communes[0])
    elif 2 <= len(communes) <= CHOICES:
        ask_choice(convo, pending, tuple(communes))
    else:
        convo.set_pending(pending.asking())
        convo.say("locality_need_commune", place=gaz.name_of(gaz.id_of(pcode)))


def ask_choice(convo: Conversation, pending: Pending, choices: tuple[str, ...]) -> None:
    gaz = gazetteer(convo.rt)
    convo.set_pending(pending.asking(choices))
    labels = {
        f"choice{i}": choice_label(gaz, pcode, _level_word(convo, pcode), CHOICE_WIDTH)
        for i, pcode in enumerate(choices, start=1)
    }
    convo.say(f"locality_ambiguous_{len(choices)}", **labels)


def _level_word(convo: Conversation, pcode: str) -> str:
    kind = level(gazetteer(convo.rt), pcode) or "commune"
    return convo.rt.reference.catalogues.render(convo.lang, f"level_{kind}")


def choose(convo: Conversation, pending: Pending, n: int) -> None:
    """The reporter answered `n` to the list they were sent."""
    if not 1 <= n <= len(pending.choices):
        ask_choice(convo, pending, pending.choices)
        return
    settle(convo, pending, pending.choices[n - 1])


def locality_or_ask(convo: Conversation, text: str | None, pending: Pending) -> None:
    """Use the typed locality, else the reporter's home, else ask for it."""
    if text and text.strip():
        resolve(convo, text, pending)
        return
    home = convo.reporter.home_locality_id
    if home is not None and pending.intent is not PendingIntent.PLACE:
        complete(convo, pending, gazetteer(convo.rt).pcodes[home])
        return
    convo.set_pending(pending.asking())
    convo.say("join_ask" if pending.intent is PendingIntent.JOIN else "locality_ask")
