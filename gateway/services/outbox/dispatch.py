"""Dispatching the outbox: claim what is due, send it, record each result.

Sends happen outside any transaction. Each result is committed on its own, guarded
by the row still being `sending` with the attempt count of our claim: if our lease
ran out and another dispatcher claimed the row, our late result changes nothing.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
from collections.abc import Collection, Mapping
from dataclasses import dataclass

from sqlalchemy import update

from gateway.config import Settings
from gateway.db import transaction
from gateway.domain.backoff import RandomSource, RetryPolicy
from gateway.logging_filters import redact
from gateway.models import OutboxMessage, OutboxStatus
from gateway.ports import Sender, SenderFactory, SendResult
from gateway.runtime import Runtime
from gateway.services.outbox import health, routing
from gateway.services.outbox.delivery import apply_kept, record_opt_out, sweep_kept
from gateway.services.outbox.queue import Claim, claim_due

log = logging.getLogger(__name__)

# A send may take ~13 s at worst (connect + read timeouts). The lease must outlast
# the whole batch, or another dispatcher would send rows we have not reached yet.
BATCH = 20
# `outbox dispatch` sends batch after batch until nothing is due; this bounds a run
# (20 000 SMS) so a row that keeps coming due again cannot keep it going for ever.
MAX_BATCHES = 1000
SEND_BUDGET = dt.timedelta(seconds=15)
SENDERS_CACHE = "outbox_senders"


@dataclass
class DispatchSummary:
    claimed: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0
    dead: int = 0
    failed_over: int = 0  # sends on another channel than the message's first choice
    lost: int = 0  # results dropped: the row was re-claimed after our lease ran out

    def __str__(self) -> str:
        return (
            f"claimed {self.claimed}, sent {self.sent}, retried {self.retried}, "
            f"failed {self.failed}, dead {self.dead}, via fallback {self.failed_over}"
            + (f", lost lease {self.lost}" if self.lost else "")
        )


def build_senders(settings: Settings, factories: Mapping[str, SenderFactory]) -> dict[str, Sender]:
    """The sender of every configured channel (SMS_PROVIDER, then the fallback)."""
    names = list(settings.channels)
    unknown = [name for name in names if name not in factories]
    if unknown:
        raise ValueError(f"unknown SMS provider {unknown[0]!r}")
    return {name: factories[name](settings) for name in names}


def senders_for(rt: Runtime) -> dict[str, Sender]:
    """The runtime's senders, built once (HTTP sessions are reused). Tests install
    fakes by filling this cache first: `rt.cached(SENDERS_CACHE, lambda: fakes)`."""
    return rt.cached(SENDERS_CACHE, lambda: build_senders(rt.settings, rt.sender_factories))


def provider_for(settings: Settings, claim: Claim, policy: RetryPolicy) -> tuple[str, bool]:
    """The channel of this attempt, and whether it is a failover (not the first choice)."""
    channels = routing.chain(settings, claim.to_e164, claim.channel)
    channel = routing.channel_for(channels, claim.attempts, policy)
    return channel, channel != channels[0]


def dispatch_due(
    rt: Runtime,
    now: dt.datetime,
    senders: Mapping[str, Sender] | None = None,
    rng: RandomSource | None = None,
    *,
    policy: RetryPolicy | None = None,
    limit: int = BATCH,
    worker_id: str = "dispatcher",
    alert_ids: Collection[int] | None = None,
) -> DispatchSummary:
    """Send one batch of due messages and record what became of each (`alert_ids`:
    only those alerts' SMS)."""
    senders = senders_for(rt) if senders is None else senders
    rng = rng or random.Random()  # jitter, not a secret
    policy = policy or RetryPolicy()
    claims = claim_due(
        rt.sessions,
        rt.vault,
        now,
        limit=limit,
        lease=SEND_BUDGET * limit,
        worker_id=worker_id,
        alert_ids=alert_ids,
    )
    summary = DispatchSummary(claimed=len(claims))
    sweep_kept(rt, now)
    for claim in claims:
        provider, failover = provider_for(rt.settings, claim, policy)
        result = _send(senders.get(provider), provider, claim)
        status = record_send_result(rt, claim, provider, result, now, policy, rng)
        if failover:
            summary.failed_over += 1
        _count(summary, status)
    if claims:
        log.info("outbox: %s: %s", worker_id, summary)
    return summary


def dispatch_all_due(
    rt: Runtime,
    now: dt.datetime,
    senders: Mapping[str, Sender] | None = None,
    *,
    limit: int = BATCH,
    max_batches: int = MAX_BATCHES,
    worker_id: str = "dispatcher",
    alert_ids: Collection[int] | None = None,
) -> DispatchSummary:
    """Send everything due at `now`, batch after batch, until a batch finds less than
    a full one (or after `max_batches`); returns the totals. A retry is due later than
    `now`, so it waits for the next run."""
    total = DispatchSummary()
    for _ in range(max_batches):
        batch = dispatch_due(
            rt, now, senders, limit=limit, worker_id=worker_id, alert_ids=alert_ids
        )
        for name in vars(total):
            setattr(total, name, getattr(total, name) + getattr(batch, name))
        if batch.claimed < limit:
            break
    return total


def _count(summary: DispatchSummary, status: OutboxStatus | None) -> None:
    if status is None:
        summary.lost += 1
    elif status == OutboxStatus.SENT:
        summary.sent += 1
    elif status == OutboxStatus.PENDING:
        summary.retried += 1
    elif status == OutboxStatus.FAILED:
        summary.failed += 1
    elif status == OutboxStatus.DEAD:
        summary.dead += 1


def _send(sender: Sender | None, provider: str, claim: Claim) -> SendResult:
    if sender is None:
        return SendResult.retryable(f"no sender configured for {provider}")
    try:
        return sender.send(claim.to_e164, claim.body)
    except Exception as exc:  # a sender bug must not stop the batch
        log.exception("outbox: sender %s raised on message %d", provider, claim.id)
        return SendResult.retryable(f"sender raised {type(exc).__name__}")


def record_send_result(
    rt: Runtime,
    claim: Claim,
    provider: str,
    result: SendResult,
    now: dt.datetime,
    policy: RetryPolicy,
    rng: RandomSource,
) -> OutboxStatus | None:
    """Commit what became of one claimed send; the row's new status, or None when the
    row was no longer ours (lease expired and re-claimed, or finalised meanwhile)."""
    error = redact(result.error)[:300] if result.error else None
    values: dict[str, object] = {"lease_until": None, "provider": provider, "last_error": error}
    if result.outcome == "accepted":
        status = OutboxStatus.SENT
        values.update(provider_message_id=result.provider_message_id, sent_at=now)
    elif result.outcome == "permanent":
        status = OutboxStatus.FAILED
        values.update(final_at=now, recipient_enc=None)
    elif policy.gives_up(claim.attempts):
        status = OutboxStatus.DEAD  # keeps the number: an admin may retry it
        values.update(final_at=now)
    else:
        status = OutboxStatus.PENDING
        values.update(next_attempt_at=now + policy.delay(claim.attempts, rng))
    with transaction(rt.sessions) as session:
        done = session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.id == claim.id,
                OutboxMessage.status == OutboxStatus.SENDING,
                OutboxMessage.attempts == claim.attempts,
            )
            .values(status=status, **values)
            .execution_options(synchronize_session=False)
        )
        if done.rowcount != 1:  # type: ignore[attr-defined]
            log.warning("outbox: message %d was re-claimed; result dropped", claim.id)
            return None
        if result.outcome == "accepted":
            health.note_success(session, provider, now)
            if result.provider_message_id:  # its callback may have come first
                apply_kept(session, provider, result.provider_message_id)
        else:
            health.note_error(session, provider, error or result.outcome, now)
        if result.opted_out:
            record_opt_out(session, rt.pseudonyms, claim.to_e164)
    log.info(
        "outbox: message %d attempt %d via %s: %s%s",
        claim.id,
        claim.attempts,
        provider,
        status.value,
        f" ({error})" if error else "",
    )
    return status
