"""A phone relay silent for ANDROID_PING_MAX raises an operations alarm, sent to the
operations phones through another channel, and heard again ends it."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import replace

from flask import Flask
from sqlalchemy import event, select

from gateway.db import transaction
from gateway.models import ChannelHealth, OutboxMessage
from gateway.runtime import Runtime
from gateway.services.outbox.health import note_seen
from gateway.services.outbox.watch import watch_channels
from handlers.android.signature import sign
from tests.conftest import Clock
from tests.handlers.payloads import ANDROID_KEY, android_event

OPS = "+22370000001"


def relay(rt: Runtime, *more: str) -> Runtime:
    rt.settings = replace(
        rt.settings,
        sms_provider="android",
        sms_extra_channels=more,
        ops_phones=(OPS,),
        android_signing_key=ANDROID_KEY,
        android_ping_max=dt.timedelta(minutes=15),
    )
    return rt


def alarm(rt: Runtime) -> dt.datetime | None:
    with rt.sessions() as session:
        row = session.get(ChannelHealth, "android")
        return row.alarm_since if row else None


def ops_messages(rt: Runtime) -> list[OutboxMessage]:
    with rt.sessions() as session:
        return list(session.scalars(select(OutboxMessage).where(OutboxMessage.purpose == "ops")))


def test_a_silent_phone_raises_one_alarm_sent_through_another_channel(
    rt: Runtime, clock: Clock
) -> None:
    relay(rt, "console")
    assert watch_channels(rt, clock()) == []  # first check: the count starts
    assert watch_channels(rt, clock.advance(minutes=15)) == []  # not yet over the limit
    assert watch_channels(rt, clock.advance(minutes=1)) == ["android"]
    assert watch_channels(rt, clock.advance(minutes=5)) == []  # raised once
    assert alarm(rt) == clock() - dt.timedelta(minutes=5)
    (sms,) = ops_messages(rt)
    assert sms.channel == "console" and "android" in sms.body and "16 min" in sms.body
    assert rt.vault.decrypt(sms.recipient_enc or "") == OPS


def test_without_another_channel_the_alarm_is_only_shown(rt: Runtime, clock: Clock) -> None:
    relay(rt)
    with transaction(rt.sessions) as session:
        note_seen(session, "android", clock())
    assert watch_channels(rt, clock.advance(minutes=20)) == ["android"]
    assert ops_messages(rt) == []
    assert alarm(rt) == clock()


def test_a_ping_from_the_phone_ends_the_alarm(app: Flask, rt: Runtime, clock: Clock) -> None:
    relay(rt, "console")
    with transaction(rt.sessions) as session:
        note_seen(session, "android", clock())
    watch_channels(rt, clock.advance(minutes=30))
    assert alarm(rt) is not None
    raw = json.dumps(android_event("system:ping")).encode()
    stamp = str(int(clock().timestamp()))
    headers = {"X-Timestamp": stamp, "X-Signature": sign(ANDROID_KEY, raw, stamp)}
    response = app.test_client().post(
        "/webhooks/android/events", data=raw, headers=headers, content_type="application/json"
    )
    assert response.status_code == 200
    assert alarm(rt) is None
    assert watch_channels(rt, clock.advance(minutes=10)) == []


def post_sms(app: Flask, clock: Clock, event_id: str) -> None:
    body = android_event()
    body["id"] = event_id
    raw = json.dumps(body).encode()
    stamp = str(int(clock().timestamp()))
    headers = {"X-Timestamp": stamp, "X-Signature": sign(ANDROID_KEY, raw, stamp)}
    response = app.test_client().post(
        "/webhooks/android/events", data=raw, headers=headers, content_type="application/json"
    )
    assert response.status_code == 200


def last_seen(rt: Runtime) -> dt.datetime | None:
    with rt.sessions() as session:
        row = session.get(ChannelHealth, "android")
        return row.last_seen_at if row else None


def test_an_inbound_sms_ends_the_alarm(app: Flask, rt: Runtime, clock: Clock) -> None:
    relay(rt, "console")
    post_sms(app, clock, "first")
    assert last_seen(rt) == clock()  # the first sign of life makes the row
    watch_channels(rt, clock.advance(minutes=30))
    assert alarm(rt) is not None
    post_sms(app, clock, "after-the-alarm")
    assert alarm(rt) is None and last_seen(rt) == clock()


def test_a_busy_phone_notes_its_sign_of_life_now_and_then(
    app: Flask, rt: Runtime, clock: Clock
) -> None:
    """Every SMS of a busy relay writing the same row would queue the webhooks on its
    lock; within SEEN_EVERY the row already says the phone is alive."""
    relay(rt, "console")
    post_sms(app, clock, "one")
    first = clock()
    clock.advance(seconds=5)
    post_sms(app, clock, "two")
    assert last_seen(rt) == first
    clock.advance(seconds=6)
    post_sms(app, clock, "three")
    assert last_seen(rt) == clock()


def test_a_busy_phone_costs_its_sms_no_health_statement_in_between(
    app: Flask, rt: Runtime, clock: Clock
) -> None:
    """Within SEEN_EVERY of what this process last read or wrote, no alarm can have
    been raised (that takes ANDROID_PING_MAX of silence), so not even a read is made."""
    relay(rt, "console")
    post_sms(app, clock, "one")
    statements: list[str] = []

    def seen(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        statements.append(statement)

    event.listen(rt.engine, "before_cursor_execute", seen)
    try:
        clock.advance(seconds=3)
        post_sms(app, clock, "two")
    finally:
        event.remove(rt.engine, "before_cursor_execute", seen)
    assert statements and not [s for s in statements if "channel_health" in s]
    clock.advance(seconds=8)
    watch_channels(rt, clock.advance(minutes=30))
    post_sms(app, clock, "after-the-alarm")
    assert alarm(rt) is None
