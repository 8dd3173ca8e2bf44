"""Race-free "insert unless it is there" for the two backends we run on."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Insert, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session


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
