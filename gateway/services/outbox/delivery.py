"""Delivery reports and status callbacks update the outbox row they concern.

A provider may call back before the dispatcher has committed the id it answered our
send with: a final status (delivered, failed) that finds no row is kept in
`outbox_kept_status` and applied by the commit of its send, or else by the next
outbox pass (the callback and the commit may each miss the other's uncommitted row);
one still unmatched after KEEP_FOR is dropped (a message we never sent, or a send
whose result was lost with its dispatcher).
"""

from __future__ import annotations

import datetime as dt
import enum
import logging

from sqlalchemy import and_, delete, select, update
from sqlalchemy.orm import Session

from gateway.crypto import Pseudonymizer
from gateway.db import transaction
from gateway.logging_filters import redact
from gateway.models import KeptStatus, OutboxMessage, OutboxStatus, Reporter, Subscription
from gateway.runtime import Runtime
from gateway.services.outbox.queue import FINAL, record_status

log = logging.getLogger(__name__)

KEEP_FOR = dt.timedelta(hours=1)
SWEEP_LIMIT = 200  # kept statuses applied per outbox pass


class Delivery(enum.StrEnum):
    APPLIED = "applied"  # an outbox row has that id
    KEPT = "kept"  # none yet: kept for the commit of its send
    UNKNOWN = "unknown"  # none, and nothing worth keeping (`sent` changes nothing)


def record_delivery(
    rt: Runtime,
    *,
    provider: str,
    provider_message_id: str,
    status: OutboxStatus,
    error: str | None,
) -> Delivery:
    """Apply a delivery report to the row with that provider id, or keep it (a final
    status) for the commit of its send."""
    error = redact(error)[:300] if error else None  # a provider's words: scrubbed
    now = rt.now()
    with transaction(rt.sessions) as session:
        if record_status(
            session,
            provider=provider,
            provider_message_id=provider_message_id,
            status=status,
            error=error,
            now=now,
        ):
            return Delivery.APPLIED
        if status not in FINAL:
            return Delivery.UNKNOWN
        session.add(
            KeptStatus(
                provider=provider,
                provider_message_id=provider_message_id,
                status=status,
                error=error,
                received_at=now,
            )
        )
        return Delivery.KEPT


def apply_kept(session: Session, provider: str, provider_message_id: str) -> int:
    """In the transaction that records a send's provider id: apply the statuses kept
    for it (in the order they came, so the status rules hold) and drop them."""
    kept = session.scalars(
        select(KeptStatus)
        .where(
            KeptStatus.provider == provider,
            KeptStatus.provider_message_id == provider_message_id,
        )
        .order_by(KeptStatus.id)
    ).all()
    for status in kept:
        _apply(session, status)
    _drop(session, [status.id for status in kept])
    return len(kept)


def sweep_kept(rt: Runtime, now: dt.datetime) -> int:
    """The outbox pass's share: apply the kept statuses whose send is now recorded
    (their callback and the send's commit overlapped), drop those older than
    KEEP_FOR; the number applied."""
    with transaction(rt.sessions) as session:
        matched = session.scalars(
            select(KeptStatus)
            .join(
                OutboxMessage,
                and_(
                    OutboxMessage.provider == KeptStatus.provider,
                    OutboxMessage.provider_message_id == KeptStatus.provider_message_id,
                ),
            )
            .order_by(KeptStatus.id)
            .limit(SWEEP_LIMIT)
        ).all()
        for status in matched:
            _apply(session, status)
        _drop(session, [status.id for status in matched])
        expired = session.execute(
            delete(KeptStatus)
            .where(KeptStatus.received_at < now - KEEP_FOR)
            .execution_options(synchronize_session=False)
        ).rowcount  # type: ignore[attr-defined]
    if expired:
        log.info("outbox: %d kept delivery status(es) matched no send; dropped", expired)
    return len(matched)


def _apply(session: Session, status: KeptStatus) -> bool:
    return record_status(
        session,
        provider=status.provider,
        provider_message_id=status.provider_message_id,
        status=status.status,
        error=status.error,
        now=status.received_at,  # final_at: when the provider told us
    )


def _drop(session: Session, ids: list[int]) -> None:
    if ids:  # by id: a second pass may have dropped some already
        session.execute(
            delete(KeptStatus)
            .where(KeptStatus.id.in_(ids))
            .execution_options(synchronize_session=False)
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
