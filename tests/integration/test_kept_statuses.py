"""A status callback that comes before the commit of its own send is kept, not lost:
the provider answers our API call and calls us back while the dispatcher has not yet
recorded the id it was given."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import func, select, text

from gateway.db import transaction
from gateway.models import KeptStatus, OutboxMessage, OutboxStatus
from gateway.ports import SendResult
from gateway.runtime import Runtime
from gateway.services.outbox import delivery, dispatch
from gateway.services.outbox.delivery import KEEP_FOR, Delivery, record_delivery
from gateway.services.outbox.queue import enqueue
from tests.conftest import Clock

NUMBER = "+22376123456"
PROVIDER_ID = "SM0b6e2697aae04182a9f5b5c7a8994c7f"


class Answers:
    """A provider that accepts every SMS with the same id; `before_return` runs inside
    its API call (what the provider does meanwhile: call our status URL)."""

    name = "console"

    def __init__(self, before_return: Any = None) -> None:
        self.before_return = before_return

    def send(self, to_e164: str, body: str) -> SendResult:
        if self.before_return is not None:
            self.before_return()
        return SendResult.accepted(PROVIDER_ID)


def add(rt: Runtime, now: dt.datetime) -> int:
    with transaction(rt.sessions) as session:
        new_id = enqueue(session, rt.vault, to_e164=NUMBER, body="Merci", purpose="reply", now=now)
    assert new_id is not None
    return new_id


def callback(rt: Runtime, status: OutboxStatus = OutboxStatus.DELIVERED) -> Delivery:
    error = f"undeliverable to {NUMBER}" if status == OutboxStatus.FAILED else None
    return record_delivery(
        rt, provider="console", provider_message_id=PROVIDER_ID, status=status, error=error
    )


def row(rt: Runtime, outbox_id: int) -> OutboxMessage:
    with rt.sessions() as session:
        return session.get_one(OutboxMessage, outbox_id)


def kept(rt: Runtime) -> int:
    with rt.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(KeptStatus)) or 0)


def test_a_callback_before_the_commit_is_applied_by_the_commit(rt: Runtime, clock: Clock) -> None:
    outbox_id = add(rt, clock())
    answers: list[Delivery] = []
    sender = Answers(lambda: answers.append(callback(rt)))
    assert dispatch.dispatch_due(rt, clock(), {"console": sender}).sent == 1
    assert answers == [Delivery.KEPT]
    message = row(rt, outbox_id)
    assert (message.status, message.recipient_enc) == (OutboxStatus.DELIVERED, None)
    assert message.final_at == rt.now()  # when the provider told us
    assert kept(rt) == 0


def test_a_kept_failure_keeps_its_reason_scrubbed_and_no_number(rt: Runtime, clock: Clock) -> None:
    outbox_id = add(rt, clock())
    seen: list[str] = []

    def fail_first() -> None:
        callback(rt, OutboxStatus.FAILED)
        with rt.engine.connect() as conn:
            seen.extend(
                str(v) for v in conn.execute(text("SELECT * FROM outbox_kept_status")).one()
            )

    dispatch.dispatch_due(rt, clock(), {"console": Answers(fail_first)})
    assert seen and not any("76123456" in value for value in seen)
    message = row(rt, outbox_id)
    assert message.status == OutboxStatus.FAILED
    assert message.last_error and "76123456" not in message.last_error


def test_a_kept_delivered_is_not_undone_by_a_later_sent(rt: Runtime, clock: Clock) -> None:
    outbox_id = add(rt, clock())
    sender = Answers(lambda: (callback(rt), callback(rt, OutboxStatus.FAILED)))
    dispatch.dispatch_due(rt, clock(), {"console": sender})
    assert callback(rt, OutboxStatus.SENT) == Delivery.APPLIED
    assert row(rt, outbox_id).status == OutboxStatus.DELIVERED  # the first final one
    assert kept(rt) == 0


def test_a_sent_without_its_row_is_not_kept(rt: Runtime) -> None:
    assert callback(rt, OutboxStatus.SENT) == Delivery.UNKNOWN
    assert kept(rt) == 0


def test_a_kept_status_that_matches_no_send_expires(rt: Runtime, clock: Clock) -> None:
    assert callback(rt) == Delivery.KEPT
    dispatch.dispatch_due(rt, clock.advance(minutes=5), {})
    assert kept(rt) == 1
    dispatch.dispatch_due(rt, clock.advance(seconds=KEEP_FOR.total_seconds()), {})
    assert kept(rt) == 0


def test_the_callback_commits_after_the_send_it_overtook(
    rt: Runtime, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The callback finds no row; before it commits what it keeps, the whole send is
    committed (its own look for kept statuses finds nothing yet): the next outbox
    pass applies it."""
    outbox_id = add(rt, clock())
    found_nothing = delivery.record_status

    def then_the_send_commits(session: Any, **kw: Any) -> bool:
        matched = found_nothing(session, **kw)
        assert not matched
        dispatch.dispatch_due(rt, clock(), {"console": Answers()})
        return matched

    monkeypatch.setattr(delivery, "record_status", then_the_send_commits)
    assert callback(rt) == Delivery.KEPT
    monkeypatch.undo()
    assert row(rt, outbox_id).status == OutboxStatus.SENT
    dispatch.dispatch_due(rt, clock.advance(seconds=1), {})
    assert row(rt, outbox_id).status == OutboxStatus.DELIVERED
    assert kept(rt) == 0


@pytest.mark.postgres
def test_the_send_commits_after_the_callback_that_overtook_it(
    rt: Runtime, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The send's transaction has recorded the id and found nothing kept; before it
    commits, the callback comes, finds no committed row, keeps its status and commits
    (on PostgreSQL nothing waits: the callback's read skips the uncommitted row). The
    next outbox pass applies it."""
    outbox_id = add(rt, clock())
    look = dispatch.apply_kept
    answers: list[Delivery] = []

    def then_the_callback_commits(session: Any, provider: str, provider_id: str) -> int:
        applied = look(session, provider, provider_id)
        answers.append(callback(rt))
        return applied

    monkeypatch.setattr(dispatch, "apply_kept", then_the_callback_commits)
    dispatch.dispatch_due(rt, clock(), {"console": Answers()})
    monkeypatch.undo()
    assert answers == [Delivery.KEPT]
    assert row(rt, outbox_id).status == OutboxStatus.SENT
    dispatch.dispatch_due(rt, clock.advance(seconds=1), {})
    assert row(rt, outbox_id).status == OutboxStatus.DELIVERED
    assert kept(rt) == 0
