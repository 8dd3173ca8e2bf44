"""Each channel's health: its last success, last error and last sign of life.

The dispatcher notes every send's result, the webhooks note what a channel tells us
(an Android phone's ping, a delivery report), and /healthz and the console's outbox
page show the rows. A row is upserted in the caller's transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import Table, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from gateway.logging_filters import redact
from gateway.models import ChannelHealth


def _upsert(session: Session, channel: str, now: dt.datetime, **values: Any) -> None:
    table = cast(Table, ChannelHealth.__table__)
    row = {"channel": channel[:20], "updated_at": now, **values}
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)
    session.execute(
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
