"""Alembic environment: the URL and connection come from the gateway's settings, or
from a connection handed in by `gateway.migrate` (tests, the CLI)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from gateway.models import Base

config = context.config
target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    from gateway.config import load_settings
    from gateway.db import make_engine

    engine = make_engine(load_settings().database_url)
    with engine.connect() as conn:
        _run(conn)
    engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (SQL script) migrations are not supported; run db upgrade")
run_migrations_online()
