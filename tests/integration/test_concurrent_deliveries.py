"""Providers deliver the same message several times at once; it is stored once."""

from __future__ import annotations

import threading

import pytest
from flask import Flask
from sqlalchemy import func, select

from gateway.models import InboundMessage, OutboxMessage, TrustRating
from gateway.runtime import Runtime
from tests.handlers.payloads import at_sms, twilio_sms


def hammer(app: Flask, path: str, form: dict[str, str], n: int = 10) -> list[int]:
    """`n` threads post the same form at the same moment; their status codes."""
    barrier = threading.Barrier(n)
    statuses: list[int] = []
    lock = threading.Lock()

    def post() -> None:
        client = app.test_client()
        barrier.wait()
        code = client.post(path, data=form).status_code
        with lock:
            statuses.append(code)

    threads = [threading.Thread(target=post) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    return statuses


def counts(rt: Runtime) -> tuple[int, int, int]:
    with rt.sessions() as session:
        return tuple(  # type: ignore[return-value]
            int(session.scalar(select(func.count()).select_from(m)) or 0)
            for m in (InboundMessage, TrustRating, OutboxMessage)
        )


@pytest.mark.postgres
def test_ten_concurrent_deliveries_of_one_message_sid_store_one_message(
    app: Flask, rt: Runtime
) -> None:
    statuses = hammer(app, "/webhooks/twilio/sms", twilio_sms(Body="trust 3 gao"))
    assert statuses == [200] * 10
    inbound, ratings, outbox = counts(rt)
    assert (inbound, ratings) == (1, 1)
    assert outbox == 2  # one reply and the first-contact notice, recorded once


@pytest.mark.postgres
def test_ten_concurrent_deliveries_of_one_africastalking_id_store_one_message(
    app: Flask, rt: Runtime
) -> None:
    statuses = hammer(app, "/webhooks/africastalking/sms", at_sms(text="confiance 2 kidal"))
    assert statuses == [200] * 10
    assert counts(rt) == (1, 1, 2)
