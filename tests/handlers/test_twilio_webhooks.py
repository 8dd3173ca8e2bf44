"""Twilio webhooks: signatures, TwiML replies, status callbacks."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from twilio.request_validator import RequestValidator

from gateway.db import transaction
from gateway.models import InboundMessage, OutboxMessage, OutboxStatus
from gateway.runtime import Runtime
from tests.handlers.payloads import twilio_sms, twilio_status, without

AUTH_TOKEN = "twilio-auth-token-0123456789abcd"
BASE = "https://gateway.example.org"


@pytest.fixture
def signed_app(make_app: Callable[..., Flask]) -> Flask:
    return make_app(TWILIO_AUTH_TOKEN=AUTH_TOKEN, PUBLIC_BASE_URL=BASE)


def sign(path: str, form: dict[str, str], token: str = AUTH_TOKEN) -> dict[str, str]:
    signature = RequestValidator(token).compute_signature(f"{BASE}{path}", form)
    return {"X-Twilio-Signature": signature}


@pytest.mark.parametrize(
    ("label", "path", "form", "status", "body"),
    [
        ("sms valid", "/sms", twilio_sms(), 200, "<Message>"),
        ("sms missing sid", "/sms", without(twilio_sms(), "MessageSid"), 400, "MessageSid"),
        ("sms missing from", "/sms", without(twilio_sms(), "From"), 400, "From"),
        ("sms missing body", "/sms", without(twilio_sms(), "Body"), 400, "Body"),
        ("sms bad phone", "/sms", twilio_sms(From="+14155552671"), 400, "bad phone number"),
        ("status before its send: kept", "/status", twilio_status(), 200, "kept"),
        (
            "sent, unknown message",
            "/status",
            twilio_status(MessageStatus="sent"),
            200,
            "unknown message",
        ),
        (
            "status missing status",
            "/status",
            without(twilio_status(), "MessageStatus"),
            400,
            "MessageStatus",
        ),
        (
            "status unknown value",
            "/status",
            twilio_status(MessageStatus="vanished"),
            400,
            "unknown status",
        ),
    ],
)
def test_twilio_webhook(
    signed_app: Flask, label: str, path: str, form: dict[str, str], status: int, body: str
) -> None:
    full = f"/webhooks/twilio{path}"
    response = signed_app.test_client().post(full, data=form, headers=sign(full, form))
    assert response.status_code == status, label
    assert body in response.get_data(as_text=True), label


@pytest.mark.parametrize(
    ("label", "headers"),
    [
        ("no signature", {}),
        ("wrong signature", {"X-Twilio-Signature": "bm90IGEgc2lnbmF0dXJl"}),
        ("signed with another token", sign("/webhooks/twilio/sms", twilio_sms(), "other")),
    ],
)
def test_unsigned_or_badly_signed_requests_are_refused(
    signed_app: Flask, label: str, headers: dict[str, str]
) -> None:
    response = signed_app.test_client().post(
        "/webhooks/twilio/sms", data=twilio_sms(), headers=headers
    )
    assert response.status_code == 403, label


def test_reply_is_twiml_and_a_redelivery_gets_the_same_reply(
    signed_app: Flask,
) -> None:
    client = signed_app.test_client()
    form = twilio_sms(Body="trust 4 mopti")
    first = client.post(
        "/webhooks/twilio/sms", data=form, headers=sign("/webhooks/twilio/sms", form)
    )
    again = client.post(
        "/webhooks/twilio/sms", data=form, headers=sign("/webhooks/twilio/sms", form)
    )
    assert first.mimetype == "application/xml"
    assert first.get_data(as_text=True).startswith(
        '<?xml version="1.0" encoding="UTF-8"?><Response>'
    )
    assert "Mopti" in first.get_data(as_text=True)
    assert again.get_data(as_text=True) == first.get_data(as_text=True)
    rt: Runtime = signed_app.extensions["gateway"]
    with rt.sessions() as session:
        assert session.scalar(select(func.count()).select_from(InboundMessage)) == 1


def test_status_callback_updates_the_outbox_row_and_erases_the_number(
    signed_app: Flask,
) -> None:
    rt: Runtime = signed_app.extensions["gateway"]
    now = rt.now()
    with transaction(rt.sessions) as session:
        row = OutboxMessage(
            created_at=now,
            purpose="alert",
            recipient_enc=rt.vault.encrypt("+22376123456"),
            recipient_hint="+223******56",
            body="x",
            status=OutboxStatus.SENT,
            attempts=1,
            next_attempt_at=now,
            provider="twilio",
            provider_message_id="SM0b6e2697aae04182a9f5b5c7a8994c7f",
            sent_at=now,
        )
        session.add(row)
    form = twilio_status()
    response = signed_app.test_client().post(
        "/webhooks/twilio/status", data=form, headers=sign("/webhooks/twilio/status", form)
    )
    assert response.status_code == 200
    with rt.sessions() as session:
        stored = session.get_one(OutboxMessage, row.id)
    assert stored.status is OutboxStatus.DELIVERED
    assert stored.recipient_enc is None
    assert stored.final_at == now
    assert isinstance(stored.final_at, dt.datetime)


def test_without_a_token_in_development_signatures_are_not_checked(
    client: FlaskClient,
) -> None:
    response = client.post("/webhooks/twilio/sms", data=twilio_sms())
    assert response.status_code == 200
