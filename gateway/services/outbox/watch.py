"""The phone relay is a single point of failure: a phone silent for ANDROID_PING_MAX
(no ping, no event, no accepted send) raises an operations alarm, shown in the console
and /healthz, and sent by SMS to OPS_PHONES through another channel when there is one.
The alarm ends when the phone is heard again (health.note_seen)."""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.config import provider_of
from gateway.db import transaction
from gateway.models import ChannelHealth
from gateway.runtime import Runtime
from gateway.services.outbox import health
from gateway.services.outbox.queue import enqueue

log = logging.getLogger(__name__)
WATCHED = frozenset({"android"})  # providers whose silence is an alarm


def watch_channels(rt: Runtime, now: dt.datetime) -> list[str]:
    """Raise the alarm for each watched channel silent for too long; the channels
    newly alarmed. A channel never heard from is watched from its first check."""
    raised = []
    for channel in rt.settings.channels:
        if provider_of(channel) in WATCHED and _check(rt, channel, now):
            raised.append(channel)
    return raised


def _check(rt: Runtime, channel: str, now: dt.datetime) -> bool:
    with transaction(rt.sessions) as session:
        row = session.scalars(
            select(ChannelHealth).where(ChannelHealth.channel == channel).with_for_update()
        ).first()
        if row is None or row.last_seen_at is None:
            health.note_seen(session, channel, now)  # start the count now
            return False
        silent = now - row.last_seen_at
        if row.alarm_since is not None or silent <= rt.settings.android_ping_max:
            return False
        row.alarm_since = now
        row.updated_at = now
        _tell_operations(rt, session, channel, int(silent.total_seconds() // 60), now)
    log.warning("channel %s silent for %s: operations alarm raised", channel, silent)
    return True


def _tell_operations(
    rt: Runtime, session: Session, channel: str, minutes: int, now: dt.datetime
) -> None:
    others = [c for c in rt.settings.channels if c != channel]
    if not others or not rt.settings.ops_phones:
        return  # the console and /healthz show it; there is no other way out
    body = rt.reference.catalogues.render(
        rt.settings.default_language, "ops_channel_silent", channel=channel, minutes=minutes
    )
    for n, phone in enumerate(rt.settings.ops_phones):
        enqueue(
            session,
            rt.vault,
            to_e164=phone,
            body=body,
            purpose="ops",
            now=now,
            dedupe_key=f"ops:silent:{channel}:{now.isoformat()}:{n}",
            channel=others[0],
        )
