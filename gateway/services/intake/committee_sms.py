"""Committee members answering alerts by SMS: `OK A123` acknowledges, `CLOS A123`
closes with how it ended (`CLOS A123 FAUX`; a bare `CLOS A123` is answered with the
outcomes to choose from, and nothing is recorded). Only a member of a committee
covering the alert's locality can; anyone else gets a clear answer and nothing
changes."""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.domain.sms_grammar import Command, Intent
from gateway.domain.text import fold
from gateway.gazetteer.index import gazetteer
from gateway.models import Alert, AlertState, Committee, CommitteeMember, Outcome
from gateway.services.alerts import lifecycle as alert_actions
from gateway.services.intake.conversation import Conversation, Pending, PendingIntent

# Words after `CLOS A123` that say how it ended. Without one the member is asked: the
# outcome counts are what admins tune thresholds with, so none is recorded by default.
OUTCOME_WORDS: dict[str, alert_actions.CloseOutcome] = {
    "resolu": "resolved",
    "resolue": "resolved",
    "resolved": "resolved",
    "traite": "resolved",
    "traitee": "resolved",
    "faux": "false_alarm",
    "fausse": "false_alarm",
    "false": "false_alarm",
    "confirme": "confirmed",
    "confirmed": "confirmed",
    "vrai": "confirmed",
    "true": "confirmed",
}


def _memberships(convo: Conversation) -> list[tuple[CommitteeMember, int | None]]:
    """The sender's active memberships, with each committee's locality (None for a
    national committee, which covers every alert)."""
    phone_hash = convo.rt.pseudonyms.pseudonym(convo.e164)
    rows = convo.session.execute(
        select(CommitteeMember, Committee.locality_id)
        .join(Committee, Committee.id == CommitteeMember.committee_id)
        .where(
            CommitteeMember.phone_hash == phone_hash,
            CommitteeMember.active.is_(True),
            Committee.active.is_(True),
        )
        .order_by(CommitteeMember.id)
    ).all()
    return [(member, locality_id) for member, locality_id in rows]


def _alert_and_member(
    convo: Conversation, command: Command
) -> tuple[Alert, CommitteeMember] | None:
    memberships = _memberships(convo)
    if not memberships:
        convo.say("not_committee")
        return None
    code = command.alert_code and as_alert_code(command.alert_code)
    if not code:
        convo.say("alert_code_missing")
        return None
    # Locked: of two members answering at once, the second reads what the first did.
    alert = convo.session.scalar(select(Alert).where(Alert.code == code).with_for_update())
    if alert is None:
        _unknown_code(convo, code, memberships)
        return None
    covering = set(gazetteer(convo.rt).chain(alert.locality_id))
    member = next(
        (m for m, loc in memberships if loc is None or loc in covering),
        None,
    )
    if member is None:
        convo.say("alert_not_yours", code=code)
        return None
    convo.lang = member.language
    return alert, member


def acknowledge(convo: Conversation, command: Command) -> Outcome:
    found = _alert_and_member(convo, command)
    if found is None:
        return Outcome.REJECTED
    alert, member = found
    if alert.state == AlertState.ACKNOWLEDGED:  # said so, not thanked again; no one named
        convo.say("alert_already_acknowledged", code=alert.code)
        return Outcome.PROCESSED
    try:
        alert_actions.acknowledge(convo.session, alert.id, f"member:{member.id}", convo.now)
    except alert_actions.AlertActionError:
        convo.say("alert_already_closed", code=alert.code)
        return Outcome.REJECTED
    convo.say("alert_acknowledged", code=alert.code)
    return Outcome.PROCESSED


def close(convo: Conversation, command: Command) -> Outcome:
    """`CLOS A123 FAUX|VRAI|RESOLU`; a bare `CLOS A123` asks how it ended, and the
    outcome word alone then completes it."""
    found = _alert_and_member(convo, command)
    if found is None:
        return Outcome.REJECTED
    alert, member = found
    outcome = outcome_in(command.free_text or "")
    if outcome is None:
        if alert.state == AlertState.CLOSED:
            convo.say("alert_already_closed", code=alert.code)
            return Outcome.REJECTED
        convo.say("alert_close_how", code=alert.code)
        convo.set_pending(Pending(PendingIntent.CLOSING, code=alert.code))
        return Outcome.PROCESSED
    try:
        alert_actions.close(convo.session, alert.id, f"member:{member.id}", outcome, convo.now)
    except alert_actions.AlertActionError:
        convo.say("alert_already_closed", code=alert.code)
        return Outcome.REJECTED
    named = convo.rt.reference.catalogues.render(convo.lang, f"outcome_{outcome}")
    convo.say("alert_closed_outcome", code=alert.code, outcome=named)
    return Outcome.PROCESSED


def completes_close(convo: Conversation, pending: Pending, text: str) -> Outcome | None:
    """The outcome word answering a bare `CLOS A123` closes the alert (None, the
    question dropped, when the message holds no outcome word)."""
    convo.clear_pending()
    if outcome_in(text) is None:
        return None
    return close(convo, Command(intent=Intent.CLOSE, alert_code=pending.code, free_text=text))


def outcome_in(text: str) -> alert_actions.CloseOutcome | None:
    """The first outcome word of `text`, a 0 typed for an O forgiven ("res0lu"), as
    the grammar forgives "CL0S"."""
    for word in fold(text).split():
        mended = word if word.isdigit() else word.replace("0", "o")
        if mended in OUTCOME_WORDS:
            return OUTCOME_WORDS[mended]
    return None


# What a member is reminded of: the codes of their open alerts, a few at most.
SHOWN_CODES = 4
ALERT_CODE = re.compile(r"^[A-Z][0-9]{1,6}$")


def as_alert_code(typed: str) -> str:
    """The alert code a member meant: "104" and "A0104" are A104, since every code is
    `A` and a number (`lifecycle.next_code`); anything else is left as typed."""
    letter, digits = (typed[:1], typed[1:]) if typed[:1].isalpha() else ("A", typed)
    if not digits.isdigit():
        return typed
    return f"{letter.upper()}{int(digits)}"


def members_among(session: Session, phone_hashes: Collection[str]) -> dict[str, str]:
    """Which of these numbers' hashes are active members of an active committee, each
    with the language of its first membership: not citizens, so no citizen privacy
    notice, the committee help when unclear, and every reply in that language (one
    statement for a batch of senders)."""
    if not phone_hashes:
        return {}
    rows = session.execute(
        select(CommitteeMember.phone_hash, CommitteeMember.language)
        .join(Committee, Committee.id == CommitteeMember.committee_id)
        .where(
            CommitteeMember.phone_hash.in_(sorted(phone_hashes)),
            CommitteeMember.active.is_(True),
            Committee.active.is_(True),
        )
        .order_by(CommitteeMember.id.desc())
    )
    return {phone_hash: language for phone_hash, language in rows}  # the first one last


def set_member_language(convo: Conversation, lang: str) -> None:
    """`LANGUE EN` from a member: every membership of theirs speaks it, alerts included."""
    for member, _ in _memberships(convo):
        member.language = lang


def committee_help(convo: Conversation) -> Outcome:
    """`OK`, `AIDE` or anything unclear from a member: their open alerts' codes and how
    to acknowledge and close them."""
    memberships = _memberships(convo)
    codes = _open_codes(convo, memberships)
    if codes:
        convo.say("committee_help", codes=codes)
    else:
        convo.say("committee_help_none")
    return Outcome.HELP


def _unknown_code(
    convo: Conversation, code: str, memberships: Sequence[tuple[CommitteeMember, int | None]]
) -> None:
    # Only a code's shape is quoted back, never other words the sender typed.
    shown = code if ALERT_CODE.match(code) else "?"
    codes = _open_codes(convo, memberships)
    if codes:
        convo.say("alert_unknown_open", code=shown, codes=codes)
    else:
        convo.say("alert_unknown", code=shown)


def _open_codes(
    convo: Conversation, memberships: Sequence[tuple[CommitteeMember, int | None]]
) -> str:
    """The codes of the alerts not closed in the member's areas, newest first."""
    areas = {locality_id for _, locality_id in memberships}
    gaz = gazetteer(convo.rt)
    alerts = convo.session.execute(
        select(Alert.code, Alert.locality_id)
        .where(Alert.state != AlertState.CLOSED)
        .order_by(Alert.id.desc())
    ).all()
    codes = [
        code for code, locality_id in alerts if None in areas or areas & set(gaz.chain(locality_id))
    ]
    more = f" +{len(codes) - SHOWN_CODES}" if len(codes) > SHOWN_CODES else ""
    return " ".join(codes[:SHOWN_CODES]) + more
