"""Each channel's health: its last success, last error and last sign of life.

The dispatcher notes every send's result, the webhooks note what a channel tells us
(an Android phone's ping, a delivery report), and /healthz and the console's outbox
page show the rows. A row is upserted in the caller's transaction.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import Connection, Table, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from gateway.logging_filters import redact
from gateway.models import ChannelHealth

# A busy phone relay brings several SMS a second: its sign of life is written at most
# this often (an alarm is ended at once), so its webhooks do not queue on one row's lock.
SEEN_EVERY = dt.timedelta(seconds=10)


def _upsert(db: Session | Connection, channel: str, now: dt.datetime, **values: Any) -> None:
    table = cast(Table, ChannelHealth.__table__)
    row = {"channel": channel[:20], "updated_at": now, **values}
    dialect = (db.dialect if isinstance(db, Connection) else db.get_bind().dialect).name
    insert = postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)
    db.execute(
        insert.values(row).on_conflict_do_update(
            index_elements=[table.c.channel], set_={k: v for k, v in row.items() if k != "channel"}
        )
    )


def note_success(session: Session, channel: str, now: dt.datetime) -> None:
    """The channel took a message (or reported one delivered): it is alive."""
    _upsert(session, channel, now, last_success_at=now, last_seen_at=now, alarm_since=None)


def note_error(session: Session, channel: str, error: str, now: dt.datetime) -> None:
    """The channel refused a message or could not be reached; `error` is redacted."""
    _upsert(session, channel, now, last_error_at=now, last_error=redact(error)[:300])


def note_seen(session: Session, channel: str, now: dt.datetime) -> None:
    """The channel showed a sign of life (a phone's ping, an inbound message); an
    alarm about its silence is over."""
    _upsert(session, channel, now, last_seen_at=now, alarm_since=None)


def note_seen_now_and_then(db: Session | Connection, channel: str, now: dt.datetime) -> dt.datetime:
    """note_seen, unless the row already says the channel was heard within SEEN_EVERY
    and shows no alarm: then only a read, which takes no lock. The time the row now
    says the channel was last heard."""
    table = cast(Table, ChannelHealth.__table__)
    row = db.execute(
        select(table.c.last_seen_at, table.c.alarm_since).where(table.c.channel == channel[:20])
    ).first()
    seen: dt.datetime | None = row.last_seen_at if row and row.alarm_since is None else None
    if seen is not None and now - SEEN_EVERY < seen <= now:
        return seen
    _upsert(db, channel, now, last_seen_at=now, alarm_since=None)
    return now


class SignsOfLife:
    """What this process last read or wrote in channel_health, per channel: until
    SEEN_EVERY after the time the row gave, no look is needed. No alarm can be raised
    in between, since one takes ANDROID_PING_MAX (at least a minute) of silence after
    that time. Kept per runtime (`Runtime.cached`), shared by its threads."""

    def __init__(self) -> None:
        self._seen: dict[str, dt.datetime] = {}
        self._lock = threading.Lock()

    def known_alive(self, channel: str, now: dt.datetime) -> bool:
        with self._lock:
            seen = self._seen.get(channel)
        return seen is not None and seen <= now < seen + SEEN_EVERY

    def remember(self, channel: str, seen: dt.datetime) -> None:
        with self._lock:
            self._seen[channel] = seen


def set_alarm(session: Session, channel: str, since: dt.datetime | None, now: dt.datetime) -> None:
    _upsert(session, channel, now, alarm_since=since)


def channel_health(session: Session) -> Sequence[ChannelHealth]:
    return session.scalars(select(ChannelHealth).order_by(ChannelHealth.channel)).all()


def configured_health(session: Session, channels: Sequence[str]) -> list[ChannelHealth]:
    """A row for each configured channel, in configuration order (an empty one for a
    channel that has done nothing yet)."""
    rows = {r.channel: r for r in channel_health(session)}
    empty = dict.fromkeys(
        ("last_success_at", "last_error_at", "last_error", "last_seen_at", "alarm_since")
    )
    return [rows.get(c) or ChannelHealth(channel=c, updated_at=None, **empty) for c in channels]
