"""Race-free "insert unless it is there" for the two backends we run on."""

from __future__ import annotations

import functools
from typing import Any

from sqlalchemy import Insert, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session


@functools.cache
def _statement(table: Table, dialect: str) -> Insert:
    """Built once per table and backend, so SQLAlchemy's compiled cache serves every
    later call (the rows are passed as parameters)."""
    stmt: Insert
    if dialect == "postgresql":
        stmt = postgresql.insert(table).on_conflict_do_nothing()
    elif dialect == "sqlite":
        stmt = sqlite.insert(table).on_conflict_do_nothing()
    else:  # pragma: no cover - only the two supported backends
        raise RuntimeError(f"unsupported database {dialect}")
    return stmt.returning(table.c.id)


def insert_ignore(session: Session, table: Any, values: dict[str, Any]) -> int | None:
    """INSERT ... ON CONFLICT DO NOTHING; the new row's id, or None when a unique
    constraint already held that row (a duplicate delivery, a second clock)."""
    stmt = _statement(table, session.get_bind().dialect.name)
    new_id = session.execute(stmt, values).scalar()
    return int(new_id) if new_id is not None else None
