"""Africa's Talking webhooks, table-driven with real payload shapes."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from gateway.models import InboundMessage, OutboxMessage, TrustRating
from gateway.runtime import Runtime
from tests.handlers.payloads import PHONE, at_delivery, at_sms, at_ussd, at_ussd_event, without

TOKEN = "at-token-0123456789abcdef"


def count(rt: Runtime, model: type) -> int:
    with rt.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


@pytest.mark.parametrize(
    ("label", "path", "form", "status", "body"),
    [
        ("sms valid", "/sms", at_sms(), 200, "ok"),
        ("sms missing from", "/sms", without(at_sms(), "from"), 400, "missing field: from"),
        ("sms missing text", "/sms", without(at_sms(), "text"), 400, "missing field: text"),
        ("sms missing id", "/sms", without(at_sms(), "id"), 400, "missing field: id"),
        ("sms bad phone", "/sms", at_sms(**{"from": "hello"}), 400, "bad phone number"),
        ("sms foreign phone", "/sms", at_sms(**{"from": "+33612345678"}), 400, "FR"),
        ("ussd first step", "/ussd", at_ussd(), 200, "CON "),
        ("ussd missing session", "/ussd", without(at_ussd(), "sessionId"), 400, "sessionId"),
        ("ussd missing text", "/ussd", without(at_ussd(), "text"), 400, "missing field: text"),
        ("ussd bad phone", "/ussd", at_ussd(phoneNumber="+1"), 400, "bad phone number"),
        ("event valid", "/ussd/events", at_ussd_event(), 200, "ok"),
        ("event missing status", "/ussd/events", without(at_ussd_event(), "status"), 400, "status"),
        ("delivery before its send: kept", "/delivery", at_delivery(), 200, "kept"),
        ("delivery missing id", "/delivery", without(at_delivery(), "id"), 400, "id"),
        ("sms id too long", "/sms", at_sms(id="A" * 101), 400, "id longer than 100"),
        ("ussd id too long", "/ussd", at_ussd(sessionId="S" * 101), 400, "sessionId"),
        ("event id too long", "/ussd/events", at_ussd_event(sessionId="S" * 101), 400, "sessionId"),
        ("delivery id too long", "/delivery", at_delivery(id="D" * 101), 400, "id longer"),
        (
            "delivery unknown status",
            "/delivery",
            at_delivery(status="Teleported"),
            400,
            "unknown status",
        ),
    ],
)
def test_africastalking_webhook(
    client: FlaskClient, label: str, path: str, form: dict[str, str], status: int, body: str
) -> None:
    response = client.post(f"/webhooks/africastalking{path}", data=form)
    assert response.status_code == status, label
    assert body in response.get_data(as_text=True), label
    if path == "/ussd" and status == 200:
        assert response.mimetype == "text/plain"


def test_sms_is_stored_once_and_answered_once_when_delivered_twice(
    client: FlaskClient, rt: Runtime
) -> None:
    first = client.post("/webhooks/africastalking/sms", data=at_sms())
    second = client.post("/webhooks/africastalking/sms", data=at_sms())
    assert (first.status_code, second.status_code) == (200, 200)
    assert second.get_data(as_text=True) == "duplicate"
    assert count(rt, InboundMessage) == 1
    assert count(rt, TrustRating) == 1
    with rt.sessions() as session:
        bodies = session.scalars(select(OutboxMessage.body)).all()
    assert len(bodies) == 2  # the thanks, and the first-contact privacy notice
    assert any("Sévaré" in b or "Sevare" in b for b in bodies)


def test_two_long_ids_sharing_a_prefix_are_two_messages_each_handled(
    client: FlaskClient, rt: Runtime
) -> None:
    common = "ATXid_" + "7" * 90
    for n, tail in enumerate(("aaaa", "bbbb")):
        form = at_sms(id=common + tail, **{"from": f"+2237612345{n}"})
        response = client.post("/webhooks/africastalking/sms", data=form)
        assert (response.status_code, response.get_data(as_text=True)) == (200, "ok")
    assert count(rt, InboundMessage) == 2
    assert count(rt, TrustRating) == 2  # both handled, not only stored


@pytest.mark.parametrize(
    ("query", "status"),
    [("", 403), ("?token=wrong", 403), (f"?token={TOKEN}", 200)],
)
def test_token_is_required_when_configured(
    make_app: Callable[..., Flask], query: str, status: int
) -> None:
    client = make_app(AT_WEBHOOK_TOKEN=TOKEN).test_client()
    for path, form in (("/sms", at_sms()), ("/ussd", at_ussd()), ("/delivery", at_delivery())):
        response = client.post(f"/webhooks/africastalking{path}{query}", data=form)
        assert response.status_code == (200 if status == 200 else 403), path


def test_production_without_a_token_refuses_every_callback(
    make_app: Callable[..., Flask],
) -> None:
    app = make_app(
        GATEWAY_ENV="production",
        SMS_PROVIDER="twilio",
        TWILIO_ACCOUNT_SID="AC" + "1" * 32,
        TWILIO_AUTH_TOKEN="t" * 32,
        TWILIO_FROM="+22320202020",
        PUBLIC_BASE_URL="https://gateway.example.org",
    )
    response = app.test_client().post("/webhooks/africastalking/sms", data=at_sms())
    assert response.status_code == 403


def test_token_never_reaches_the_logs(
    make_app: Callable[..., Flask], caplog: pytest.LogCaptureFixture
) -> None:
    client = make_app(AT_WEBHOOK_TOKEN=TOKEN).test_client()
    client.post(f"/webhooks/africastalking/sms?token={TOKEN}", data=at_sms())
    client.post("/webhooks/africastalking/sms?token=bad", data=at_sms(id="2"))
    assert TOKEN not in caplog.text


def test_a_ussd_end_event_keeps_the_whole_error_message(client: FlaskClient, rt: Runtime) -> None:
    from gateway.models import UssdSession

    assert client.post("/webhooks/africastalking/ussd", data=at_ussd()).status_code == 200
    message = "The user's session timed out waiting for input from the application"
    event = at_ussd_event(status="Failed", errorMessage=message)
    assert client.post("/webhooks/africastalking/ussd/events", data=event).status_code == 200
    with rt.sessions() as session:
        stored = session.scalars(select(UssdSession)).one()
    assert stored.status == "Failed" and stored.end_cause == message


@pytest.mark.parametrize(
    ("reason", "kept"),
    [
        ("UserInBlacklist", "UserInBlacklist"),
        ("DeliveryFailure for +22376123456 (76 12 34 56)", "DeliveryFailure for [phone] ([phone])"),
        ("x" * 5000, "x" * 200),
    ],
)
def test_a_failed_delivery_keeps_its_reason_scrubbed_and_short(
    client: FlaskClient, rt: Runtime, reason: str, kept: str
) -> None:
    from gateway.db import transaction
    from gateway.models import OutboxStatus
    from gateway.services.outbox.queue import enqueue

    with transaction(rt.sessions) as session:
        outbox_id = enqueue(
            session, rt.vault, to_e164=PHONE, body="Alerte", purpose="alert", now=rt.now()
        )
        row = session.get_one(OutboxMessage, outbox_id)
        row.status, row.provider = OutboxStatus.SENT, "africastalking"
        row.provider_message_id = at_delivery()["id"]
    form = at_delivery(status="Failed", failureReason=reason)
    assert client.post("/webhooks/africastalking/delivery", data=form).status_code == 200
    with rt.sessions() as session:
        row = session.get_one(OutboxMessage, outbox_id)
    assert (row.status, row.last_error) == (OutboxStatus.FAILED, kept)
