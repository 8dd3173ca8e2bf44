"""SMS Gateway for Android webhooks, table-driven with the documentation's envelopes:
signatures, the time window, replays, local numbers, and the channel's health row."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from gateway.db import transaction
from gateway.models import ChannelHealth, InboundMessage, OutboxMessage, OutboxStatus
from gateway.runtime import Runtime
from gateway.services.outbox.queue import enqueue
from handlers.android.signature import sign
from tests.handlers.payloads import ANDROID_KEY, PHONE, android_event

URL = "/webhooks/android/events"


@pytest.fixture
def app(make_app: Callable[..., Flask]) -> Flask:
    return make_app(ANDROID_SIGNING_KEY=ANDROID_KEY)


def post(
    client: FlaskClient,
    body: dict[str, Any] | bytes,
    *,
    key: str = ANDROID_KEY,
    skew: int = 0,
    signature: str | None = None,
) -> Any:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    rt: Runtime = client.application.extensions["gateway"]
    stamp = str(int(rt.now().timestamp()) + skew)
    headers = {"X-Timestamp": stamp, "X-Signature": signature or sign(key, raw, stamp)}
    return client.post(URL, data=raw, headers=headers, content_type="application/json")


def count(rt: Runtime, model: type) -> int:
    with rt.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


@pytest.mark.parametrize(
    ("label", "body", "status", "answer"),
    [
        ("received", android_event(), 200, "ok"),
        ("ping", android_event("system:ping"), 200, "ok"),
        ("other event", android_event("sms:data-received"), 200, "ok"),
        ("sent, unknown message", android_event("sms:sent"), 200, "unknown message"),
        ("not json", b"{nope", 400, "body"),
        ("not an object", b"[1, 2]", 400, "body"),
        ("no event", {k: v for k, v in android_event().items() if k != "event"}, 400, "event"),
        ("no id", {k: v for k, v in android_event().items() if k != "id"}, 400, "id"),
        ("no payload", {**android_event(), "payload": None}, 400, "payload"),
        ("no number", android_event(phoneNumber=None), 400, "payload.phoneNumber"),
        ("no text", android_event(message=7), 400, "payload.message"),
        ("bad number", android_event(phoneNumber="12"), 400, "bad phone number"),
        ("foreign number", android_event(phoneNumber="+33612345678"), 400, "FR"),
        ("nul in text", android_event(message="a\x00b"), 400, "NUL"),
        ("no message id", android_event("sms:delivered", messageId=None), 400, "messageId"),
        # JSON's \ud800 escapes give lone surrogates, which no UTF-8 text can hold.
        ("lone surrogate in text", android_event(message="4 \ud800"), 400, "surrogate"),
        ("lone surrogate in number", android_event(phoneNumber="7612\udc003456"), 400, "surrogate"),
        (
            "lone surrogate in reason",
            android_event("sms:failed", reason="\udfff"),
            400,
            "surrogate",
        ),
        ("lone surrogate in a key", {**android_event(), "\ud800": 1}, 400, "surrogate"),
        ("nested past the parser's depth", b"[" * 30_000 + b"]" * 30_000, 400, "body"),
    ],
)
def test_android_webhook(
    client: FlaskClient, label: str, body: Any, status: int, answer: str
) -> None:
    response = post(client, body)
    assert response.status_code == status, label
    assert answer in response.get_data(as_text=True), label


@pytest.mark.parametrize(
    ("label", "kw"),
    [
        ("wrong key", {"key": "another-key"}),
        ("six minutes late", {"skew": -360}),
        ("six minutes early", {"skew": 360}),
        ("garbage signature", {"signature": "00"}),
    ],
)
def test_a_bad_signature_or_a_stale_timestamp_is_refused(
    client: FlaskClient, rt: Runtime, label: str, kw: dict[str, Any]
) -> None:
    assert post(client, android_event(), **kw).status_code == 403, label
    assert count(rt, InboundMessage) == 0


def test_unsigned_requests_are_refused(client: FlaskClient) -> None:
    raw = json.dumps(android_event()).encode()
    assert client.post(URL, data=raw, content_type="application/json").status_code == 403


def test_four_minutes_of_clock_skew_are_accepted(client: FlaskClient) -> None:
    assert post(client, android_event(), skew=-240).status_code == 200


def test_a_local_number_is_normalised_and_the_reply_goes_back_through_the_phone(
    client: FlaskClient, rt: Runtime
) -> None:
    assert post(client, android_event()).status_code == 200
    with rt.sessions() as session:
        stored = session.scalars(select(InboundMessage)).one()
        replies = session.scalars(select(OutboxMessage)).all()
    assert json.loads(rt.vault.decrypt(stored.payload_enc or ""))["from"] == PHONE
    assert replies and {r.channel for r in replies} == {"android"}
    assert {rt.vault.decrypt(r.recipient_enc or "") for r in replies} == {PHONE}


def test_a_replayed_event_is_stored_and_answered_once(client: FlaskClient, rt: Runtime) -> None:
    first, second = post(client, android_event()), post(client, android_event())
    assert (first.status_code, second.get_data(as_text=True)) == (200, "duplicate")
    assert count(rt, InboundMessage) == 1
    # the same text again under a new event id is a new SMS (messageId is content-based)
    assert post(client, {**android_event(), "id": "another-event"}).status_code == 200
    assert count(rt, InboundMessage) == 2


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        ("sms:sent", OutboxStatus.SENT),
        ("sms:delivered", OutboxStatus.DELIVERED),
        ("sms:failed", OutboxStatus.FAILED),
    ],
)
def test_outgoing_events_move_the_outbox_row(
    client: FlaskClient, rt: Runtime, event: str, expected: OutboxStatus
) -> None:
    with transaction(rt.sessions) as session:
        outbox_id = enqueue(
            session, rt.vault, to_e164=PHONE, body="Alerte", purpose="alert", now=rt.now()
        )
        row = session.get(OutboxMessage, outbox_id)
        assert row is not None
        row.status, row.provider, row.provider_message_id = OutboxStatus.SENT, "android", "ours1"
    assert post(client, android_event(event)).get_data(as_text=True) == "ok"
    with rt.sessions() as session:
        row = session.get(OutboxMessage, outbox_id)
        assert row is not None and row.status == expected
        if expected == OutboxStatus.FAILED:
            assert row.last_error == "android: No service"


def test_pings_and_events_keep_the_phones_health_row(client: FlaskClient, rt: Runtime) -> None:
    post(client, android_event("system:ping"))
    post(client, android_event("sms:failed"))
    with rt.sessions() as session:
        row = session.get(ChannelHealth, "android")
        assert row is not None
        assert row.last_seen_at == rt.now() and row.last_error_at == rt.now()
        assert row.last_success_at is None


def test_production_without_a_signing_key_refuses_events(make_app: Callable[..., Flask]) -> None:
    app = make_app(
        GATEWAY_ENV="production",
        SMS_PROVIDER="twilio",
        TWILIO_ACCOUNT_SID="AC" + "1" * 32,
        TWILIO_AUTH_TOKEN="t" * 32,
        TWILIO_FROM="+22320202020",
        PUBLIC_BASE_URL="https://gw.example.org",
    )
    raw = json.dumps(android_event()).encode()
    assert app.test_client().post(URL, data=raw, content_type="application/json").status_code == 403


def test_an_oversized_body_is_413(client: FlaskClient) -> None:
    big = android_event(message="x" * 70_000)
    assert post(client, big).status_code == 413
