"""An urgent report reaches the committee's phone within seconds (issue 15): the clock
checks for urgent reports every few seconds and sends the alert SMS it queued at once,
ahead of a backlog of replies in the outbox."""

from __future__ import annotations

from sqlalchemy import select

from gateway.models import OutboxMessage, OutboxStatus
from gateway.runtime import Runtime
from gateway.scheduler import EVERY, jobs
from gateway.services.alerts.urgent import check_and_send_urgent
from gateway.services.outbox.dispatch import SENDERS_CACHE
from gateway.services.outbox.queue import enqueue
from handlers.console.sender import ConsoleSender
from tests.conftest import Clock
from tests.integration.test_alert_engine import committee, incidents, locality, reporters

MEMBER = "+22376999001"
MENAKA = "ML070403"


def backlog_of_replies(rt: Runtime, clock: Clock, n: int) -> None:
    with rt.sessions() as session, session.begin():
        for k in range(n):
            enqueue(
                session,
                rt.vault,
                to_e164=f"+2237600{k:04d}",
                body="Merci",
                purpose="reply",
                now=clock(),
                dedupe_key=f"reply:at:{k}:0",
            )


def fake_sender(rt: Runtime) -> ConsoleSender:
    sender = ConsoleSender(echo=None)
    names = rt.settings.channels
    rt.cached(SENDERS_CACHE, lambda: dict.fromkeys(names, sender))
    return sender


def statuses(rt: Runtime, purpose: str) -> list[OutboxStatus]:
    with rt.sessions() as session:
        query = select(OutboxMessage.status).where(OutboxMessage.purpose == purpose)
        return list(session.scalars(query))


def test_the_urgent_check_sends_its_alert_at_once_ahead_of_a_backlog_of_replies(
    rt: Runtime, clock: Clock
) -> None:
    committee(rt, None, [MEMBER], clock())  # national: told of every urgent report
    backlog_of_replies(rt, clock, 30)
    sender = fake_sender(rt)
    loc = locality(rt, MENAKA).id
    incidents(rt, loc, reporters(rt, 1, clock()), [clock()], kind="attack", danger_now=True)

    clock.advance(seconds=1)
    check_and_send_urgent(rt, clock())
    assert [to for to, _ in sender.sent] == [MEMBER]  # the alert, and nothing else yet
    assert statuses(rt, "alert") == [OutboxStatus.SENT]
    assert set(statuses(rt, "reply")) == {OutboxStatus.PENDING}

    incidents(rt, loc, reporters(rt, 1, clock()), [clock()], kind="attack", danger_now=True)
    check_and_send_urgent(rt, clock())  # another report of people in danger there
    assert [to for to, _ in sender.sent] == [MEMBER, MEMBER]
    check_and_send_urgent(rt, clock())
    assert len(sender.sent) == 2  # nothing twice


def test_the_clocks_urgent_job_checks_and_sends_every_few_seconds(
    rt: Runtime, clock: Clock
) -> None:
    # The goal is 30 s from the report to the send call; the check's interval is the
    # wait that dominates (the send itself happens in the same job).
    assert EVERY["urgent"] <= 5
    committee(rt, None, [MEMBER], clock())
    sender = fake_sender(rt)
    loc = locality(rt, MENAKA).id
    incidents(rt, loc, reporters(rt, 1, clock()), [clock()], kind="attack", danger_now=True)
    jobs(rt)["urgent"]()
    assert [to for to, _ in sender.sent] == [MEMBER]
