"""Only Alembic creates the schema, and it agrees with the models."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, Index, inspect, text

from gateway import migrate
from gateway.db import make_engine
from gateway.models import Base


@pytest.fixture
def empty_engine(tmp_path: Path) -> Iterator[Engine]:
    url = os.environ.get("TEST_DATABASE_URL")
    if url and url.startswith("postgresql"):
        admin = make_engine(url, isolation_level="AUTOCOMMIT")
        name = f"migrations_{os.getpid()}"
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        engine = make_engine(admin.url.set(database=name).render_as_string(hide_password=False))
        yield engine
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    else:
        engine = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
        yield engine
        engine.dispose()


def test_upgrade_to_head_matches_the_models_exactly(empty_engine: Engine) -> None:
    migrate.upgrade(empty_engine)
    with empty_engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, Base.metadata)
    assert diff == []


def test_upgrade_then_downgrade_to_base_leaves_no_table(empty_engine: Engine) -> None:
    migrate.upgrade(empty_engine)
    tables = set(inspect(empty_engine).get_table_names())
    assert set(Base.metadata.tables) <= tables
    migrate.downgrade(empty_engine, "base")
    assert set(inspect(empty_engine).get_table_names()) <= {"alembic_version"}


def _where(index: Index, dialect: str) -> str | None:
    clause = index.dialect_options[dialect].get("where")
    return None if clause is None else " ".join(str(clause).split())


def test_partial_indexes_have_the_models_predicates(empty_engine: Engine) -> None:
    """compare_metadata does not look at an index's WHERE: a partial index that the
    migrations made whole (or the other way round) would be written by every row."""
    migrate.upgrade(empty_engine)
    dialect = empty_engine.dialect.name
    with empty_engine.connect() as conn:
        if dialect == "sqlite":
            query = "SELECT name, sql FROM sqlite_master WHERE type = 'index'"
        else:
            query = "SELECT indexname, indexdef FROM pg_indexes"
        found = {name: sql for name, sql in conn.execute(text(query))}
    for table in Base.metadata.tables.values():
        for index in table.indexes:
            where = _where(index, dialect)
            made = " ".join((found.get(index.name or "") or "").split())
            assert (" WHERE " in made) == (where is not None), index.name
            if where is not None and dialect == "sqlite":
                assert made.endswith(f"WHERE {where}"), (index.name, made)
