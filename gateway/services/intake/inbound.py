"""Storing what a provider sent, once, before anything else happens to it."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping

from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session

from gateway.crypto import Vault
from gateway.models import Channel, InboundMessage, Outcome
from gateway.upsert import insert_ignore, insert_ignore_committed


def store_inbound(
    db: Session | Connection | Engine,
    vault: Vault,
    *,
    provider: str,
    provider_id: str,
    channel: Channel,
    payload: Mapping[str, str],
    now: dt.datetime,
    reporter_id: int | None = None,
    sender_ref: str | None = None,
) -> int | None:
    """Keep the callback (encrypted: it holds a number and perhaps free text); the new
    row's id, or None when this provider id was stored before. A row with a
    `sender_ref` waits in the handling queue (`inbound_queue`), due at once. `db`: the
    caller's session or connection, or an engine: then the row is committed before this
    returns (the SMS webhooks: one INSERT on a DBAPI connection, `insert_ignore_committed`)."""
    values = {
        "provider": provider,
        "provider_id": provider_id,
        "channel": channel,
        "received_at": now,
        "reporter_id": reporter_id,
        "payload_enc": vault.encrypt(json.dumps(dict(payload), ensure_ascii=False)),
        "outcome": Outcome.RECEIVED,
        "sender_ref": sender_ref,
        "attempts": 0,
        "next_attempt_at": now if sender_ref else None,
    }
    table = InboundMessage.__table__
    if isinstance(db, Engine):
        return insert_ignore_committed(db, table, values)
    return insert_ignore(db, table, values)
