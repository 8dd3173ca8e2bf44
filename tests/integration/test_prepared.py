"""A SELECT or an UPDATE compiled once and run on a DBAPI cursor (`gateway.prepared`), and the
autocommit cursor a USSD step runs it on (`gateway.db.dbapi_autocommit`)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import bindparam, func, select, update
from sqlalchemy.exc import DBAPIError

from gateway.db import dbapi_autocommit, dbapi_transaction, make_engine, transaction
from gateway.models import Reporter
from gateway.prepared import prepared, prepared_write
from gateway.runtime import Runtime

NOW = dt.datetime(2026, 11, 2, 9, 30, tzinfo=dt.UTC)


def _reporter(rt: Runtime) -> None:
    with transaction(rt.sessions) as session:
        session.add(
            Reporter(
                pseudonym="p-prepared",
                key_version=2,
                language="fr",
                created_at=NOW,
                pending={"rating": [3, "x"]},
                pending_until=NOW + dt.timedelta(hours=1),
            )
        )


def test_a_prepared_select_gives_the_values_sqlalchemy_gives(rt: Runtime) -> None:
    """Aware UTC datetimes (SQLite stores them naive), JSON as Python values, booleans,
    literals of the statement: the row as SQLAlchemy's own execution reads it."""
    _reporter(rt)
    statement = select(Reporter.__table__, bindparam("extra", 7).label("extra")).where(
        Reporter.pseudonym == bindparam("pseudonym")
    )
    with rt.engine.connect() as conn:
        expected = dict(conn.execute(statement, {"pseudonym": "p-prepared"}).mappings().one())
    with dbapi_transaction(rt.engine) as cursor:
        got = prepared(statement, rt.engine.dialect).first(cursor, {"pseudonym": "p-prepared"})
        missing = prepared(statement, rt.engine.dialect).first(cursor, {"pseudonym": "nobody"})
    assert got == expected
    assert got is not None and got["created_at"] == NOW and got["created_at"].tzinfo is not None
    assert got["pending"] == {"rating": [3, "x"]} and got["extra"] == 7
    assert missing is None


def test_a_prepared_update_changes_what_sqlalchemy_would_and_counts_its_rows(
    rt: Runtime,
) -> None:
    """Its parameters go through the columns' bind processors (an aware datetime), a
    NULL parameter under coalesce keeps the column, and rowcount is the rows changed."""
    _reporter(rt)
    table = Reporter.__table__
    language = bindparam("new_language", type_=table.c.language.type)
    statement = (
        update(table)
        .where(table.c.pseudonym == bindparam("who"))
        .values(
            language=func.coalesce(language, table.c.language),
            pending_until=bindparam("until", type_=table.c.pending_until.type),
        )
    )
    later = NOW + dt.timedelta(days=1)
    with dbapi_transaction(rt.engine) as cursor:
        write = prepared_write(statement, rt.engine.dialect)
        changed = write.run(cursor, {"who": "p-prepared", "new_language": None, "until": later})
        none = write.run(cursor, {"who": "nobody", "new_language": "en", "until": later})
    assert (changed, none) == (1, 0)
    with rt.sessions() as session:
        reporter = session.scalars(select(Reporter)).one()
    assert reporter.language == "fr" and reporter.pending_until == later


@pytest.mark.postgres
def test_an_autocommit_cursor_commits_each_statement_and_pools_its_connection_back_in_transactions(
    database_url: str,
) -> None:
    engine = make_engine(database_url, pool_size=1, max_overflow=0)
    try:
        with dbapi_autocommit(engine) as cursor:
            cursor.execute("CREATE TEMPORARY TABLE t_auto (n int)")
            cursor.execute("INSERT INTO t_auto VALUES (1)")
            with pytest.raises(Exception):  # noqa: B017 - the driver's own error
                cursor.execute("INSERT INTO t_auto VALUES ('x')")
            cursor.execute("SELECT count(*) FROM t_auto")
            assert cursor.fetchone()[0] == 1  # the first insert kept: committed on its own
        with engine.connect() as conn:
            assert conn.connection.dbapi_connection.autocommit is False  # type: ignore[union-attr]
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_an_autocommit_cursor_raises_sqlalchemys_errors(database_url: str) -> None:
    engine = make_engine(database_url, pool_size=1, max_overflow=0)
    try:
        with pytest.raises(DBAPIError), dbapi_autocommit(engine) as cursor:
            cursor.execute("SELECT * FROM no_such_table")
        with engine.connect() as conn:
            assert conn.connection.dbapi_connection.autocommit is False  # type: ignore[union-attr]
    finally:
        engine.dispose()
