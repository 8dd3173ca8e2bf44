"""An inbound SMS: stored first and answered at once, understood and answered after.

The webhook stores what the provider sent (encrypted) in its own transaction, so a 200
always means "stored", and answers. A worker (`worker.handle_due`: the clock, `inbound
work`) claims a batch of stored rows from the queue (`inbound_queue`) and handles it
here in a second transaction that holds the rows, so a message is handled once,
however many times it is delivered, and one phone's messages are handled in order. With
SMS_HANDLING=inline the webhook handles the stored row itself before answering.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import random
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.crypto import hide_phone
from gateway.db import DB_UNAVAILABLE, transaction
from gateway.domain.sms_grammar import Command, Intent, parse
from gateway.models import Channel, InboundMessage, OutboxMessage, OutboxStatus, Outcome
from gateway.phones import normalize_phone
from gateway.runtime import Runtime
from gateway.services.intake import intents as sms_intents
from gateway.services.intake.batch import Batch
from gateway.services.intake.conversation import Conversation
from gateway.services.intake.inbound import store_inbound
from gateway.services.intake.inbound_queue import (
    InboundClaim,
    claim_inbound,
    give_back,
    hold_all,
    sender_ref,
)
from gateway.services.outbox import health

log = logging.getLogger(__name__)
MAX_TEXT = 1000
INLINE = "twiml"  # provider name of replies carried in the webhook's answer
# A request's claim on its own SMS: a retry after a cut may take it over once past.
INLINE_LEASE = dt.timedelta(seconds=10)


class PayloadUnavailable(Exception):
    """The stored number and text cannot be read (purged, or DATA_KEY)."""


@dataclass(frozen=True)
class SmsReceipt:
    duplicate: bool
    replies: tuple[str, ...] = ()

    @property
    def reply(self) -> str | None:
        return "\n\n".join(self.replies) if self.replies else None


@dataclass(frozen=True)
class Origin:
    """Where an inbound SMS came from: its provider, the provider's id, the channel."""

    provider: str
    provider_id: str
    channel: str


def receive_sms(
    rt: Runtime,
    *,
    provider: str,
    provider_id: str,
    sender: str,
    text: str,
    inline_reply: bool,
    channel: str | None = None,
    opt_out: Intent | None = None,
    media: int = 0,
    heard_from: str | None = None,
) -> SmsReceipt:
    """Store one inbound SMS, then (SMS_HANDLING=inline only) handle it. Raises
    PhoneError for a refused number and the database's errors when it is unavailable
    (the webhook answers 503). `inline_reply`: the caller can carry replies in its
    answer (TwiML) when the message is handled in the request; otherwise, and always
    when a worker handles it, replies go through the outbox, on `channel` (default:
    the provider's own), the one it came in on. `opt_out` is the
    provider's own reading of the message (Twilio's OptOutType: STOP or HELP), which
    wins over ours, kept with the message for its handling; `media` counts
    attachments (kept as a count only); `heard_from` names a channel whose sign of
    life the message is (a phone relay), noted in the same transaction."""
    e164 = normalize_phone(sender, rt.settings.phone_regions)
    now = rt.now()
    signs = rt.cached("signs_of_life", health.SignsOfLife)
    heard = heard_from if heard_from and not signs.known_alive(heard_from, now) else None
    store = functools.partial(
        store_inbound,
        vault=rt.vault,
        provider=provider,
        provider_id=provider_id,
        channel=Channel.SMS,
        payload={
            "from": e164,
            "text": text[:MAX_TEXT],
            **({"media": str(media)} if media else {}),
            **({"opt_out": opt_out.name} if opt_out else {}),
            **({"channel": channel} if channel else {}),
        },
        now=now,
        sender_ref=sender_ref(rt.pseudonyms, e164),
    )
    seen = None
    if heard:  # with the phone's sign of life, in the same transaction
        with rt.engine.begin() as conn:
            inbound_id = store(conn)
            seen = health.note_seen_now_and_then(conn, heard, now)
    else:  # the INSERT alone, on a DBAPI connection: SQLAlchemy's Connection and
        inbound_id = store(rt.engine)  # statement work cost more CPU than SQLite's
    if heard and seen:
        signs.remember(heard, seen)
    if rt.settings.sms_handling != "inline":
        return SmsReceipt(inbound_id is None)
    return _handle_in_request(rt, inbound_id, provider, provider_id, inline_reply, now)


def _handle_in_request(
    rt: Runtime,
    inbound_id: int | None,
    provider: str,
    provider_id: str,
    inline_reply: bool,
    now: dt.datetime,
) -> SmsReceipt:
    if inbound_id is None:  # a redelivery: handle it if the first delivery could not
        inbound_id = _stored_id(rt, provider, provider_id)
    claims = claim_inbound(rt.sessions, now, only_id=inbound_id, limit=1, lease=INLINE_LEASE)
    if not claims:  # handled, held by another request, or waiting behind this phone's
        with rt.sessions() as session:  # earlier message: a worker handles it in order
            return SmsReceipt(True, _earlier_replies(session, provider, provider_id))
    try:
        replies = handle_claim(rt, claims[0], inline_reply=inline_reply)
    except DB_UNAVAILABLE:
        raise  # 503; the row comes back to the queue when its lease runs out
    except Exception as exc:
        give_up_attempt(rt, claims[0], exc, now)  # the queue retries it; the caller
        return SmsReceipt(False)  # is not failed
    return SmsReceipt(False, tuple(replies or ()) if inline_reply else ())


def handle_claim(
    rt: Runtime, claim: InboundClaim, *, inline_reply: bool = False
) -> list[str] | None:
    """Handle one claimed SMS in one transaction (`handle_claims` of one)."""
    return handle_claims(rt, [claim], inline_reply=inline_reply)[claim.id]


def handle_claims(
    rt: Runtime, claims: Sequence[InboundClaim], *, inline_reply: bool = False
) -> dict[int, list[str] | None]:
    """Handle claimed SMS (of different phones) in one transaction: for each, the
    reporter, the intent, the replies in the outbox, the row released. By claim id:
    the replies, or None when the claim was no longer ours. Raises what a handling
    raises, and then nothing of the batch is kept (the rows stay claimed until the
    caller gives them back or handles them one by one)."""
    readable = [(claim, _payload(rt, claim)) for claim in claims]
    results: dict[int, list[str] | None] = {claim.id: None for claim in claims}
    with transaction(rt.sessions) as session:
        # Not waiting for the disk is safe: the message itself was stored durably by
        # the webhook; a crash that loses this commit loses the whole handling, and
        # the row is handled again when its lease runs out. A reply is only sent after
        # a dispatcher's durable commit, which makes this one durable too (the log is
        # flushed in order). Not so for a reply carried in the webhook's own answer.
        held = hold_all(session, claims, durable=inline_reply)
        mine = [(claim, payload) for claim, payload in readable if claim.id in held]
        if not mine:
            return results
        batch = Batch.prepare(session, rt, [(p["from"], c.received_at) for c, p in mine])
        for claim, payload in mine:
            # The reporters' changes are written once, at the end (Batch.write).
            with session.no_autoflush:
                replies = _handle_claimed(session, rt, batch, claim, payload, inline_reply)
            results[claim.id] = replies
        batch.write(session)
    return results


def _payload(rt: Runtime, claim: InboundClaim) -> dict[str, str]:
    payload = claim.payload(rt.vault)
    if payload is None:
        raise PayloadUnavailable("stored payload unavailable (purged, or DATA_KEY)")
    return payload


def _handle_claimed(
    session: Session,
    rt: Runtime,
    batch: Batch,
    claim: InboundClaim,
    payload: dict[str, str],
    inline_reply: bool,
) -> list[str]:
    e164, text = payload["from"], payload["text"]
    opt_out = Intent[payload["opt_out"]] if payload.get("opt_out") in Intent.__members__ else None
    now = claim.received_at  # a report's time is the time it was received
    source_ref = f"sms:{claim.provider}:{claim.provider_id}"
    replies = _handle(session, rt, batch, e164, text, claim.id, now, source_ref, opt_out)
    origin = Origin(claim.provider, claim.provider_id, payload.get("channel") or claim.provider)
    _deliver(session, batch, replies, e164, origin, inline_reply, now)
    return replies


def give_up_attempt(rt: Runtime, claim: InboundClaim, exc: Exception, now: dt.datetime) -> None:
    """A handling raised: logged (the type only: the message may quote the text) and
    given back to the queue with a backoff, or dead after its last attempt."""
    log.error("inbound SMS %d: handling failed (%s)", claim.id, type(exc).__name__, exc_info=exc)
    give_back(rt.sessions, claim, f"{type(exc).__name__}", now, random.Random())


def _stored_id(rt: Runtime, provider: str, provider_id: str) -> int:
    with rt.sessions() as session:
        return session.scalars(
            select(InboundMessage.id).where(
                InboundMessage.provider == provider,
                InboundMessage.provider_id == provider_id,
            )
        ).one()


def _earlier_replies(session: Session, provider: str, provider_id: str) -> tuple[str, ...]:
    """What we answered the first delivery, so a retried Twilio webhook gets it again."""
    prefix = f"reply:{provider}:{provider_id}:"
    bodies = session.scalars(
        select(OutboxMessage.body)
        .where(OutboxMessage.dedupe_key.startswith(prefix, autoescape=True))
        .order_by(OutboxMessage.id)
    )
    return tuple(body for body in bodies if body)  # a purged body is not said again


def _handle(
    session: Session,
    rt: Runtime,
    batch: Batch,
    e164: str,
    text: str,
    inbound_id: int,
    now: dt.datetime,
    source_ref: str,
    opt_out: Intent | None = None,
) -> list[str]:
    reporter = batch.reporters[e164]
    batch.handling(inbound_id, reporter.id)
    command = parse(text, rt.reference.grammar)
    if opt_out is not None and command.intent is not opt_out:
        command = Command(intent=opt_out, language=command.language)
    member_language = batch.member_language(reporter)  # a member hears one language
    lang = member_language or reporter.language or command.language
    convo = Conversation(
        session, rt, reporter, e164, lang or rt.settings.default_language, now, source_ref
    )
    convo.member = member_language is not None
    if batch.over_rate_limit(reporter.id, inbound_id, now):
        _set(batch, inbound_id, Outcome.REJECTED, command.intent.name.lower())
        return []
    outcome = sms_intents.dispatch(convo, command, text)
    _set(
        batch, inbound_id, outcome, "greeting" if command.greeting else command.intent.name.lower()
    )
    if convo.reporter.opted_out and not convo.final_only:
        return []
    citizen = not convo.member  # committee members get no citizen privacy notice
    if citizen and not convo.reporter.notice_sent and convo.replies and not convo.final_only:
        convo.say("privacy_notice")
        convo.reporter.notice_sent = True
    return convo.replies


def _set(batch: Batch, inbound_id: int, outcome: Outcome, intent: str) -> None:
    batch.set_outcome(inbound_id, outcome, intent)


def _deliver(
    session: Session,
    batch: Batch,
    replies: list[str],
    e164: str,
    origin: Origin,
    inline: bool,
    now: dt.datetime,
) -> None:
    """Replies go through the outbox, on the channel the message came in on; a Twilio
    reply travels in the webhook's TwiML, and its outbox row (already final, no number
    kept) records what was said."""
    for n, body in enumerate(replies):
        key = f"reply:{origin.provider}:{origin.provider_id}:{n}"
        if inline:
            session.add(
                OutboxMessage(
                    created_at=now,
                    purpose="reply",
                    recipient_enc=None,
                    recipient_hint=hide_phone(e164),
                    body=body,
                    status=OutboxStatus.SENT,
                    attempts=1,
                    next_attempt_at=now,
                    provider=INLINE,
                    sent_at=now,
                    final_at=now,
                    dedupe_key=key,
                )
            )
        else:
            batch.reply(e164, body, now, key, origin.channel)
