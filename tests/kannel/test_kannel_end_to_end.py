"""The Kannel channel against a real bearerbox and smsbox with Kannel's fake SMSC: a
message typed at the fake SMSC reaches the gateway and is answered, the answer comes
back out at the fake SMSC, UCS-2 text survives both ways, and delivery reports move
the outbox rows. Runs on SQLite and on PostgreSQL like the rest of the suite."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

from flask import Flask
from sqlalchemy import select

from gateway.db import transaction
from gateway.models import InboundMessage, OutboxMessage, OutboxStatus
from gateway.runtime import Runtime
from gateway.services.outbox.dispatch import dispatch_due
from gateway.services.outbox.queue import enqueue
from tests.kannel.harness import Kannel

PHONE = "+22376123456"
BAMBARA = "Ɛ bɛ ɲɔgɔn dɛmɛ: kɔrɔfɔli"  # ɛ ɔ ɲ are outside GSM 7-bit: UCS-2 both ways


def runtime(app: Flask) -> Runtime:
    rt: Runtime = app.extensions["gateway"]
    return rt


def eventually(check: Callable[[], object], seconds: float = 15.0) -> object:
    """The first truthy value of `check`, polled until `seconds` pass (then fail)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"not within {seconds} s")


def inbound_texts(rt: Runtime) -> list[str]:
    with rt.sessions() as session:
        rows = session.scalars(select(InboundMessage).where(InboundMessage.provider == "kannel"))
        return [json.loads(rt.vault.decrypt(r.payload_enc or ""))["text"] for r in rows]


def outbox(rt: Runtime) -> list[OutboxMessage]:
    with rt.sessions() as session:
        return list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def test_an_sms_typed_at_the_fake_smsc_is_answered_back_through_kannel(
    kannel: Kannel, kannel_app: Flask
) -> None:
    rt = runtime(kannel_app)
    before = len(kannel.sent_to_phones())
    kannel.type_mo(PHONE, "CONFIANCE 4 Mopti")
    eventually(lambda: len(outbox(rt)) >= 1)
    assert inbound_texts(rt) == ["CONFIANCE 4 Mopti"]
    replies = outbox(rt)
    assert {r.channel for r in replies} == {"kannel"}  # back the way it came
    summary = dispatch_due(rt, rt.now())
    assert summary.sent == len(replies), summary
    phones = kannel.wait_for_mt(before + len(replies))[before:]
    assert [(m.receiver, m.sender) for m in phones] == [(PHONE, "36000")] * len(replies)
    assert [m.text for m in phones] == [r.body for r in replies]
    assert all(m.kind != "ucs-2" for m in phones)  # GSM text went as coding 0


def test_a_delivery_report_from_kannel_marks_the_outbox_row_delivered(
    kannel: Kannel, kannel_app: Flask
) -> None:
    rt = runtime(kannel_app)
    before = len(kannel.sent_to_phones())
    with transaction(rt.sessions) as session:
        enqueue(session, rt.vault, to_e164=PHONE, body="Alerte A12", purpose="alert", now=rt.now())
    assert dispatch_due(rt, rt.now()).sent == 1
    kannel.wait_for_mt(before + 1)
    (row,) = outbox(rt)
    assert row.provider == "kannel" and row.provider_message_id

    def delivered() -> bool:
        # A report that overtook its send's commit is kept and applied by the next
        # outbox pass, which the clock runs every 10 s: run it as the clock would.
        dispatch_due(rt, rt.now())
        (current,) = outbox(rt)
        return current.status == OutboxStatus.DELIVERED

    eventually(delivered)
    (row,) = outbox(rt)
    assert row.recipient_enc is None  # final: the number is erased


def test_ucs2_text_in_bambara_round_trips_through_kannel(kannel: Kannel, kannel_app: Flask) -> None:
    rt = runtime(kannel_app)
    before = len(kannel.sent_to_phones())
    kannel.type_mo(PHONE, BAMBARA)
    eventually(lambda: inbound_texts(rt))
    assert inbound_texts(rt) == [BAMBARA]
    with transaction(rt.sessions) as session:
        enqueue(session, rt.vault, to_e164=PHONE, body=BAMBARA, purpose="info", now=rt.now())
    sent = dispatch_due(rt, rt.now()).sent  # the MO's own replies, then ours
    to_phone = kannel.wait_for_mt(before + sent)[before:]
    ucs2 = [m for m in to_phone if m.text == BAMBARA]
    assert len(ucs2) == 1 and ucs2[0].kind == "ucs-2", to_phone


def test_a_kannel_mo_without_the_token_is_refused_and_not_stored(
    kannel: Kannel, kannel_app: Flask
) -> None:
    rt = runtime(kannel_app)
    client = kannel_app.test_client()
    answer = client.get("/webhooks/kannel/sms", query_string={"sender": PHONE, "id": "x1"})
    assert answer.status_code == 403
    assert inbound_texts(rt) == []
