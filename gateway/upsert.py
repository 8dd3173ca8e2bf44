"""Race-free "insert unless it is there" for the two backends we run on."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Engine, Insert, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session

from gateway.group_commit import write_committed


@functools.cache
def _ignoring(table: Table, dialect: str) -> Insert:
    """INSERT ... ON CONFLICT DO NOTHING, built once per table and backend, so
    SQLAlchemy's compiled cache serves every later call (rows come as parameters)."""
    if dialect == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    if dialect == "sqlite":
        return sqlite.insert(table).on_conflict_do_nothing()
    raise RuntimeError(f"unsupported database {dialect}")  # pragma: no cover


@functools.cache
def _statement(table: Table, dialect: str) -> Insert:
    return _ignoring(table, dialect).returning(table.c.id)


def insert_ignore(db: Session | Connection, table: Any, values: dict[str, Any]) -> int | None:
    """INSERT ... ON CONFLICT DO NOTHING; the new row's id, or None when a unique
    constraint already held that row (a duplicate delivery, a second clock). `db` is
    a session, or a bare connection where the ORM's bookkeeping is not needed."""
    dialect = db.dialect if isinstance(db, Connection) else db.get_bind().dialect
    new_id = db.execute(_statement(table, dialect.name), values).scalar()
    return int(new_id) if new_id is not None else None


def insert_ignore_on(
    cursor: Any, dialect: Dialect, table: Any, values: dict[str, Any]
) -> int | None:
    """`insert_ignore` on a DBAPI cursor (`gateway.db.dbapi_autocommit`'s), with the
    statement compiled once (`_Prepared`): the new row's id, or None."""
    prepared = _prepared(table, dialect, tuple(values))
    cursor.execute(prepared.sql, prepared.parameters(values))
    row = cursor.fetchone()
    return int(row[0]) if row is not None else None


def insert_ignore_committed(engine: Engine, table: Any, values: dict[str, Any]) -> int | None:
    """`insert_ignore` in a transaction of its own, committed before it returns, run on
    a pooled DBAPI connection with the statement compiled once (`_Prepared`): the SMS
    webhooks' one INSERT, where SQLAlchemy's per-statement work cost more CPU than
    SQLite's. The same SQL, parameters and errors as through a Connection; on SQLite
    the transaction may hold other threads' rows too (`group_commit`)."""
    prepared = _prepared(table, engine.dialect, tuple(values))
    row = write_committed(engine, prepared.sql, prepared.parameters(values))
    return int(row[0]) if row is not None else None


class _Prepared:
    """`_statement(table)` compiled for a dialect and a set of columns: its SQL and
    how to turn values into the driver's parameters (the columns' own bind
    processors, e.g. SQLite's datetime text, an enum's value)."""

    def __init__(self, table: Table, dialect: Dialect, keys: tuple[str, ...]) -> None:
        compiled = _statement(table, dialect.name).compile(dialect=dialect, column_keys=keys)
        self.sql = compiled.string
        self.order = tuple(compiled.positiontup or ()) if compiled.positional else None
        self.processors = {
            key: processor
            for key in keys
            if (processor := table.c[key].type.dialect_impl(dialect).bind_processor(dialect))
        }

    def parameters(self, values: dict[str, Any]) -> Sequence[Any] | dict[str, Any]:
        done = {
            key: (self.processors[key](value) if key in self.processors else value)
            for key, value in values.items()
        }
        return done if self.order is None else tuple(done[key] for key in self.order)


_PREPARED: dict[tuple[Table, str, str, tuple[str, ...]], _Prepared] = {}


def _prepared(table: Table, dialect: Dialect, keys: tuple[str, ...]) -> _Prepared:
    # By dialect name and driver, not instance: every engine of a process shares it.
    cache_key = (table, dialect.name, dialect.driver, keys)
    found = _PREPARED.get(cache_key)
    if found is None:
        found = _PREPARED.setdefault(cache_key, _Prepared(table, dialect, keys))
    return found


def insert_ignore_rows(session: Session, table: Any, rows: Sequence[dict[str, Any]]) -> int:
    """INSERT ... ON CONFLICT DO NOTHING of `rows` in one statement (SQLAlchemy's
    "insertmanyvalues"); how many of them were new."""
    if not rows:
        return 0
    statement = _statement(table, session.get_bind().dialect.name)
    return len(session.execute(statement, list(rows)).all())


def insert_ignore_many(session: Session, table: Any, rows: Sequence[dict[str, Any]]) -> None:
    """INSERT ... ON CONFLICT DO NOTHING for many rows at once, on either backend."""
    if rows:
        session.execute(_ignoring(table, session.get_bind().dialect.name), list(rows))
