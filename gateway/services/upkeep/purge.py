"""Retention: what could identify a reporter is kept no longer than needed.

- raw inbound payloads (number and text, encrypted): 30 days;
- incident free text (encrypted): 90 days;
- the encrypted number of an outbox row that is final (delivered, failed, sent and
  never confirmed): 7 days after it was sent; dead letters after 30 days;
- the body of a reply to a citizen with its number (7 days after it was sent; a
  Twilio reply, which never kept a number, as long): it says what they reported;
- what a reporter still had to answer (the pending state, encrypted: an SMS question, a
  USSD report kept for the next call) and a USSD session's kept path (USSD_INPUT=latest):
  once expired.
Ratings and incidents themselves stay, under pseudonyms, for the trends.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import and_, or_, select, update

from gateway.db import transaction
from gateway.models import InboundMessage, Incident, OutboxMessage, OutboxStatus, Reporter
from gateway.runtime import Runtime
from gateway.services.intake import pending_parts, pending_store
from gateway.services.intake.ussd_input import forget_kept_inputs

PAYLOADS = dt.timedelta(days=30)
FREE_TEXT = dt.timedelta(days=90)
SENT_NUMBERS = dt.timedelta(days=7)
DEAD_NUMBERS = dt.timedelta(days=30)


@dataclass(frozen=True)
class Purged:
    payloads: int
    free_texts: int
    numbers: int
    reply_bodies: int = 0
    pending: int = 0


def purge_expired(rt: Runtime, now: dt.datetime) -> Purged:
    with transaction(rt.sessions) as session:
        payloads = session.execute(
            update(InboundMessage)
            .where(
                InboundMessage.received_at < now - PAYLOADS, InboundMessage.payload_enc.is_not(None)
            )
            .values(payload_enc=None)
        )
        texts = session.execute(
            update(Incident)
            .where(Incident.reported_at < now - FREE_TEXT, Incident.text_enc.is_not(None))
            .values(text_enc=None)
        )
        final = (OutboxStatus.SENT, OutboxStatus.DELIVERED, OutboxStatus.FAILED)
        numbers = session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.recipient_enc.is_not(None),
                or_(
                    and_(
                        OutboxMessage.status.in_(final), OutboxMessage.sent_at < now - SENT_NUMBERS
                    ),
                    and_(
                        OutboxMessage.status == OutboxStatus.FAILED,
                        OutboxMessage.created_at < now - SENT_NUMBERS,
                    ),
                    and_(
                        OutboxMessage.status == OutboxStatus.DEAD,
                        OutboxMessage.created_at < now - DEAD_NUMBERS,
                    ),
                ),
            )
            .values(recipient_enc=None)
        )
        bodies = session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.purpose == "reply",
                OutboxMessage.status.in_(final),
                OutboxMessage.body != "",
                or_(
                    OutboxMessage.sent_at < now - SENT_NUMBERS,
                    OutboxMessage.created_at < now - SENT_NUMBERS,
                ),
            )
            .values(body="")
        )
    return Purged(
        payloads.rowcount or 0,  # type: ignore[attr-defined]
        texts.rowcount or 0,  # type: ignore[attr-defined]
        numbers.rowcount or 0,  # type: ignore[attr-defined]
        bodies.rowcount or 0,  # type: ignore[attr-defined]
        forget_pending(rt, now),
    )


def forget_pending(rt: Runtime, now: dt.datetime) -> int:
    """Erase what reporters still had to answer once it is over: a row whose parts are
    all over at once, then a part over in a row whose other part runs (an SMS question
    lasts a day, a USSD report kept for the next call minutes: pending_parts). Run by
    the daily purge and by the clock's `pending` job every few minutes; how many rows
    changed (with the USSD sessions' kept paths over)."""
    with transaction(rt.sessions) as session:
        changed = forget_kept_inputs(session, now)
        over = session.execute(
            update(Reporter)
            .where(Reporter.pending_until < now)
            .values(pending=None, pending_until=None)
        )
        changed += int(over.rowcount or 0)  # type: ignore[attr-defined]
        running = session.execute(
            select(Reporter.id, Reporter.pending, Reporter.pending_until).where(
                Reporter.pending.is_not(None), Reporter.pending_until >= now
            )
        )
        for reporter_id, pending, until in running:
            tidied = pending_parts.tidy(pending, until, now)
            read = (pending, until)
            if tidied != read and pending_store.replace_if_unchanged(
                session, reporter_id, read, tidied
            ):
                changed += 1
    return changed
