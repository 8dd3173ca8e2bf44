"""An inbound SMS: stored once, then understood and answered.

Storing and processing are two transactions. The first keeps what the provider sent
(so a 200 always means "stored"); the second claims the stored row with a conditional
update, so two deliveries of one message racing each other process it once, and a
delivery that hit a database outage mid-way is processed by the provider's retry.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from gateway.crypto import mask_phone
from gateway.db import DB_UNAVAILABLE, transaction
from gateway.domain.sms_grammar import Command, Intent, parse
from gateway.models import Channel, InboundMessage, OutboxMessage, OutboxStatus, Outcome
from gateway.phones import normalize_phone
from gateway.runtime import Runtime
from gateway.services.intake import committee_sms
from gateway.services.intake import intents as sms_intents
from gateway.services.intake.conversation import Conversation
from gateway.services.intake.inbound import store_inbound
from gateway.services.intake.reporters import identify_reporter
from gateway.services.outbox.queue import enqueue

log = logging.getLogger(__name__)
MAX_TEXT = 1000
RATE_WINDOW = dt.timedelta(hours=1)
RATE_LIMIT = 20  # messages per reporter per hour; beyond, kept but not acted on
INLINE = "twiml"  # provider name of replies carried in the webhook's answer


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
) -> SmsReceipt:
    """Store, then handle, one inbound SMS; its replies go out on `channel` (default:
    the provider's own), the one it came in on. Raises PhoneError for a refused
    number and the database's errors when it is unavailable (the webhook answers 503).
    `opt_out` is the provider's own reading of the message (Twilio's OptOutType:
    STOP or HELP), which wins over ours; `media` counts attachments (kept as a
    count only)."""
    e164 = normalize_phone(sender, rt.settings.phone_regions)
    text = text[:MAX_TEXT]
    now = rt.now()
    with transaction(rt.sessions) as session:
        inbound_id = store_inbound(
            session,
            rt.vault,
            provider=provider,
            provider_id=provider_id,
            channel=Channel.SMS,
            payload={"from": e164, "text": text, **({"media": str(media)} if media else {})},
            now=now,
        )
    if inbound_id is None:
        inbound_id = _stored_id(rt, provider, provider_id)
    try:
        with transaction(rt.sessions) as session:
            if not _claim(session, inbound_id):
                return SmsReceipt(True, _earlier_replies(session, provider, provider_id))
            replies = _handle(
                session, rt, e164, text, inbound_id, now, f"sms:{provider}:{provider_id}", opt_out
            )
            origin = Origin(provider, provider_id, channel or provider)
            _deliver(session, rt, replies, e164, origin, inline_reply, now)
    except DB_UNAVAILABLE:
        raise  # 503: the provider's retry handles the stored row
    except Exception:
        # The stored row stays `received`, visible for review; the caller is not failed.
        log.exception("inbound SMS %s could not be handled; kept for review", inbound_id)
        return SmsReceipt(False)
    return SmsReceipt(False, tuple(replies) if inline_reply else ())


def _stored_id(rt: Runtime, provider: str, provider_id: str) -> int:
    with rt.sessions() as session:
        return session.scalars(
            select(InboundMessage.id).where(
                InboundMessage.provider == provider,
                InboundMessage.provider_id == provider_id,
            )
        ).one()


def _claim(session: Session, inbound_id: int) -> bool:
    result = session.execute(
        update(InboundMessage)
        .where(InboundMessage.id == inbound_id, InboundMessage.outcome == Outcome.RECEIVED)
        .values(outcome=Outcome.PROCESSED)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


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
    e164: str,
    text: str,
    inbound_id: int,
    now: dt.datetime,
    source_ref: str,
    opt_out: Intent | None = None,
) -> list[str]:
    reporter = identify_reporter(session, rt.pseudonyms, e164, now)
    session.execute(
        update(InboundMessage)
        .where(InboundMessage.id == inbound_id)
        .values(reporter_id=reporter.id)
    )
    command = parse(text, rt.reference.grammar)
    if opt_out is not None and command.intent is not opt_out:
        command = Command(intent=opt_out, language=command.language)
    lang = reporter.language or command.language or rt.settings.default_language
    convo = Conversation(session, rt, reporter, e164, lang, now, source_ref)
    convo.member = committee_sms.is_member(convo)
    if _over_rate_limit(session, reporter.id, now):
        _set(session, inbound_id, Outcome.REJECTED, command.intent.name.lower())
        return []
    outcome = sms_intents.dispatch(convo, command, text)
    _set(session, inbound_id, outcome, command.intent.name.lower())
    if convo.reporter.opted_out and not convo.final_only:
        return []
    citizen = not convo.member  # committee members get no citizen privacy notice
    if citizen and not convo.reporter.notice_sent and convo.replies and not convo.final_only:
        convo.say("privacy_notice")
        convo.reporter.notice_sent = True
    return convo.replies


def _set(session: Session, inbound_id: int, outcome: Outcome, intent: str) -> None:
    session.execute(
        update(InboundMessage)
        .where(InboundMessage.id == inbound_id)
        .values(outcome=outcome, intent=intent[:20])
    )


def _over_rate_limit(session: Session, reporter_id: int, now: dt.datetime) -> bool:
    count = session.scalar(
        select(func.count())
        .select_from(InboundMessage)
        .where(
            InboundMessage.reporter_id == reporter_id,
            InboundMessage.received_at > now - RATE_WINDOW,
        )
    )
    return (count or 0) > RATE_LIMIT


def _deliver(
    session: Session,
    rt: Runtime,
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
                    recipient_hint=mask_phone(e164),
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
            enqueue(
                session,
                rt.vault,
                to_e164=e164,
                body=body,
                purpose="reply",
                now=now,
                dedupe_key=key,
                channel=origin.channel,
            )
