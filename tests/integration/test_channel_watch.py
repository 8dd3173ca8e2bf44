"""A phone relay silent for ANDROID_PING_MAX raises an operations alarm, sent to the
operations phones through another channel, and heard again ends it."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import replace

from flask import Flask
from sqlalchemy import select

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
