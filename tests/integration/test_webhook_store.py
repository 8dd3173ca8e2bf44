"""The SMS webhooks' one INSERT on a DBAPI connection (`insert_ignore_committed`):
the same row as through SQLAlchemy's Connection, a duplicate stored once, and the
database's errors answered as they were (503 when it cannot be written)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select

from gateway.models import Channel, InboundMessage, Outcome
from gateway.runtime import Runtime
from gateway.services.intake.inbound import store_inbound
from tests.conftest import Clock, is_postgres_run
from tests.handlers.payloads import at_sms

AT_SMS = "/webhooks/africastalking/sms"


def runtime(app: Flask) -> Runtime:
    rt: Runtime = app.extensions["gateway"]
    return rt


def test_the_committed_insert_stores_the_same_row_as_a_connection_and_only_once(
    make_app: Callable[..., Flask], clock: Clock
) -> None:
    rt = runtime(make_app(SMS_HANDLING="queue"))
    args = {
        "provider": "africastalking",
        "channel": Channel.SMS,
        "payload": {"from": "+22376123456", "text": "CONFIANCE 4 Mopti"},
        "now": clock(),
        "sender_ref": "0123456789abcdef",
    }
    first = store_inbound(rt.engine, rt.vault, provider_id="fast", **args)  # type: ignore[arg-type]
    with rt.engine.begin() as conn:
        second = store_inbound(conn, rt.vault, provider_id="core", **args)  # type: ignore[arg-type]
    assert first is not None and second is not None and first != second
    assert store_inbound(rt.engine, rt.vault, provider_id="fast", **args) is None  # type: ignore[arg-type]
    with rt.sessions() as session:
        rows = {
            row.provider_id: row
            for row in session.scalars(select(InboundMessage).order_by(InboundMessage.id))
        }
    assert set(rows) == {"fast", "core"}
    fast, core = rows["fast"], rows["core"]
    for column in (
        "channel",
        "received_at",
        "outcome",
        "sender_ref",
        "attempts",
        "next_attempt_at",
    ):
        assert getattr(fast, column) == getattr(core, column), column
    assert fast.outcome is Outcome.RECEIVED and fast.id == first
    assert rt.vault.decrypt(fast.payload_enc or "") == rt.vault.decrypt(core.payload_enc or "")


@pytest.mark.skipif(is_postgres_run(), reason="a SQLite file that cannot be opened")
def test_an_sms_webhook_answers_503_when_the_database_cannot_be_written(
    make_app: Callable[..., Flask], tmp_path: Path
) -> None:
    missing = tmp_path / "no such directory" / "gateway.db"
    app = make_app(DATABASE_URL=f"sqlite:///{missing}", SMS_HANDLING="queue")
    answer = app.test_client().post(AT_SMS, data=at_sms())
    assert answer.status_code == 503
    assert "retry" in answer.get_data(as_text=True)


def test_concurrent_webhook_stores_keep_every_message_once(
    make_app: Callable[..., Flask], clock: Clock
) -> None:
    """Eight threads store the same 40 ids at once (a provider retrying while the
    first delivery is stored): every id is stored once, by exactly one of them."""
    rt = runtime(make_app(SMS_HANDLING="queue"))
    new_ids: list[int | None] = []

    def deliver() -> None:
        for n in range(40):
            new_ids.append(
                store_inbound(
                    rt.engine,
                    rt.vault,
                    provider="africastalking",
                    provider_id=f"same-{n}",
                    channel=Channel.SMS,
                    payload={"from": "+22376123456", "text": f"CONFIANCE {n % 5 + 1} Mopti"},
                    now=clock(),
                    sender_ref="0123456789abcdef",
                )
            )

    threads = [threading.Thread(target=deliver) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with rt.sessions() as session:
        stored = session.scalars(select(InboundMessage.provider_id)).all()
    assert sorted(stored) == sorted(f"same-{n}" for n in range(40))
    assert len([i for i in new_ids if i is not None]) == 40 and len(new_ids) == 320
