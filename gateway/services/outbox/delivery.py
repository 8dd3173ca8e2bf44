"""Delivery reports and status callbacks update the outbox row they concern."""

from __future__ import annotations

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from gateway.crypto import Pseudonymizer
from gateway.db import transaction
from gateway.logging_filters import redact
from gateway.models import OutboxStatus, Reporter, Subscription
from gateway.runtime import Runtime
from gateway.services.outbox.queue import record_status


def record_delivery(
    rt: Runtime,
    *,
    provider: str,
    provider_message_id: str,
    status: OutboxStatus,
    error: str | None,
) -> bool:
    """True when an outbox row matched; a report for a message we never sent is ignored."""
    with transaction(rt.sessions) as session:
        return record_status(
            session,
            provider=provider,
            provider_message_id=provider_message_id,
            status=status,
            error=redact(error)[:300] if error else None,  # a provider's words: scrubbed
            now=rt.now(),
        )


def record_opt_out(session: Session, pseudonyms: Pseudonymizer, e164: str) -> bool:
    """The provider says the owner of `e164` opted out with it (Twilio's STOP words,
    error 21610): as after our own STOP, nothing more is sent and the subscription and
    its number are erased. True when the number was a reporter's."""
    reporter_id = session.scalar(
        select(Reporter.id).where(Reporter.pseudonym == pseudonyms.pseudonym(e164))
    )
    if reporter_id is None:
        return False
    session.execute(update(Reporter).where(Reporter.id == reporter_id).values(opted_out=True))
    session.execute(delete(Subscription).where(Subscription.reporter_id == reporter_id))
    return True


def record_provider_opt_out(rt: Runtime, e164: str) -> bool:
    with transaction(rt.sessions) as session:
        return record_opt_out(session, rt.pseudonyms, e164)
