"""Writing one part of a reporter's pending column without losing the other.

An SMS question and a USSD report kept for the next call share the column
(pending_parts), and an SMS and a USSD step of the same person may be handled at the
same instant. So a part is written by a compare-and-set UPDATE: the row changes only
while both parts' ciphertexts are still those the writer read (a part is encrypted
afresh, with a random nonce, each time it is written: its ciphertext is its version).
A writer that finds the row changed reads it again and writes the part beside what it
now holds. On PostgreSQL an UPDATE waits for a concurrent writer's row lock, then
checks its condition on the row as that writer committed it (READ COMMITTED); SQLite
runs one writer at a time: either way neither part is lost. The common path costs
nothing more than the plain UPDATE it replaces; a conflict, a SELECT and an UPDATE.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from typing import Any, cast

from sqlalchemy import Select, String, Table, Update, bindparam, select, update
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from gateway.models import Reporter
from gateway.prepared import prepared, prepared_write
from gateway.services.intake import pending_parts

Column = pending_parts.Column
ATTEMPTS = 50  # each failed attempt means another writer committed: a bound, not a wait


def on_cursor(
    cursor: Any,
    dialect: Dialect,
    reporter_id: int,
    read: Column,
    name: str,
    value: str | None,
    end: dt.datetime | None,
    now: dt.datetime,
) -> Column | None:
    """Set the part `name` on a DBAPI cursor (the USSD step's autocommit one), `read`
    being the column as the caller read it; the column written (None: no such row)."""
    write = prepared_write(_compare_and_set(), dialect)
    reread = prepared(_current(), dialect)

    def again() -> Column | None:
        row = reread.first(cursor, {"reporter_id": reporter_id})
        return None if row is None else (row["pending"], row["pending_until"])

    def run(values: dict[str, Any]) -> int:
        return write.run(cursor, {"reporter_id": reporter_id, **values})

    return _write(run, again, read, name, value, end, now)


def in_session(
    session: Session,
    reporter_id: int,
    read: Column,
    name: str,
    value: str | None,
    end: dt.datetime | None,
    now: dt.datetime,
) -> Column | None:
    """As `on_cursor`, in `session`'s transaction."""

    def run(values: dict[str, Any]) -> int:
        result = session.execute(_compare_and_set(), {"reporter_id": reporter_id, **values})
        return int(result.rowcount)  # type: ignore[attr-defined]

    def again() -> Column | None:
        row = session.execute(_current(), {"reporter_id": reporter_id}).first()
        return None if row is None else (row.pending, row.pending_until)

    return _write(run, again, read, name, value, end, now)


def replace_if_unchanged(session: Session, reporter_id: int, read: Column, new: Column) -> bool:
    """Write `new` (the purge's tidied column) unless a part changed since `read`:
    then the writer's newer column stays, for a later purge to tidy."""
    values = {"reporter_id": reporter_id, **_values(read, new)}
    return int(session.execute(_compare_and_set(), values).rowcount) == 1  # type: ignore[attr-defined]


def on_reporter(
    session: Session,
    reporter: Reporter,
    name: str,
    value: str | None,
    end: dt.datetime | None,
    now: dt.datetime,
) -> None:
    """As `in_session` for a reporter loaded in `session`: the object then holds the
    column as written, as if loaded so (its flush does not write it again)."""
    if reporter in session.new:  # first contact: the row must be there to update
        session.flush([reporter])
    read = (reporter.pending, reporter.pending_until)
    written = in_session(session, reporter.id, read, name, value, end, now)
    if written is not None:
        set_committed_value(reporter, "pending", written[0])
        set_committed_value(reporter, "pending_until", written[1])


def _write(
    run: Callable[[dict[str, Any]], int],
    again: Callable[[], Column | None],
    read: Column,
    name: str,
    value: str | None,
    end: dt.datetime | None,
    now: dt.datetime,
) -> Column | None:
    current: Column | None = read
    for _ in range(ATTEMPTS):
        if current is None:
            return None  # the reporter is gone (erased): nothing to keep
        new = pending_parts.with_part(*current, name, value, end, now)
        if run(_values(current, new)) == 1:
            return new
        current = again()
    raise RuntimeError("the pending column kept changing under this write")


def _values(read: Column, new: Column) -> dict[str, Any]:
    pending = read[0] or {}
    return {
        "old_sms": _text(pending.get(pending_parts.SMS)),
        "old_ussd": _text(pending.get(pending_parts.USSD)),
        "new_pending": new[0],
        "new_pending_until": new[1],
    }


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _reporters() -> Table:
    return cast(Table, Reporter.__table__)


@functools.cache
def _compare_and_set() -> Update:
    """UPDATE reporters SET pending, pending_until WHERE id AND each part's ciphertext
    is the one read (absent: NULL); built once."""
    table = _reporters()
    part = table.c.pending
    return (
        update(table)
        .where(
            table.c.id == bindparam("reporter_id", type_=table.c.id.type),
            part[pending_parts.SMS]
            .as_string()
            .is_not_distinct_from(bindparam("old_sms", type_=String())),
            part[pending_parts.USSD]
            .as_string()
            .is_not_distinct_from(bindparam("old_ussd", type_=String())),
        )
        .values(
            pending=bindparam("new_pending", type_=table.c.pending.type),
            pending_until=bindparam("new_pending_until", type_=table.c.pending_until.type),
        )
    )


@functools.cache
def _current() -> Select[Any]:
    table = _reporters()
    return select(table.c.pending, table.c.pending_until).where(
        table.c.id == bindparam("reporter_id", type_=table.c.id.type)
    )
