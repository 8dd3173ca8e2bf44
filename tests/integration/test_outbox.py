"""The outbox: enqueue, claim, send, retry with backoff, fail over, dead letters,
delivery reports, expired leases, and two dispatchers draining one outbox."""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from flask import Flask
from sqlalchemy import func, select, text

from gateway.db import transaction
from gateway.domain.backoff import RetryPolicy
from gateway.models import OutboxMessage, OutboxStatus
from gateway.ports import SendResult
from gateway.runtime import Runtime
from gateway.services.outbox.dispatch import (
    SENDERS_CACHE,
    dispatch_all_due,
    dispatch_due,
    record_send_result,
)
from gateway.services.outbox.queue import claim_due, enqueue, record_status, retry_dead
from handlers.console.sender import ConsoleSender
from tests.conftest import Clock

NUMBER = "+22376123456"
MASKED = "+223******56"
RETRY = SendResult.retryable("503 try later")


class Fixed:
    """Jitter that always draws the top of the range, so delays are predictable."""

    def random(self) -> float:
        return 1.0


def add(rt: Runtime, now: dt.datetime, body: str = "Alerte A12: tirs a Sevare", **kw: Any) -> int:
    with transaction(rt.sessions) as session:
        new_id = enqueue(
            session, rt.vault, to_e164=NUMBER, body=body, purpose="alert", now=now, **kw
        )
    assert new_id is not None
    return new_id


def row(rt: Runtime, outbox_id: int) -> OutboxMessage:
    with rt.sessions() as session:
        found = session.get(OutboxMessage, outbox_id)
        assert found is not None
        return found


def fakes(rt: Runtime, **senders: ConsoleSender) -> dict[str, ConsoleSender]:
    """Install fake senders as the runtime's own (what `outbox dispatch` uses)."""
    return rt.cached(SENDERS_CACHE, lambda: senders)


# --- enqueue --------------------------------------------------------------------------


def test_enqueue_stores_no_number_in_clear(rt: Runtime, clock: Clock) -> None:
    outbox_id = add(rt, clock())
    with rt.engine.connect() as conn:
        stored = conn.execute(text("SELECT * FROM outbox WHERE id = :id"), {"id": outbox_id})
        values = [str(v) for v in stored.one()]
    assert not any("76123456" in v for v in values)
    message = row(rt, outbox_id)
    assert message.recipient_hint == MASKED
    assert message.recipient_enc and rt.vault.decrypt(message.recipient_enc) == NUMBER
    assert (message.status, message.attempts, message.next_attempt_at) == (
        OutboxStatus.PENDING,
        0,
        clock(),
    )


@pytest.mark.parametrize("purpose", ["reply", "info"])
def test_a_citizens_number_leaves_no_digit_in_its_hint(
    rt: Runtime, clock: Clock, purpose: str
) -> None:
    """A reply's or an information message's hint keeps the country only: the Envois page
    showed a reporter's last two digits beside the minute of the reply."""
    with transaction(rt.sessions) as session:
        new_id = enqueue(
            session, rt.vault, to_e164=NUMBER, body="Merci", purpose=purpose, now=clock()
        )
    assert new_id is not None
    assert row(rt, new_id).recipient_hint == "+223********"


def test_dedupe_key_makes_a_second_enqueue_a_no_op(rt: Runtime, clock: Clock) -> None:
    first = add(rt, clock(), body="first", dedupe_key="alert:1:member:2:sev:3")
    with transaction(rt.sessions) as session:
        again = enqueue(
            session,
            rt.vault,
            to_e164=NUMBER,
            body="second",
            purpose="alert",
            now=clock(),
            dedupe_key="alert:1:member:2:sev:3",
        )
        assert again is None
    with rt.sessions() as session:
        assert session.scalars(select(OutboxMessage.body)).all() == ["first"]
    assert row(rt, first).body == "first"


@pytest.mark.parametrize(
    ("to", "body", "purpose"),
    [(NUMBER, "", "reply"), (NUMBER, "  \n", "reply"), ("76123456", "x", "reply")],
)
def test_enqueue_refuses_an_empty_body_or_a_number_not_e164(
    rt: Runtime, clock: Clock, to: str, body: str, purpose: str
) -> None:
    with rt.sessions() as session, pytest.raises(ValueError):
        enqueue(session, rt.vault, to_e164=to, body=body, purpose=purpose, now=clock())


# --- dispatch -------------------------------------------------------------------------


def test_dispatch_with_the_console_sends_marks_sent_and_writes_the_masked_number(
    rt: Runtime, clock: Clock
) -> None:
    outbox_id = add(rt, clock(), body="Merci, votre note est recue.")
    summary = dispatch_due(rt, clock())
    assert (summary.claimed, summary.sent) == (1, 1)
    message = row(rt, outbox_id)
    assert message.status == OutboxStatus.SENT
    assert message.provider == "console"
    assert (message.provider_message_id or "").startswith("console-")
    assert (message.sent_at, message.lease_until, message.attempts) == (clock(), None, 1)
    lines = Path(rt.settings.console_sms_file or "").read_text("utf-8").splitlines()
    assert [json.loads(line) for line in lines] == [
        {"to": MASKED, "body": "Merci, votre note est recue.", "at": clock().isoformat()}
    ]
    assert dispatch_due(rt, clock.advance(hours=1)).claimed == 0


def test_outbox_dispatch_sends_everything_due_not_one_batch(
    app: Flask, rt: Runtime, clock: Clock
) -> None:
    """An alert queued behind 20 replies goes out in the same run (issue 10, point 3)."""
    for n in range(45):
        add(rt, clock(), body=f"Reponse {n}", dedupe_key=f"reply:{n}")
    alert = add(rt, clock(), body="ALERTE A101", dedupe_key="alert:1")
    result = app.test_cli_runner().invoke(args=["outbox", "dispatch"])
    assert result.exit_code == 0, result.output
    assert "claimed 46, sent 46" in result.output
    assert row(rt, alert).status == OutboxStatus.SENT


def test_a_dispatch_run_is_bounded(rt: Runtime, clock: Clock) -> None:
    for n in range(7):
        add(rt, clock(), body=f"Reponse {n}", dedupe_key=f"reply:{n}")
    assert dispatch_all_due(rt, clock(), limit=2, max_batches=2).claimed == 4
    assert dispatch_all_due(rt, clock(), limit=2).claimed == 3


def test_retryable_failures_back_off_then_fail_over_then_end_dead(
    rt: Runtime, clock: Clock
) -> None:
    primary = ConsoleSender(script=[RETRY] * 3)
    fallback = ConsoleSender(name="twilio", script=[RETRY] * 5)
    senders = {"console": primary, "twilio": fallback}
    rt = _with_fallback(rt)
    outbox_id = add(rt, clock())
    waits = []
    for attempt in range(1, 8):
        summary = dispatch_due(rt, clock(), senders, Fixed())
        assert (summary.claimed, summary.retried) == (1, 1)
        message = row(rt, outbox_id)
        assert (message.status, message.attempts) == (OutboxStatus.PENDING, attempt)
        assert message.provider == ("console" if attempt <= 3 else "twilio")
        wait = message.next_attempt_at - clock()
        waits.append(wait.total_seconds())
        clock.advance(seconds=wait.total_seconds() - 1)
        assert dispatch_due(rt, clock(), senders, Fixed()).claimed == 0  # not yet due
        clock.advance(seconds=1)
    assert waits == [30, 60, 120, 240, 480, 960, 1920]
    assert (len(primary.attempts), len(fallback.attempts)) == (3, 4)

    summary = dispatch_due(rt, clock(), senders, Fixed())
    assert (summary.dead, summary.failed_over) == (1, 1)
    dead = row(rt, outbox_id)
    assert (dead.status, dead.attempts, dead.final_at) == (OutboxStatus.DEAD, 8, clock())
    assert dead.last_error == "503 try later"
    assert dead.recipient_enc is not None  # kept, so an admin can retry
    assert dispatch_due(rt, clock.advance(days=1), senders, Fixed()).claimed == 0

    with transaction(rt.sessions) as session:
        assert retry_dead(session, outbox_id, clock())
    summary = dispatch_due(rt, clock(), senders, Fixed())
    assert summary.sent == 1
    assert primary.sent == [(NUMBER, "Alerte A12: tirs a Sevare")]
    assert row(rt, outbox_id).status == OutboxStatus.SENT


def test_the_fallback_provider_delivers_what_the_primary_could_not(
    rt: Runtime, clock: Clock
) -> None:
    rt = _with_fallback(rt)
    senders = {"console": ConsoleSender(script=[RETRY] * 3), "twilio": ConsoleSender(name="twilio")}
    outbox_id = add(rt, clock())
    for _ in range(4):
        dispatch_due(rt, clock(), senders, Fixed())
        clock.advance(hours=1)
    message = row(rt, outbox_id)
    assert (message.status, message.provider, message.attempts) == (OutboxStatus.SENT, "twilio", 4)
    assert senders["twilio"].sent == [(NUMBER, "Alerte A12: tirs a Sevare")]


def test_a_permanent_error_fails_at_once_and_erases_the_number(rt: Runtime, clock: Clock) -> None:
    sender = fakes(
        rt, console=ConsoleSender(script=[SendResult.permanent("403 InvalidPhoneNumber")])
    )
    outbox_id = add(rt, clock())
    assert dispatch_due(rt, clock()).failed == 1
    message = row(rt, outbox_id)
    assert (message.status, message.final_at, message.recipient_enc) == (
        OutboxStatus.FAILED,
        clock(),
        None,
    )
    assert message.last_error == "403 InvalidPhoneNumber"
    assert dispatch_due(rt, clock.advance(days=1)).claimed == 0
    assert sender["console"].sent == []
    with transaction(rt.sessions) as session:
        assert not retry_dead(session, outbox_id, clock())  # failed is not dead


def test_a_send_refused_because_the_number_opted_out_at_the_provider_opts_it_out(
    rt: Runtime, clock: Clock
) -> None:
    from gateway.models import Reporter
    from gateway.services.intake.reporters import identify_reporter

    with transaction(rt.sessions) as session:
        reporter_id = identify_reporter(session, rt.pseudonyms, NUMBER, clock()).id
    refused = SendResult.permanent("twilio error 21610 (HTTP 400)", opted_out=True)
    fakes(rt, console=ConsoleSender(script=[refused]))
    add(rt, clock())
    assert dispatch_due(rt, clock()).failed == 1
    with rt.sessions() as session:
        assert session.get_one(Reporter, reporter_id).opted_out


def test_a_sender_that_raises_is_a_retryable_failure(rt: Runtime, clock: Clock) -> None:
    class Broken:
        name = "console"

        def send(self, to_e164: str, body: str) -> SendResult:
            raise RuntimeError("bug")

    outbox_id = add(rt, clock())
    assert dispatch_due(rt, clock(), {"console": Broken()}).retried == 1
    assert row(rt, outbox_id).last_error == "sender raised RuntimeError"


def test_error_text_is_scrubbed_of_numbers(rt: Runtime, clock: Clock) -> None:
    fakes(rt, console=ConsoleSender(script=[SendResult.permanent(f"bad number {NUMBER}")]))
    outbox_id = add(rt, clock())
    dispatch_due(rt, clock())
    assert NUMBER not in (row(rt, outbox_id).last_error or "")


# --- delivery reports -----------------------------------------------------------------


def _sent(rt: Runtime, clock: Clock) -> tuple[int, str]:
    outbox_id = add(rt, clock())
    dispatch_due(rt, clock())
    provider_id = row(rt, outbox_id).provider_message_id
    assert provider_id
    return outbox_id, provider_id


def _report(rt: Runtime, provider_id: str, status: OutboxStatus, now: dt.datetime) -> bool:
    with transaction(rt.sessions) as session:
        return record_status(
            session,
            provider="console",
            provider_message_id=provider_id,
            status=status,
            error="DeliveryFailure" if status == OutboxStatus.FAILED else None,
            now=now,
        )


def test_delivered_erases_the_number_and_never_moves_back(rt: Runtime, clock: Clock) -> None:
    outbox_id, provider_id = _sent(rt, clock)
    delivered_at = clock.advance(minutes=1)
    assert _report(rt, provider_id, OutboxStatus.DELIVERED, delivered_at)
    message = row(rt, outbox_id)
    assert (message.status, message.final_at, message.recipient_enc) == (
        OutboxStatus.DELIVERED,
        delivered_at,
        None,
    )
    # A late `sent`, or a contradicting failure, changes nothing.
    assert _report(rt, provider_id, OutboxStatus.SENT, clock.advance(minutes=1))
    assert _report(rt, provider_id, OutboxStatus.FAILED, clock.advance(minutes=1))
    again = row(rt, outbox_id)
    assert (again.status, again.final_at, again.last_error) == (
        OutboxStatus.DELIVERED,
        delivered_at,
        None,
    )


def test_a_failure_report_is_final_and_erases_the_number(rt: Runtime, clock: Clock) -> None:
    outbox_id, provider_id = _sent(rt, clock)
    assert _report(rt, provider_id, OutboxStatus.SENT, clock())
    assert row(rt, outbox_id).status == OutboxStatus.SENT
    assert _report(rt, provider_id, OutboxStatus.FAILED, clock())
    message = row(rt, outbox_id)
    assert (message.status, message.recipient_enc, message.last_error) == (
        OutboxStatus.FAILED,
        None,
        "DeliveryFailure",
    )
    assert _report(rt, provider_id, OutboxStatus.DELIVERED, clock())
    assert row(rt, outbox_id).status == OutboxStatus.FAILED


def test_a_report_for_an_unknown_message_returns_false(rt: Runtime, clock: Clock) -> None:
    _, provider_id = _sent(rt, clock)
    assert not _report(rt, "ATXid_never_sent", OutboxStatus.DELIVERED, clock())
    with transaction(rt.sessions) as session:
        assert not record_status(
            session,
            provider="twilio",  # right id, wrong provider
            provider_message_id=provider_id,
            status=OutboxStatus.DELIVERED,
            error=None,
            now=clock(),
        )


# --- leases ---------------------------------------------------------------------------


def test_an_expired_lease_is_claimed_again_and_the_late_result_is_dropped(
    rt: Runtime, clock: Clock
) -> None:
    outbox_id = add(rt, clock())
    (stale,) = claim_due(rt.sessions, rt.vault, clock(), lease=dt.timedelta(seconds=60))
    assert row(rt, outbox_id).status == OutboxStatus.SENDING
    # The dispatcher that claimed it is killed before sending.
    assert claim_due(rt.sessions, rt.vault, clock.advance(seconds=59)) == []
    console = fakes(rt, console=ConsoleSender())["console"]
    summary = dispatch_due(rt, clock.advance(seconds=2))
    assert summary.sent == 1
    message = row(rt, outbox_id)
    assert (message.status, message.attempts) == (OutboxStatus.SENT, 2)
    assert len(console.sent) == 1
    # The killed dispatcher's result, should it arrive late, is fenced out.
    late = record_send_result(
        rt,
        stale,
        "console",
        SendResult.permanent("late"),
        clock(),
        RetryPolicy(),
        Fixed(),
    )
    assert late is None
    assert row(rt, outbox_id).status == OutboxStatus.SENT


def test_claims_come_oldest_first_and_respect_the_limit(rt: Runtime, clock: Clock) -> None:
    ids = [add(rt, clock(), body=f"m{i}") for i in range(5)]
    first = claim_due(rt.sessions, rt.vault, clock(), limit=3)
    second = claim_due(rt.sessions, rt.vault, clock(), limit=3)
    assert [c.id for c in first] == ids[:3]
    assert [c.id for c in second] == ids[3:]
    assert all(c.to_e164 == NUMBER and c.attempts == 1 for c in first + second)
    assert NUMBER not in repr(first)


def test_a_number_that_cannot_be_decrypted_goes_dead_unsent(rt: Runtime, clock: Clock) -> None:
    outbox_id = add(rt, clock())
    with transaction(rt.sessions) as session:
        session.get_one(OutboxMessage, outbox_id).recipient_enc = "not-a-fernet-token"
    assert claim_due(rt.sessions, rt.vault, clock()) == []
    assert row(rt, outbox_id).status == OutboxStatus.DEAD


# --- command line ---------------------------------------------------------------------


def _cli(app: Flask, *args: str) -> Result:
    result: Result = app.test_cli_runner().invoke(args=list(args))
    return result


def test_cli_dispatch_lists_and_retries_dead_letters(app: Flask, rt: Runtime, clock: Clock) -> None:
    console = fakes(rt, console=ConsoleSender(script=[RETRY] * 8))["console"]
    outbox_id = add(rt, clock())
    for _ in range(8):
        result = _cli(app, "outbox", "dispatch")
        assert result.exit_code == 0, result.output
        clock.advance(hours=2)
    assert "dead 1" in result.output
    listing = _cli(app, "outbox", "dead")
    assert f"{outbox_id}\t" in listing.output
    assert MASKED in listing.output and NUMBER not in listing.output
    assert "503 try later" in listing.output
    assert _cli(app, "outbox", "retry", str(outbox_id)).exit_code == 0
    assert "sent 1" in _cli(app, "outbox", "dispatch").output
    assert console.sent == [(NUMBER, "Alerte A12: tirs a Sevare")]
    refused = _cli(app, "outbox", "retry", str(outbox_id))
    assert refused.exit_code != 0
    assert "not a dead letter" in refused.output
    assert _cli(app, "outbox", "dead").output.strip() == "no dead letters"


# --- two dispatchers ------------------------------------------------------------------


class CountingSender:
    """Counts sends per body (each body is one outbox row) across threads."""

    name = "console"

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self._lock = threading.Lock()

    def send(self, to_e164: str, body: str) -> SendResult:
        with self._lock:
            self.counts[body] += 1
        time.sleep(0.001)  # lets the other dispatcher interleave
        return SendResult.accepted(f"count-{body}")


@pytest.mark.postgres
def test_two_dispatchers_send_every_message_exactly_once(rt: Runtime, clock: Clock) -> None:
    bodies = [f"message {i}" for i in range(200)]
    with transaction(rt.sessions) as session:
        for body in bodies:
            enqueue(session, rt.vault, to_e164=NUMBER, body=body, purpose="alert", now=clock())
    sender = CountingSender()
    runtimes = [Runtime(rt.settings, clock, rt.sender_factories) for _ in range(2)]
    start = threading.Barrier(2)
    claimed: list[int] = [0, 0]
    errors: list[BaseException] = []

    def drain(index: int) -> Callable[[], None]:
        def run() -> None:
            try:
                start.wait()
                while n := dispatch_due(
                    runtimes[index], clock(), {"console": sender}, limit=7
                ).claimed:
                    claimed[index] += n
            except BaseException as exc:  # surfaced in the main thread
                errors.append(exc)

        return run

    threads = [threading.Thread(target=drain(i)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    for runtime in runtimes:
        runtime.close()
    assert not errors
    assert sum(claimed) == 200
    assert sender.counts == Counter({body: 1 for body in bodies})
    with rt.sessions() as session:
        statuses = session.execute(
            select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
        ).all()
    assert statuses == [(OutboxStatus.SENT, 200)]


def _with_fallback(rt: Runtime) -> Runtime:
    """The same runtime with SMS_FALLBACK_PROVIDER=twilio (senders are passed in)."""
    rt.settings = replace(rt.settings, sms_fallback_provider="twilio")
    return rt
