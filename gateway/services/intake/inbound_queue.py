"""The inbound queue: stored SMS waiting to be handled, claimed by workers.

The outbox's pattern. A worker claims due rows in one short transaction (`FOR UPDATE
SKIP LOCKED` on PostgreSQL; the UPDATE repeats the due condition, so a row is never
claimed twice on either backend): each becomes `handling` until `lease_until`, its
attempt counted. The worker then handles the batch in a transaction that first locks
the rows and keeps those whose claim is still its own (same attempt count, still
`handling`), so a worker whose lease ran out and whose row was claimed again changes
nothing. A handling that raises goes back with a backoff; after `max_attempts` the row is dead,
shown in the console and by `inbound dead`, and an admin may retry it.

One phone's messages are handled in the order they were stored: a row is due only
when no earlier row with the same `sender_ref` is still waiting or held.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import and_, exists, func, literal_column, or_, select, union_all, update
from sqlalchemy.orm import Session, aliased, sessionmaker
from sqlalchemy.sql.elements import ColumnElement

from gateway.crypto import DecryptionError, Pseudonymizer, Vault
from gateway.db import is_postgres, transaction
from gateway.domain.backoff import RandomSource, RetryPolicy
from gateway.models import Channel, InboundMessage, Outcome

log = logging.getLogger(__name__)

QUEUED = (Outcome.RECEIVED, Outcome.HANDLING)
# Handling takes milliseconds; a minute covers a stalled database round trip, and a
# dead worker's rows come back to the queue a minute later.
LEASE = dt.timedelta(seconds=60)
POLICY = RetryPolicy(base=dt.timedelta(seconds=5), cap=dt.timedelta(minutes=10), max_attempts=5)


def sender_ref(pseudonyms: Pseudonymizer, e164: str) -> str:
    """The order key of a phone's messages: a prefix of its keyed hash (a collision only
    makes two phones wait for each other)."""
    return pseudonyms.pseudonym(e164)[:16]


@dataclass(frozen=True)
class InboundClaim:
    """A stored SMS claimed for one handling attempt; `attempts` counts this one."""

    id: int
    attempts: int
    provider: str
    provider_id: str
    received_at: dt.datetime
    payload_enc: str | None

    def __repr__(self) -> str:  # the payload stays out of logs and tracebacks
        return f"InboundClaim(id={self.id}, attempts={self.attempts})"

    def payload(self, vault: Vault) -> dict[str, str] | None:
        """The stored number and text, or None when they are gone (purged, DATA_KEY)."""
        if self.payload_enc is None:
            return None
        try:
            value = json.loads(vault.decrypt(self.payload_enc))
        except (DecryptionError, ValueError):
            return None
        return value if isinstance(value, dict) else None


@dataclass(frozen=True)
class DeadInbound:
    id: int
    received_at: dt.datetime
    provider: str
    attempts: int
    last_error: str | None


def _queued(m: Any) -> ColumnElement[bool]:
    """`outcome IN ('received', 'handling')` written out, not bound: the queue's partial
    indexes are on that predicate, and SQLite uses a partial index only for a query
    that states it (with bound values its claim scanned the table for every queued
    row: 0.9 s at 1,500 queued, against 2 ms)."""
    return cast(
        ColumnElement[bool], m.outcome.in_([literal_column(f"'{o.value}'") for o in QUEUED])
    )


def _dead(m: Any) -> ColumnElement[bool]:
    """`outcome = 'dead'` written out, for the partial index on dead rows (as `_queued`)."""
    return cast(ColumnElement[bool], m.outcome == literal_column(f"'{Outcome.DEAD.value}'"))


def _due(now: dt.datetime) -> ColumnElement[bool]:
    """Waiting and due, or held by a worker whose lease ran out."""
    m = InboundMessage
    return and_(
        _queued(m),
        m.channel == Channel.SMS,
        m.sender_ref.is_not(None),
        or_(
            and_(m.outcome == Outcome.RECEIVED, m.next_attempt_at <= now),
            and_(m.outcome == Outcome.HANDLING, m.lease_until < now),
        ),
    )


def _first_of_its_sender() -> ColumnElement[bool]:
    earlier = aliased(InboundMessage)
    return ~exists().where(
        earlier.sender_ref == InboundMessage.sender_ref,
        earlier.id < InboundMessage.id,
        _queued(earlier),
    )


# The claim must walk the queue's index in id order and stop at `limit`: planned from
# statistics taken before a burst (few queued rows), PostgreSQL would rather join every
# queued row and sort them, 14 ms at 10,000 queued against 0.15 ms (EXPLAIN ANALYZE).
_WALK_IN_ORDER = select(
    func.set_config("enable_sort", "off", True), func.set_config("enable_bitmapscan", "off", True)
)


def claim_inbound(
    sessions: sessionmaker[Session],
    now: dt.datetime,
    *,
    limit: int = 20,
    lease: dt.timedelta = LEASE,
    only_id: int | None = None,
) -> list[InboundClaim]:
    """Claim up to `limit` due rows, oldest first, at most one per phone, in one short
    committed transaction. `only_id` claims that row alone (handling in the request)."""
    with transaction(sessions) as session:
        query = select(InboundMessage.id).where(_due(now), _first_of_its_sender())
        if only_id is not None:
            query = query.where(InboundMessage.id == only_id)
        query = query.order_by(InboundMessage.id).limit(limit)
        if is_postgres(session):
            query = query.with_for_update(skip_locked=True, of=InboundMessage)
            session.execute(_WALK_IN_ORDER)
        ids = list(session.scalars(query))
        if not ids:
            return []
        m = InboundMessage
        rows = session.execute(
            update(m)
            .where(m.id.in_(ids), _due(now))
            .values(outcome=Outcome.HANDLING, lease_until=now + lease, attempts=m.attempts + 1)
            .returning(m.id, m.attempts, m.provider, m.provider_id, m.received_at, m.payload_enc)
            .execution_options(synchronize_session=False)
        ).all()
    return [InboundClaim(*row) for row in sorted(rows)]


def hold_all(session: Session, claims: Sequence[InboundClaim], *, durable: bool = True) -> set[int]:
    """Lock the claimed rows for the handling transaction, in one statement and in id
    order; the ids of the claims still ours (a row whose lease ran out and that another
    worker took is left out). `durable=False` (PostgreSQL): this transaction's commit
    will not wait for the disk, set in the same round trip (see sms.handle_claims for
    why that is safe)."""
    if not claims:
        return set()
    attempts = {claim.id: claim.attempts for claim in claims}
    query = (
        select(InboundMessage.id, InboundMessage.attempts)
        .where(InboundMessage.id.in_(sorted(attempts)), InboundMessage.outcome == Outcome.HANDLING)
        .order_by(InboundMessage.id)
    )
    if is_postgres(session):
        query = query.with_for_update(of=InboundMessage)
        if not durable:
            query = query.add_columns(func.set_config("synchronous_commit", "off", True))
    rows = session.execute(query).all()
    return {row[0] for row in rows if attempts[row[0]] == row[1]}


# What releasing a handled row sets (the handling's outcome update carries it).
RELEASED: dict[str, Any] = {"lease_until": None, "next_attempt_at": None, "last_error": None}


def give_back(
    sessions: sessionmaker[Session],
    claim: InboundClaim,
    error: str,
    now: dt.datetime,
    rng: RandomSource,
    policy: RetryPolicy = POLICY,
) -> Outcome | None:
    """A handling failed: back to the queue after a backoff, or dead after the last
    attempt. None when the row was no longer ours."""
    dead = policy.gives_up(claim.attempts)
    values: dict[str, object] = {"lease_until": None, "last_error": error[:300]}
    if dead:
        values.update(outcome=Outcome.DEAD, next_attempt_at=None)
    else:
        values.update(
            outcome=Outcome.RECEIVED, next_attempt_at=now + policy.delay(claim.attempts, rng)
        )
    m = InboundMessage
    with transaction(sessions) as session:
        done = session.execute(
            update(m)
            .where(m.id == claim.id, m.outcome == Outcome.HANDLING, m.attempts == claim.attempts)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        if done.rowcount != 1:  # type: ignore[attr-defined]
            return None
    return Outcome.DEAD if dead else Outcome.RECEIVED


def dead_inbound(session: Session, limit: int = 100) -> Sequence[DeadInbound]:
    """Inbound SMS whose handling kept failing, oldest first (no number, no text)."""
    m = InboundMessage
    rows = session.execute(
        select(m.id, m.received_at, m.provider, m.attempts, m.last_error)
        .where(_dead(m))
        .order_by(m.id)
        .limit(limit)
    )
    return [DeadInbound(*row) for row in rows]


def retry_dead_inbound(session: Session, inbound_id: int, now: dt.datetime) -> bool:
    """Put a dead inbound SMS back in the queue with a fresh round of attempts; False
    when it is not dead or its payload is gone."""
    m = InboundMessage
    result = session.execute(
        update(m)
        .where(m.id == inbound_id, m.outcome == Outcome.DEAD, m.payload_enc.is_not(None))
        .values(outcome=Outcome.RECEIVED, attempts=0, next_attempt_at=now, lease_until=None)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def backlog(session: Session) -> dict[str, int]:
    """How many SMS wait, are held by a worker, or are dead (each part counted on its
    partial index: no index covers every outcome)."""
    m = InboundMessage
    parts = [
        select(m.outcome, func.count()).where(rows, m.sender_ref.is_not(None)).group_by(m.outcome)
        for rows in (_queued(m), _dead(m))
    ]
    counts = dict(session.execute(union_all(*parts)).all())
    return {
        "waiting": counts.get(Outcome.RECEIVED, 0),
        "handling": counts.get(Outcome.HANDLING, 0),
        "dead": counts.get(Outcome.DEAD, 0),
    }
