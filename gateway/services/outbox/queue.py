"""The outbox: every SMS the gateway sends is a row here first.

A message is enqueued in the caller's transaction (with the alert or the report that
caused it), then a dispatcher claims due rows under a lease, sends them outside any
transaction, and records each result with a conditional update. A dispatcher that
dies mid-batch only delays its rows until their lease expires; the row's attempt
count fences a late result out of a row that another dispatcher has claimed since.

A number that is needed to send is kept encrypted until the message is final, then
erased. Dead letters keep it, so an admin can retry them.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, delete, or_, select, update
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.sql.elements import ColumnElement

from gateway.crypto import DecryptionError, Vault, hide_phone, mask_phone
from gateway.db import is_postgres, transaction
from gateway.models import OutboxMessage, OutboxStatus
from gateway.upsert import insert_ignore, insert_ignore_many, insert_ignore_rows

log = logging.getLogger(__name__)

FINAL = frozenset({OutboxStatus.DELIVERED, OutboxStatus.FAILED})
_E164 = re.compile(r"\+[1-9]\d{5,14}")
_PURPOSE_MAX = 12
# Messages to citizens (a reply, an information message): their hint keeps no digit.
CITIZEN_PURPOSES = frozenset({"reply", "info"})


@dataclass(frozen=True)
class Claim:
    """A row claimed for one send attempt; `attempts` counts this one."""

    id: int
    to_e164: str
    body: str
    attempts: int
    channel: str | None = None  # the channel asked for (a reply's), None: route it

    def __repr__(self) -> str:  # the number stays out of logs and tracebacks
        return f"Claim(id={self.id}, to={mask_phone(self.to_e164)}, attempts={self.attempts})"


@dataclass(frozen=True)
class DeadLetter:
    id: int
    created_at: dt.datetime
    purpose: str
    recipient_hint: str
    attempts: int
    last_error: str | None
    can_retry: bool


def enqueue(
    session: Session,
    vault: Vault,
    *,
    to_e164: str,
    body: str,
    purpose: str,
    now: dt.datetime,
    dedupe_key: str | None = None,
    alert_id: int | None = None,
    member_id: int | None = None,
    channel: str | None = None,
) -> int | None:
    """Add one SMS in the caller's transaction (not committed here); its id, or None
    when a message with the same `dedupe_key` is already there. `channel` is the one
    to try first (a reply's: the channel its message came in on); without it the
    dispatcher routes by the recipient's network (SMS_ROUTES)."""
    values = outbox_row(
        vault,
        to_e164=to_e164,
        body=body,
        purpose=purpose,
        now=now,
        dedupe_key=dedupe_key,
        alert_id=alert_id,
        member_id=member_id,
        channel=channel,
    )
    return insert_ignore(session, OutboxMessage.__table__, values)


def enqueue_many(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Add the rows `outbox_row` made in one statement (a row whose `dedupe_key` is
    already there is skipped), in the caller's transaction."""
    insert_ignore_many(session, OutboxMessage.__table__, rows)


def enqueue_counted(session: Session, rows: Sequence[dict[str, Any]]) -> int:
    """`enqueue_many`, telling how many rows were new (the others' `dedupe_key` was
    already there): for a caller that must count exactly, at the cost of RETURNING."""
    return insert_ignore_rows(session, OutboxMessage.__table__, rows)


def outbox_row(
    vault: Vault,
    *,
    to_e164: str,
    body: str,
    purpose: str,
    now: dt.datetime,
    dedupe_key: str | None = None,
    alert_id: int | None = None,
    member_id: int | None = None,
    channel: str | None = None,
) -> dict[str, Any]:
    """The outbox row of one SMS, checked (see `enqueue`), not yet added."""
    if not body.strip():
        raise ValueError("an SMS body cannot be empty")
    if not _E164.fullmatch(to_e164):
        raise ValueError("the recipient must be an E.164 number")
    if not purpose or len(purpose) > _PURPOSE_MAX:
        raise ValueError(f"purpose must be 1 to {_PURPOSE_MAX} characters")
    return {
        "created_at": now,
        "purpose": purpose,
        "recipient_enc": vault.encrypt(to_e164),
        "recipient_hint": (hide_phone if purpose in CITIZEN_PURPOSES else mask_phone)(to_e164),
        "body": body,
        "status": OutboxStatus.PENDING,
        "attempts": 0,
        "next_attempt_at": now,
        "alert_id": alert_id,
        "member_id": member_id,
        "dedupe_key": dedupe_key,
        "channel": channel,
    }


def _due(now: dt.datetime) -> ColumnElement[bool]:
    """Pending and due, or claimed by a dispatcher whose lease ran out."""
    return or_(
        and_(OutboxMessage.status == OutboxStatus.PENDING, OutboxMessage.next_attempt_at <= now),
        and_(OutboxMessage.status == OutboxStatus.SENDING, OutboxMessage.lease_until < now),
    )


def claim_due(
    sessions: sessionmaker[Session],
    vault: Vault,
    now: dt.datetime,
    *,
    limit: int = 50,
    lease: dt.timedelta = dt.timedelta(seconds=60),
    worker_id: str = "dispatcher",
    alert_ids: Collection[int] | None = None,
) -> list[Claim]:
    """Claim up to `limit` due rows, oldest first, in one short committed transaction:
    each becomes `sending` until `now + lease`, its attempt counted. On PostgreSQL,
    rows another dispatcher is claiming are skipped (FOR UPDATE SKIP LOCKED); the
    UPDATE repeats the due condition, so a row is never claimed twice either way."""
    with transaction(sessions) as session:
        query = select(OutboxMessage.id).where(_due(now)).order_by(OutboxMessage.id).limit(limit)
        if alert_ids is not None:  # these alerts' SMS, ahead of the rest
            query = query.where(OutboxMessage.alert_id.in_(sorted(alert_ids)))
        if is_postgres(session):
            query = query.with_for_update(skip_locked=True)
        ids = list(session.scalars(query))
        if not ids:
            return []
        claimed = session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(ids), _due(now))
            .values(
                status=OutboxStatus.SENDING,
                lease_until=now + lease,
                attempts=OutboxMessage.attempts + 1,
            )
            .returning(
                OutboxMessage.id,
                OutboxMessage.recipient_enc,
                OutboxMessage.body,
                OutboxMessage.attempts,
                OutboxMessage.channel,
            )
            .execution_options(synchronize_session=False)
        ).all()
        claims = []
        for row_id, recipient_enc, body, attempts, channel in sorted(claimed):
            number = _recipient(vault, recipient_enc)
            if number is None:
                _bury(session, row_id, "recipient number unavailable (erased, or DATA_KEY)", now)
            else:
                claims.append(Claim(row_id, number, body, attempts, channel))
    log.info("outbox: %s claimed %d message(s)", worker_id, len(claims))
    return claims


def _recipient(vault: Vault, recipient_enc: str | None) -> str | None:
    if recipient_enc is None:
        return None
    try:
        return vault.decrypt(recipient_enc)
    except DecryptionError:
        return None


def _bury(session: Session, row_id: int, error: str, now: dt.datetime) -> None:
    """Dead without a send: an admin sees it and can retry once the key is fixed."""
    session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == row_id)
        .values(status=OutboxStatus.DEAD, lease_until=None, last_error=error, final_at=now)
        .execution_options(synchronize_session=False)
    )


def record_status(
    session: Session,
    *,
    provider: str,
    provider_message_id: str,
    status: OutboxStatus,
    error: str | None,
    now: dt.datetime,
) -> bool:
    """Apply a delivery report or status callback; False when no row has that provider
    message id. A final status (delivered, failed) never changes, and `sent` never
    undoes anything: reports arrive late and out of order."""
    row = session.scalars(
        select(OutboxMessage)
        .where(
            OutboxMessage.provider == provider,
            OutboxMessage.provider_message_id == provider_message_id,
        )
        .with_for_update()
    ).first()
    if row is None:
        return False
    if row.status in FINAL or status not in FINAL:
        return True
    row.status = status
    row.final_at = now
    row.recipient_enc = None
    row.lease_until = None
    if status == OutboxStatus.FAILED and error:
        row.last_error = error[:300]
    return True


def withdraw_pending(session: Session, key_prefix: str) -> int:
    """Delete the rows whose dedupe key starts with `key_prefix` that still wait (never
    claimed, or waiting to be tried again), numbers and bodies with them; a row a
    dispatcher holds goes on. The number withdrawn."""
    result = session.execute(
        delete(OutboxMessage)
        .where(
            OutboxMessage.dedupe_key.startswith(key_prefix, autoescape=True),
            OutboxMessage.status == OutboxStatus.PENDING,
        )
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def retry_dead(session: Session, outbox_id: int, now: dt.datetime) -> bool:
    """Give a dead letter a fresh round of attempts, starting now; False when the row
    is not dead or its number is gone."""
    result = session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.id == outbox_id,
            OutboxMessage.status == OutboxStatus.DEAD,
            OutboxMessage.recipient_enc.is_not(None),
        )
        .values(
            status=OutboxStatus.PENDING,
            attempts=0,
            next_attempt_at=now,
            lease_until=None,
            final_at=None,
        )
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def dead_letters(session: Session, limit: int = 100) -> Sequence[DeadLetter]:
    """Dead letters, oldest first, without the numbers."""
    rows = session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.status == OutboxStatus.DEAD)
        .order_by(OutboxMessage.id)
        .limit(limit)
    )
    return [
        DeadLetter(
            r.id,
            r.created_at,
            r.purpose,
            r.recipient_hint,
            r.attempts,
            r.last_error,
            r.recipient_enc is not None,
        )
        for r in rows
    ]
