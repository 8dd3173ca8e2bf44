"""Kannel webhooks (smsbox get-url, dlr-url), table-driven with captured payloads."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from gateway.db import transaction
from gateway.models import InboundMessage, OutboxMessage, OutboxStatus
from gateway.runtime import Runtime
from gateway.services.outbox.queue import enqueue
from tests.handlers.payloads import (
    KANNEL_DLR,
    KANNEL_MO,
    KANNEL_MO_UCS2,
    KANNEL_MO_UCS2_TEXT,
    PHONE,
    kannel_query,
)

TOKEN = "kannel-token-0123456789abcdef"
MO, DLR = "/webhooks/kannel/sms", "/webhooks/kannel/status"


def count(rt: Runtime, model: type) -> int:
    with rt.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def stored_texts(rt: Runtime) -> list[str]:
    with rt.sessions() as session:
        rows = session.scalars(select(InboundMessage.payload_enc)).all()
    return [json.loads(rt.vault.decrypt(r or ""))["text"] for r in rows]


@pytest.mark.parametrize(
    ("label", "path", "query", "status", "body"),
    [
        ("mo valid", MO, KANNEL_MO, 200, ""),
        ("mo ucs-2", MO, KANNEL_MO_UCS2, 200, ""),
        ("mo missing sender", MO, kannel_query(KANNEL_MO, sender=None), 400, "field: sender"),
        ("mo missing id", MO, kannel_query(KANNEL_MO, id=None), 400, "missing field: id"),
        ("mo missing message", MO, kannel_query(KANNEL_MO, message=None), 400, "field: message"),
        ("mo bad phone", MO, kannel_query(KANNEL_MO, sender="hello"), 400, "bad phone number"),
        ("mo foreign phone", MO, kannel_query(KANNEL_MO, sender="%2B33612345678"), 400, "FR"),
        ("mo unknown coding", MO, kannel_query(KANNEL_MO, coding="7"), 400, "coding"),
        ("mo unknown charset", MO, kannel_query(KANNEL_MO, charset="zlib"), 400, "charset"),
        (
            "mo odd ucs-2 bytes",
            MO,
            kannel_query(KANNEL_MO_UCS2, message="%01%90%00"),
            400,
            "message",
        ),
        (
            "mo bad utf-8",
            MO,
            kannel_query(KANNEL_MO, message="%C3%28"),
            400,
            "message",
        ),
        ("mo nul in text", MO, kannel_query(KANNEL_MO, message="a%00b"), 400, "NUL"),
        ("dlr before its send: kept", DLR, KANNEL_DLR, 200, "kept"),
        (
            "dlr sent, unknown message: ask again",
            DLR,
            kannel_query(KANNEL_DLR, status="8"),
            404,
            "unknown message",
        ),
        ("dlr missing id", DLR, kannel_query(KANNEL_DLR, id=None), 400, "missing field: id"),
        ("dlr missing status", DLR, kannel_query(KANNEL_DLR, status=None), 400, "status"),
        ("dlr unknown status", DLR, kannel_query(KANNEL_DLR, status="3"), 400, "unknown status"),
        ("dlr other channel", DLR, kannel_query(KANNEL_DLR, channel="twilio"), 400, "channel"),
    ],
)
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_kannel_webhook(
    client: FlaskClient, label: str, path: str, query: str, status: int, body: str, method: str
) -> None:
    if method == "GET":
        response = client.get(f"{path}?{query}")
    else:
        response = client.post(path, data=query, content_type="application/x-www-form-urlencoded")
    assert response.status_code == status, label
    assert body in response.get_data(as_text=True), label


def test_ucs2_bambara_text_is_stored_intact(client: FlaskClient, rt: Runtime) -> None:
    assert client.get(f"{MO}?{KANNEL_MO_UCS2}").status_code == 200
    assert stored_texts(rt) == [KANNEL_MO_UCS2_TEXT]


def test_gsm_text_with_plus_for_spaces_is_read_as_words(client: FlaskClient, rt: Runtime) -> None:
    client.get(f"{MO}?{KANNEL_MO}")
    assert stored_texts(rt) == ["CONFIANCE 4 Mopti"]


def test_a_kannel_mo_is_stored_once_and_answered_once_on_kannel(
    make_app: Callable[..., Flask],
) -> None:
    app = make_app(
        SMS_PROVIDER="console,kannel",
        KANNEL_SEND_URL="http://127.0.0.1:1/cgi-bin/sendsms",
        KANNEL_USERNAME="u",
        KANNEL_PASSWORD="p",
    )
    rt: Runtime = app.extensions["gateway"]
    client = app.test_client()
    assert client.get(f"{MO}?{KANNEL_MO}").status_code == 200
    assert client.get(f"{MO}?{KANNEL_MO}").status_code == 200
    assert count(rt, InboundMessage) == 1
    with rt.sessions() as session:
        channels = session.scalars(select(OutboxMessage.channel)).all()
    assert channels and set(channels) == {"kannel"}  # not the default, console


def test_an_mo_from_a_named_smsc_is_answered_on_that_channel(
    make_app: Callable[..., Flask],
) -> None:
    app = make_app(
        SMS_PROVIDER="kannel-orange,kannel-moov",
        KANNEL_SEND_URL="http://127.0.0.1:1/cgi-bin/sendsms",
        KANNEL_USERNAME="u",
        KANNEL_PASSWORD="p",
    )
    rt: Runtime = app.extensions["gateway"]
    query = kannel_query(KANNEL_MO, backend="moov")
    assert app.test_client().get(f"{MO}?{query}").status_code == 200
    with rt.sessions() as session:
        assert set(session.scalars(select(OutboxMessage.channel))) == {"kannel-moov"}
    # an SMSC the gateway has no channel for: the first Kannel channel answers
    other = kannel_query(KANNEL_MO, backend="fake1", id="another-id", sender="%2B22366123456")
    assert app.test_client().get(f"{MO}?{other}").status_code == 200
    with rt.sessions() as session:
        channels = set(session.scalars(select(OutboxMessage.channel)))
    assert channels == {"kannel-moov", "kannel-orange"}


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("8", OutboxStatus.SENT),
        ("4", OutboxStatus.SENT),
        ("1", OutboxStatus.DELIVERED),
        ("2", OutboxStatus.FAILED),
        ("16", OutboxStatus.FAILED),
    ],
)
def test_a_delivery_report_moves_the_outbox_row(
    client: FlaskClient, rt: Runtime, kind: str, expected: OutboxStatus
) -> None:
    with transaction(rt.sessions) as session:
        outbox_id = enqueue(
            session, rt.vault, to_e164=PHONE, body="Alerte", purpose="alert", now=rt.now()
        )
        row = session.get(OutboxMessage, outbox_id)
        assert row is not None
        row.status, row.provider, row.provider_message_id = OutboxStatus.SENT, "kannel", "ours1"
    query = f"id=ours1&channel=kannel&status={kind}&smsc_reply=NACK%2F0x0b%2FInvalid+Dest"
    response = client.get(f"{DLR}?{query}")
    assert response.get_data(as_text=True) == "ok"
    with rt.sessions() as session:
        row = session.get(OutboxMessage, outbox_id)
        assert row is not None
        assert row.status == expected
        assert (row.last_error or "").startswith("kannel DLR") == (expected == OutboxStatus.FAILED)


@pytest.mark.parametrize(
    ("query", "status"),
    [("", 403), ("token=wrong&", 403), (f"token={TOKEN}&", 200)],
)
def test_token_is_required_when_configured(
    make_app: Callable[..., Flask], query: str, status: int
) -> None:
    client = make_app(KANNEL_WEBHOOK_TOKEN=TOKEN).test_client()
    for path, params in ((MO, KANNEL_MO), (DLR, KANNEL_DLR.replace("status=1", "status=9"))):
        # past the token, an unknown report type is a 400: the DLR got through
        status = 400 if path == DLR and status == 200 else status
        assert client.get(f"{path}?{query}{params}").status_code == status, path
        posted = client.post(
            f"{path}?{query}", data=params, content_type="application/x-www-form-urlencoded"
        )
        assert posted.status_code == status, path


def test_production_without_a_kannel_token_refuses_every_callback(
    make_app: Callable[..., Flask],
) -> None:
    app = make_app(
        GATEWAY_ENV="production",
        SMS_PROVIDER="twilio",
        TWILIO_ACCOUNT_SID="AC" + "1" * 32,
        TWILIO_AUTH_TOKEN="t" * 32,
        TWILIO_FROM="+22320202020",
        PUBLIC_BASE_URL="https://gw.example.org",
    )
    assert app.test_client().get(f"{MO}?{KANNEL_MO}").status_code == 403


def test_token_never_reaches_the_logs(
    make_app: Callable[..., Flask], caplog: pytest.LogCaptureFixture
) -> None:
    client = make_app(KANNEL_WEBHOOK_TOKEN=TOKEN).test_client()
    client.get(f"{MO}?token={TOKEN}&{KANNEL_MO}")
    client.get(f"{MO}?token=bad&{KANNEL_MO}")
    assert TOKEN not in caplog.text


def test_the_deploy_kannel_conf_sends_what_the_webhook_reads() -> None:
    from pathlib import Path

    conf = (Path(__file__).parents[2] / "deploy" / "kannel.conf").read_text("utf-8")
    (get_url,) = [line for line in conf.splitlines() if line.startswith("get-url")]
    for param in ("token=", "backend=%i", "sender=%p", "message=%b", "id=%I", "coding=%c"):
        assert param in get_url, param
    assert "charset=%C" in get_url and "/webhooks/kannel/sms?" in get_url
    assert "max-messages = 0" in conf  # replies go through the outbox
    assert "http-request-retry" in conf  # early delivery reports are asked again
