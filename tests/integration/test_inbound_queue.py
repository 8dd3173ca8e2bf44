"""Store first, answer at once, handle after: the SMS webhooks only store; workers claim
stored messages under a lease, handle them in order per phone, retry and bury."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from click.testing import Result
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from gateway.models import (
    InboundMessage,
    OutboxMessage,
    OutboxStatus,
    Outcome,
    Reporter,
    Role,
    TrustRating,
)
from gateway.runtime import Runtime
from gateway.services.intake import simulated, sms
from gateway.services.intake.inbound_queue import (
    LEASE,
    POLICY,
    backlog,
    claim_inbound,
    dead_inbound,
    retry_dead_inbound,
)
from gateway.services.intake.sms import handle_claim
from gateway.services.intake.worker import drain, handle_due
from tests.conftest import Clock
from tests.console.conftest import add_user, login
from tests.handlers.payloads import OTHER_PHONE, PHONE, at_sms, twilio_sms

AT_SMS = "/webhooks/africastalking/sms"
TWILIO_SMS = "/webhooks/twilio/sms"


@pytest.fixture
def app(make_app: Callable[..., Flask]) -> Flask:
    return make_app(SMS_HANDLING="queue")


def post(client: FlaskClient, n: int, text: str, phone: str = PHONE) -> int:
    return client.post(
        AT_SMS, data=at_sms(id=f"ATXid_q{n}", text=text, **{"from": phone})
    ).status_code


def outcomes(rt: Runtime) -> dict[str, Outcome]:
    with rt.sessions() as session:
        rows = session.execute(select(InboundMessage.provider_id, InboundMessage.outcome))
        return {pid: outcome for pid, outcome in rows}


def replies(rt: Runtime) -> list[str | None]:
    with rt.sessions() as session:
        return list(session.scalars(select(OutboxMessage.dedupe_key).order_by(OutboxMessage.id)))


def count(rt: Runtime, model: Any) -> int:
    with rt.sessions() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def test_the_webhook_stores_and_answers_and_a_worker_handles_later(
    client: FlaskClient, rt: Runtime
) -> None:
    assert post(client, 1, "CONFIANCE 4 Sevare") == 200
    assert outcomes(rt) == {"ATXid_q1": Outcome.RECEIVED}
    assert count(rt, TrustRating) == 0 and replies(rt) == []  # nothing handled yet
    assert count(rt, Reporter) == 0

    summary = handle_due(rt, rt.now())
    assert (summary.claimed, summary.handled) == (1, 1)
    assert outcomes(rt) == {"ATXid_q1": Outcome.PROCESSED}
    assert count(rt, TrustRating) == 1
    assert replies(rt)[0] == "reply:africastalking:ATXid_q1:0"
    with rt.sessions() as session:
        row = session.scalars(select(InboundMessage)).one()
        assert (row.lease_until, row.attempts, row.reporter_id is not None) == (None, 1, True)


def test_a_redelivery_before_or_after_handling_is_handled_once(
    client: FlaskClient, rt: Runtime
) -> None:
    assert post(client, 1, "CONFIANCE 4 Sevare") == 200
    assert client.post(AT_SMS, data=at_sms(id="ATXid_q1")).get_data(as_text=True) == "duplicate"
    drain(rt)
    assert post(client, 1, "CONFIANCE 4 Sevare") == 200  # the provider retries again
    drain(rt)
    assert count(rt, InboundMessage) == 1 and count(rt, TrustRating) == 1
    assert len([k for k in replies(rt) if k and k.startswith("reply:")]) == len(set(replies(rt)))


def test_one_phones_messages_are_handled_in_the_order_received(
    client: FlaskClient, rt: Runtime
) -> None:
    """LIEU then CONFIANCE without a place: the rating lands in the place set first,
    which only holds if the first message is handled before the second."""
    assert post(client, 1, "LIEU Gao") == 200
    assert post(client, 2, "CONFIANCE 2") == 200
    assert post(client, 3, "AIDE", phone=OTHER_PHONE) == 200
    first = claim_inbound(rt.sessions, rt.now())
    assert [c.provider_id for c in first] == ["ATXid_q1", "ATXid_q3"]  # one per phone
    assert claim_inbound(rt.sessions, rt.now()) == []  # q2 waits for q1
    for claim in first:
        assert handle_claim(rt, claim) is not None
    [second] = claim_inbound(rt.sessions, rt.now())
    assert second.provider_id == "ATXid_q2"
    handle_claim(rt, second)
    with rt.sessions() as session:
        rating = session.scalars(select(TrustRating)).one()
        reporter = session.get_one(Reporter, rating.reporter_id)
        assert rating.locality_id == reporter.home_locality_id is not None


def test_a_dead_workers_lease_runs_out_and_another_worker_handles_the_row_once(
    client: FlaskClient, rt: Runtime, clock: Clock
) -> None:
    assert post(client, 1, "CONFIANCE 4 Sevare") == 200
    [stale] = claim_inbound(rt.sessions, rt.now())  # then the worker dies
    assert claim_inbound(rt.sessions, rt.now()) == []  # held
    clock.advance(seconds=LEASE.total_seconds() + 1)
    [fresh] = claim_inbound(rt.sessions, rt.now())
    assert (fresh.id, fresh.attempts) == (stale.id, 2)
    assert handle_claim(rt, stale) is None  # a late worker is fenced out
    assert handle_claim(rt, fresh) is not None
    assert count(rt, TrustRating) == 1 and outcomes(rt) == {"ATXid_q1": Outcome.PROCESSED}


def test_a_message_whose_handling_keeps_failing_is_retried_then_dead_then_retried_by_hand(
    client: FlaskClient, rt: Runtime, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_args: Any, **_kw: Any) -> list[str]:
        raise RuntimeError("a bug in handling")

    monkeypatch.setattr(sms, "_handle", broken)
    assert post(client, 1, "CONFIANCE 4 Sevare") == 200
    assert post(client, 2, "AIDE") == 200  # the same phone: waits behind the failing one
    for attempt in range(1, POLICY.max_attempts + 1):
        summary = handle_due(rt, rt.now())
        assert (summary.claimed, summary.retried) == (1, 1), attempt
        clock.advance(seconds=POLICY.cap.total_seconds() + 1)
    assert outcomes(rt)["ATXid_q1"] == Outcome.DEAD
    with rt.sessions() as session:
        [dead] = dead_inbound(session)
        assert (dead.attempts, dead.last_error) == (POLICY.max_attempts, "RuntimeError")
        assert backlog(session) == {"waiting": 1, "handling": 0, "dead": 1}

    monkeypatch.undo()
    assert drain(rt).handled == 1  # a dead message no longer holds up the phone's next
    with rt.sessions() as session, session.begin():
        assert retry_dead_inbound(session, dead.id, rt.now())
    assert drain(rt).handled == 1
    assert set(outcomes(rt).values()) <= {Outcome.PROCESSED, Outcome.HELP}
    assert count(rt, TrustRating) == 1


def test_a_twilio_sms_answers_empty_twiml_and_its_reply_goes_through_the_outbox(
    client: FlaskClient, rt: Runtime
) -> None:
    response = client.post(TWILIO_SMS, data=twilio_sms())
    assert response.status_code == 200 and "<Message>" not in response.get_data(as_text=True)
    drain(rt)
    with rt.sessions() as session:
        sent = session.scalars(select(OutboxMessage)).all()
    assert sent and all(m.status == OutboxStatus.PENDING and m.recipient_enc for m in sent)
    assert all((m.dedupe_key or "").startswith("reply:twilio:SM") for m in sent)


def test_the_cli_works_the_queue_and_lists_and_retries_the_dead(
    app: Flask, client: FlaskClient, rt: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner = app.test_cli_runner()

    def run(*args: str) -> Result:
        result = runner.invoke(args=["inbound", *args])
        assert result.exit_code == 0, result.output
        return result

    assert post(client, 1, "AIDE") == 200
    assert "waiting 1" in run("status").output
    assert "handled 1" in run("handle").output
    assert "no dead inbound SMS" in run("dead").output
    failed = runner.invoke(args=["inbound", "retry", "1"])
    assert failed.exit_code != 0 and "not dead" in failed.output


def test_the_console_shows_the_queue_and_dead_sms(
    client: FlaskClient, rt: Runtime, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sms, "_handle", lambda *a, **k: 1 / 0)
    assert post(client, 1, "AIDE") == 200
    for _ in range(POLICY.max_attempts):
        handle_due(rt, rt.now())
        clock.advance(hours=1)
    user = add_user(rt, Role.ADMIN)
    assert login(client, user.email).status_code == 302
    page = client.get("/console/outbox").get_data(as_text=True)
    assert "ZeroDivisionError" in page and "/console/outbox/inbound/1/retry" in page
    assert client.post("/console/outbox/inbound/1/retry").status_code == 302
    assert outcomes(rt) == {"ATXid_q1": Outcome.RECEIVED}


def test_sim_sms_still_prints_the_reply(app: Flask) -> None:
    result = app.test_cli_runner().invoke(args=["sim", "sms", PHONE, "AIDE"])
    assert result.exit_code == 0, result.output
    assert "<- " in result.output and "(no reply)" not in result.output


@pytest.mark.postgres
def test_two_workers_draining_at_once_handle_every_message_once(
    client: FlaskClient, rt: Runtime
) -> None:
    phones = [f"+2237000{n:04d}" for n in range(40)]
    for n in range(200):
        assert post(client, n, f"CONFIANCE {1 + n % 5} Sevare", phone=phones[n % 40]) == 200
    errors: list[BaseException] = []

    def work() -> None:
        try:
            while handle_due(rt, rt.now(), limit=7).claimed:
                pass
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors
    drain(rt)  # a worker may stop while another still held a phone's earlier message
    assert set(outcomes(rt).values()) == {Outcome.PROCESSED}
    assert count(rt, TrustRating) == 200
    keys = replies(rt)
    assert len(keys) == len(set(keys)) >= 200


def test_handling_uses_the_time_the_message_was_received(
    client: FlaskClient, rt: Runtime, clock: Clock
) -> None:
    received = rt.now()
    assert post(client, 1, "CONFIANCE 4 Sevare") == 200
    clock.advance(minutes=30)
    drain(rt)
    with rt.sessions() as session:
        rating = session.scalars(select(TrustRating)).one()
    assert rating.rated_at == received != rt.now()


def test_the_console_simulator_still_shows_the_reply(client: FlaskClient, rt: Runtime) -> None:
    user = add_user(rt, Role.ADMIN)
    assert login(client, user.email).status_code == 302
    form = {"phone": "+22370000001", "channel": "sms", "text": "AIDE", "action": "send"}
    page = client.post("/console/simulator", data=form).get_data(as_text=True)
    assert "CONFIANCE 1 à 5" in page
    assert outcomes(rt) and Outcome.RECEIVED not in outcomes(rt).values()


def test_a_handling_that_sets_no_outcome_still_releases_its_row(
    client: FlaskClient, rt: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sms, "_set", lambda *_a, **_k: None)
    assert post(client, 1, "AIDE") == 200
    assert drain(rt).handled == 1
    with rt.sessions() as session:
        row = session.scalars(select(InboundMessage)).one()
    assert (row.outcome, row.lease_until) == (Outcome.PROCESSED, None)


def test_the_providers_opt_out_reading_is_kept_with_the_message_for_its_handling(
    client: FlaskClient, rt: Runtime
) -> None:
    form = twilio_sms(Body="bonjour a tous", OptOutType="STOP")
    assert client.post(TWILIO_SMS, data=form).status_code == 200
    drain(rt)
    with rt.sessions() as session:
        assert session.scalars(select(Reporter.opted_out)).one() is True


def test_sim_sms_waits_for_the_reply_of_a_message_another_worker_holds(
    app: Flask, rt: Runtime
) -> None:
    """The clock of `scripts/run` handles the queue too: when it claims the simulated SMS
    first, the simulator must wait for that handling, not print '(no reply)'."""
    real_drain = simulated.drain
    done: list[threading.Thread] = []

    def clock_first(rt_: Runtime, **kwargs: Any) -> Any:
        if not done:  # the clock claims the message just before the simulator's drain
            claims = claim_inbound(rt_.sessions, rt_.now())
            assert claims
            thread = threading.Timer(0.3, lambda: [handle_claim(rt_, c) for c in claims])
            thread.start()
            done.append(thread)
        return real_drain(rt_, **kwargs)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(simulated, "drain", clock_first)
        result = app.test_cli_runner().invoke(args=["sim", "sms", PHONE, "AIDE"])
    done[0].join()
    assert result.exit_code == 0, result.output
    assert "<- " in result.output and "(no reply)" not in result.output
