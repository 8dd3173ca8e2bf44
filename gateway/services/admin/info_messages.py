"""Information messages to the subscribers of an area, closing the loop with citizens.

    draft ──submit──▶ approved ──send──▶ sending ──(the clock, batch by batch)──▶ sent
      │        └────▶ awaiting_approval ──approve (a second admin)──▶ approved
      └──cancel (draft, awaiting_approval, approved, sending)──▶ cancelled

A message has one text per language (fr, en, bm; at least one); each subscriber gets
the text of their own language, else the default language's, else the first given.
Each text is stored as typed: the preview shows its SMS segments (GSM 7-bit or
Unicode), and more than MAX_SEGMENTS in any of them is refused. A message to more than
APPROVAL_THRESHOLD recipients needs the approval of an admin who did not compose it
(the caller checks the approver's role). Sending marks the message `sending`; the
clock's broadcast job then enqueues BATCH subscribers a transaction (an area that
small goes at once, in the request), one outbox row each, keyed by message and
subscription so a replayed batch adds nothing, their first attempts spread so the
outbox sends at a bounded rate. Opted-out reporters are never counted nor sent to,
read again for each batch. Every step is in the audit log.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any, TypeVarTuple

from sqlalchemy import Row, Select, func, select, update
from sqlalchemy.orm import Session

from gateway.crypto import DecryptionError
from gateway.domain import gsm7
from gateway.domain.text import LANGUAGES
from gateway.gazetteer.index import gazetteer
from gateway.models import (
    InfoMessage,
    InfoMessageStatus,
    OutboxMessage,
    OutboxStatus,
    Reporter,
    Subscription,
)
from gateway.runtime import Runtime
from gateway.services import audit
from gateway.services.outbox.queue import enqueue_counted, outbox_row, withdraw_pending

MAX_SEGMENTS = 3
APPROVAL_THRESHOLD = 1000
# Recipients queued per transaction by the clock; an area this small goes at once.
BATCH = 500
RATE_PER_MINUTE = 60
PURPOSE = "info"
Ts = TypeVarTuple("Ts")
# Cancelling a message being sent stops its batches and withdraws its unsent rows.
CANCELLABLE = frozenset(
    {
        InfoMessageStatus.DRAFT,
        InfoMessageStatus.AWAITING_APPROVAL,
        InfoMessageStatus.APPROVED,
        InfoMessageStatus.SENDING,
    }
)


class InfoMessageError(Exception):
    """The step is not allowed now; `reason` is a stable code for the console's
    catalogue: empty, too_long, unknown_area, not_found, not_draft, not_awaiting,
    not_approved, own_message, not_cancellable."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


class BatchRaced(Exception):
    """Another clock queued this batch, or the message was cancelled, meanwhile."""


def clean_body(body: str) -> str:
    """What is stored and sent: the text as typed, line ends made plain, trimmed."""
    return body.replace("\r\n", "\n").replace("\r", "\n").strip()


def area(rt: Runtime, locality_id: int) -> set[int]:
    """The locality and every locality under it."""
    places = gazetteer(rt)
    if locality_id not in places.pcodes:
        return set()
    found = {locality_id}
    frontier = [places.pcodes[locality_id]]
    while frontier:
        for child in places.children(frontier.pop()):
            found.add(places.ids[child.pcode])
            frontier.append(child.pcode)
    return found


def _subscribed(query: Select[*Ts], rt: Runtime, locality_id: int) -> Select[*Ts]:
    """`query` limited to subscriptions of the area whose reporter has not opted out."""
    return query.join(Reporter, Reporter.id == Subscription.reporter_id).where(
        Subscription.locality_id.in_(area(rt, locality_id)), ~Reporter.opted_out
    )


def recipients(session: Session, rt: Runtime, locality_id: int) -> int:
    """How many subscribers the area has (its localities and all under them), opted-out
    reporters never included."""
    query = _subscribed(select(func.count()).select_from(Subscription), rt, locality_id)
    return int(session.scalar(query) or 0)


def clean_bodies(bodies: Mapping[str, str]) -> dict[str, str]:
    """The texts kept: known languages only, cleaned, empty ones dropped."""
    cleaned = {lang: clean_body(bodies.get(lang) or "") for lang in LANGUAGES}
    return {lang: text for lang, text in cleaned.items() if text}


def text_for(message: InfoMessage, language: str | None, default: str) -> str:
    """What a subscriber reading `language` gets of the message."""
    bodies = message.bodies or {}
    return str(bodies.get(language or default) or bodies.get(default) or message.body)


def compose(
    session: Session,
    rt: Runtime,
    user_actor: str,
    locality_id: int,
    body: str | Mapping[str, str],
    now: dt.datetime,
) -> InfoMessage:
    """A draft for the area, with its recipients and segments (of its longest text)
    counted for the preview. `body` is one text, or a text per language."""
    default = rt.settings.default_language
    texts = clean_bodies(body if not isinstance(body, str) else {default: body})
    if not texts:
        raise InfoMessageError("the message is empty", "empty")
    for lang, text in texts.items():
        if gsm7.segments(text) > MAX_SEGMENTS:
            raise InfoMessageError(
                f"{gsm7.segments(text)} SMS segments in {lang}; at most {MAX_SEGMENTS}",
                "too_long",
            )
    segments = max(gsm7.segments(text) for text in texts.values())
    if locality_id not in gazetteer(rt).pcodes:
        raise InfoMessageError(f"no locality with id {locality_id}", "unknown_area")
    message = InfoMessage(
        locality_id=locality_id,
        body=texts.get(default) or next(iter(texts.values())),
        bodies=texts,
        created_by=user_actor,
        created_at=now,
        recipients=recipients(session, rt, locality_id),
        segments=segments,
        status=InfoMessageStatus.DRAFT,
    )
    session.add(message)
    session.flush()
    details = {"area": gazetteer(rt).pcodes[locality_id], "recipients": message.recipients}
    details["segments"] = segments
    details["languages"] = ",".join(texts)
    audit.record(session, user_actor, "message.compose", _target(message), details, now)
    return message


def submit(
    session: Session, rt: Runtime, message_id: int, user_actor: str, now: dt.datetime
) -> InfoMessage:
    """Ask to send a draft: approved at once up to APPROVAL_THRESHOLD recipients
    (counted again now, as subscribers come and go), else awaiting a second admin."""
    message = _locked(session, message_id)
    if message.status != InfoMessageStatus.DRAFT:
        raise InfoMessageError(f"message {message_id} is {message.status}", "not_draft")
    message.recipients = recipients(session, rt, message.locality_id)
    if message.recipients > APPROVAL_THRESHOLD:
        message.status = InfoMessageStatus.AWAITING_APPROVAL
    else:
        message.status = InfoMessageStatus.APPROVED
        message.approved_by, message.approved_at = user_actor, now
    details = {"status": str(message.status), "recipients": message.recipients}
    audit.record(session, user_actor, "message.submit", _target(message), details, now)
    return message


def approve(session: Session, message_id: int, approver: str, now: dt.datetime) -> InfoMessage:
    """awaiting_approval → approved, by someone other than the composer (the caller
    makes sure `approver` is an admin)."""
    message = _locked(session, message_id)
    if message.status != InfoMessageStatus.AWAITING_APPROVAL:
        raise InfoMessageError(f"message {message_id} is {message.status}", "not_awaiting")
    if approver == message.created_by:
        raise InfoMessageError("the composer cannot approve their own message", "own_message")
    message.status = InfoMessageStatus.APPROVED
    message.approved_by, message.approved_at = approver, now
    audit.record(session, approver, "message.approve", _target(message), None, now)
    return message


def cancel(session: Session, message_id: int, user_actor: str, now: dt.datetime) -> int:
    """Cancel the message: its batches stop, and its SMS queued but not yet sent are
    withdrawn (their numbers erased with them). A message already `sent` to the outbox
    may still be cancelled while some of its SMS wait their turn (at 60 a minute a
    national one trickles out for hours). The number of SMS withdrawn."""
    message = _locked(session, message_id)
    withdrawn = 0
    if message.status in (InfoMessageStatus.SENDING, InfoMessageStatus.SENT):
        withdrawn = withdraw_pending(session, f"info:{message.id}:")
    if message.status not in CANCELLABLE and not withdrawn:
        raise InfoMessageError(f"message {message_id} is {message.status}", "not_cancellable")
    message.status = InfoMessageStatus.CANCELLED
    details = {"withdrawn": withdrawn} if withdrawn else None
    audit.record(session, user_actor, "message.cancel", _target(message), details, now)
    return withdrawn


def cancellable(message: InfoMessage, progress: dict[str, int]) -> bool:
    """Whether cancelling would still stop something (`progress` from `progress`)."""
    if message.status == InfoMessageStatus.SENT:
        return progress.get(str(OutboxStatus.PENDING), 0) > 0
    return message.status in CANCELLABLE


def send(
    session: Session,
    rt: Runtime,
    message_id: int,
    now: dt.datetime,
    rate_per_minute: int = RATE_PER_MINUTE,
    user_actor: str = "system",
) -> int:
    """Start sending the approved message: it becomes `sending`, and the clock's
    broadcast job hands it to the outbox a batch at a time (`queue_batch`). A message
    of at most BATCH recipients goes at once, in this transaction. The number of rows
    added now; a message already sending or sent adds nothing."""
    message = _locked(session, message_id)
    if message.status in (InfoMessageStatus.SENDING, InfoMessageStatus.SENT):
        return 0
    if message.status != InfoMessageStatus.APPROVED:
        raise InfoMessageError(f"message {message_id} is {message.status}", "not_approved")
    message.status = InfoMessageStatus.SENDING
    details = {"recipients": message.recipients, "rate_per_minute": rate_per_minute}
    audit.record(session, user_actor, "message.send", _target(message), details, now)
    if message.recipients > BATCH:
        return 0
    return queue_batch(session, rt, message, now, rate_per_minute)


def sending(session: Session) -> list[InfoMessage]:
    """The messages the clock still has to queue, oldest first, unlocked."""
    query = select(InfoMessage).where(InfoMessage.status == InfoMessageStatus.SENDING)
    return list(session.scalars(query.order_by(InfoMessage.id)))


def lock_sending(session: Session, message_id: int) -> InfoMessage | None:
    """The message locked for one batch, or None when it is no longer sending (sent by
    another clock, cancelled)."""
    message = _locked(session, message_id)
    return message if message.status == InfoMessageStatus.SENDING else None


def queue_batch(
    session: Session,
    rt: Runtime,
    message: InfoMessage,
    now: dt.datetime,
    rate_per_minute: int = RATE_PER_MINUTE,
) -> int:
    """Queue the next BATCH subscribers (in subscription id order, after
    `fanout_after`) of the locked, sending message, in the caller's transaction; the
    rows added. Each row is keyed by message and subscription, so a batch replayed
    (a clock killed before its commit, a second clock) adds nobody twice; reporters
    who opted out since the send are left out. The last batch marks the message sent."""
    query = (
        select(Subscription.id, Subscription.phone_enc, Reporter.language)
        .where(Subscription.id > message.fanout_after)
        .order_by(Subscription.id)
        .limit(BATCH + 1)  # one more: is this batch the last?
    )
    batch = session.execute(_subscribed(query, rt, message.locality_id)).all()
    last, batch = len(batch) <= BATCH, batch[:BATCH]
    gap = dt.timedelta(seconds=60 / max(1, rate_per_minute))
    rows = _outbox_rows(rt, message, batch, _next_due(session, message, now, gap), gap, now)
    added = enqueue_counted(session, rows)
    _advance(session, message, batch[-1][0] if batch else message.fanout_after, added, last, now)
    if len(batch) != len(rows):
        details = {"unreadable": len(batch) - len(rows)}
        audit.record(session, "system", "message.unreadable", _target(message), details, now)
    if last:
        details = {"enqueued": message.queued, "recipients": message.recipients}
        audit.record(session, "system", "message.queued", _target(message), details, now)
    return added


def _outbox_rows(
    rt: Runtime,
    message: InfoMessage,
    batch: Sequence[Row[int, str, str | None]],
    due: dt.datetime,
    gap: dt.timedelta,
    now: dt.datetime,
) -> list[dict[str, Any]]:
    """The batch's outbox rows, the i-th one due at `due + i * gap`; a number that
    cannot be decrypted is left out (a key problem: counted in the audit, never a stop)."""
    default = rt.settings.default_language
    rows: list[dict[str, Any]] = []
    for subscription_id, phone_enc, language in batch:
        try:
            number = rt.vault.decrypt(phone_enc)
        except DecryptionError:
            continue
        row = outbox_row(
            rt.vault,
            to_e164=number,
            body=text_for(message, language, default),
            purpose=PURPOSE,
            now=now,
            dedupe_key=f"info:{message.id}:{subscription_id}",
        )
        # The outbox makes a row due at once; this spreads the first attempts.
        row["next_attempt_at"] = due + gap * len(rows)
        rows.append(row)
    return rows


def _advance(
    session: Session, message: InfoMessage, after: int, added: int, last: bool, now: dt.datetime
) -> None:
    """Move the message past its batch, only from where this batch began: on SQLite
    the message row is not locked, so a second clock that read the same place (or a
    cancel since) makes the batch fail and roll back instead of counting it twice."""
    values: dict[str, object] = {"fanout_after": after, "queued": InfoMessage.queued + added}
    if last:
        values.update(status=InfoMessageStatus.SENT, sent_at=now)
    moved = session.execute(
        update(InfoMessage)
        .where(
            InfoMessage.id == message.id,
            InfoMessage.fanout_after == message.fanout_after,
            InfoMessage.status == InfoMessageStatus.SENDING,
        )
        .values(values)
        .execution_options(synchronize_session=False)
    )
    if moved.rowcount != 1:  # type: ignore[attr-defined]
        raise BatchRaced(f"message {message.id} moved on while this batch was queued")
    session.refresh(message)


def _next_due(
    session: Session, message: InfoMessage, now: dt.datetime, gap: dt.timedelta
) -> dt.datetime:
    """When the batch's first row is due: a gap after the previous batch's last row,
    so the batches keep the rate of one message sent in one go; never in the past."""
    last = session.scalar(
        select(OutboxMessage.next_attempt_at).where(
            OutboxMessage.dedupe_key == f"info:{message.id}:{message.fanout_after}"
        )
    )
    return max(now, last + gap) if last is not None else now


def fanout(session: Session, rt: Runtime, message: InfoMessage) -> tuple[int, int]:
    """How many recipients of the sending message are queued, and how many subscribers
    are still to queue (after the clock's place, opted-out ones left out), counted now.
    One statement, so a batch committed meanwhile is counted once, on one side."""
    still = _subscribed(select(func.count()).select_from(Subscription), rt, message.locality_id)
    still = still.where(Subscription.id > InfoMessage.fanout_after).correlate(InfoMessage)
    row = session.execute(
        select(InfoMessage.queued, still.scalar_subquery()).where(InfoMessage.id == message.id)
    ).one()
    return int(row[0]), int(row[1] or 0)


def progress(session: Session, message_id: int) -> dict[str, int]:
    """The message's outbox rows by status (pending, sent, delivered...)."""
    rows = session.execute(
        select(OutboxMessage.status, func.count())
        .where(OutboxMessage.dedupe_key.startswith(f"info:{message_id}:"))
        .group_by(OutboxMessage.status)
    ).all()
    return {str(status): int(count) for status, count in rows}


def _locked(session: Session, message_id: int) -> InfoMessage:
    message = session.scalars(
        select(InfoMessage).where(InfoMessage.id == message_id).with_for_update()
    ).first()
    if message is None:
        raise InfoMessageError(f"no message with id {message_id}", "not_found")
    return message


def _target(message: InfoMessage) -> str:
    return f"message:{message.id}"
