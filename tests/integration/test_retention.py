"""Retention: raw payloads, free text and the numbers of final SMS are erased on time."""

from __future__ import annotations

from flask.testing import FlaskClient
from sqlalchemy import select

from gateway.models import InboundMessage, Incident, OutboxMessage, Reporter
from gateway.runtime import Runtime
from gateway.services.outbox.dispatch import dispatch_due
from gateway.services.upkeep.purge import purge_expired
from tests.conftest import Clock
from tests.handlers.payloads import at_sms


def state(rt: Runtime) -> tuple[bool, bool, bool]:
    with rt.sessions() as s:
        payload = s.scalars(select(InboundMessage.payload_enc)).first()
        text = s.scalars(select(Incident.text_enc)).first()
        number = s.scalars(select(OutboxMessage.recipient_enc)).first()
    return payload is not None, text is not None, number is not None


def test_purge_erases_each_kind_after_its_period_and_not_before(
    client: FlaskClient, rt: Runtime, clock: Clock
) -> None:
    client.post(
        "/webhooks/africastalking/sms", data=at_sms(text="INCIDENT Gao tirs pres du marche")
    )
    dispatch_due(rt, clock())  # the reply is sent: its number waits for the purge
    assert state(rt) == (True, True, True)
    clock.advance(days=6)
    purge_expired(rt, clock())
    assert state(rt) == (True, True, True)
    clock.advance(days=2)
    assert purge_expired(rt, clock()).numbers >= 1
    assert state(rt) == (True, True, False)
    clock.advance(days=23)
    assert purge_expired(rt, clock()).payloads == 1
    assert state(rt) == (False, True, False)
    clock.advance(days=60)
    assert purge_expired(rt, clock()).free_texts == 1
    assert state(rt) == (False, False, False)
    with rt.sessions() as s:
        assert s.scalars(select(Incident.kind)).one() == "attack"  # the report itself stays


def test_reply_bodies_go_with_their_numbers_and_expired_questions_are_forgotten(
    client: FlaskClient, rt: Runtime, clock: Clock
) -> None:
    client.post("/webhooks/africastalking/sms", data=at_sms(id="r1", text="CONFIANCE 3"))
    dispatch_due(rt, clock())
    with rt.sessions() as s:
        assert all(s.scalars(select(OutboxMessage.body)))
        assert s.scalars(select(Reporter.pending)).one() is not None
    clock.advance(days=2)
    assert purge_expired(rt, clock()).pending == 1
    clock.advance(days=6)
    assert purge_expired(rt, clock()).reply_bodies >= 1
    with rt.sessions() as s:
        assert set(s.scalars(select(OutboxMessage.body))) == {""}
        assert s.scalars(select(Reporter.pending_until)).one() is None
