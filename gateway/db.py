"""Engines and sessions. Nothing is built at import time: `make_engine` is called by
the app factory, the CLI and the tests, each with its own settings."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.exc import DBAPIError, DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

# The errors that mean "the database cannot be reached now" (answered 503 so the
# provider retries), as opposed to errors about the data itself.
DB_UNAVAILABLE = (OperationalError, InterfaceError)
# A pooled PostgreSQL connection idle for longer than this is pinged before use. One
# in steady use is not: the ping is a round trip per request (a fifth of a USSD
# worker's time under load, py-spy), and a connection broken meanwhile fails its
# request like any other outage (503, or END) and makes the pool drop all its others.
PING_AFTER_IDLE = 1.0  # seconds


def make_engine(url: str, **options: Any) -> Engine:
    """An engine tuned for its backend: SQLite in WAL mode with a busy timeout so web
    workers and the clock can share one file; PostgreSQL with a pool that checks a
    connection that sat idle (PING_AFTER_IDLE) before handing it out, so the gateway
    recovers by itself when the database comes back.
    Statement parameters are kept out of error messages: a failed insert would
    otherwise quote a row (a number, a text) into the traceback and the log."""
    options.setdefault("hide_parameters", True)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30}, **options)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    pre_ping = bool(options.pop("pool_pre_ping", False))  # True: every checkout
    options.setdefault("pool_size", 5)
    options.setdefault("max_overflow", 10)
    options.setdefault("pool_timeout", 5)
    connect_args = options.pop("connect_args", {})
    connect_args.setdefault("connect_timeout", 3)
    # A partition leaves pooled connections open but silent: without these, a request
    # waits on them with no limit instead of failing fast with 503.
    connect_args.setdefault("keepalives", 1)
    connect_args.setdefault("keepalives_idle", 10)
    connect_args.setdefault("keepalives_interval", 2)
    connect_args.setdefault("keepalives_count", 3)
    connect_args.setdefault("tcp_user_timeout", 5000)
    engine = create_engine(url, connect_args=connect_args, pool_pre_ping=pre_ping, **options)
    if not pre_ping:
        event.listen(engine, "checkin", _note_checkin)
        event.listen(engine, "checkout", _ping_if_idle(engine))
    return engine


def _note_checkin(_dbapi_connection: Any, record: Any) -> None:
    record.info["checked_in"] = time.monotonic()


def _ping_if_idle(engine: Engine) -> Any:
    """The pool's pre-ping, only for a connection that sat idle (or is new): a
    DisconnectionError makes the pool replace it with a fresh one, as pre-ping does."""

    def checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        if time.monotonic() - record.info.get("checked_in", 0.0) < PING_AFTER_IDLE:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:  # any failure of the ping: a connection not to use
            raise DisconnectionError("stale pooled connection") from exc

    return checkout


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextlib.contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session committed when the block ends without error, rolled back otherwise."""
    with factory() as session, session.begin():
        yield session


@contextlib.contextmanager
def dbapi_transaction(engine: Engine) -> Iterator[Any]:
    """A DBAPI cursor of a pooled connection, in a transaction committed when the block
    ends (rolled back otherwise). For a hot path of one statement (the SMS webhooks'
    INSERT), where SQLAlchemy's Connection and execution machinery cost more CPU than
    the statement (bench_ingest on SQLite). The driver's errors come out as
    SQLAlchemy's (OperationalError: DB_UNAVAILABLE), and a connection found broken is
    invalidated, as a Connection would do."""
    with _dbapi_cursor(engine, autocommit=False) as cursor:
        yield cursor


@contextlib.contextmanager
def dbapi_autocommit(engine: Engine) -> Iterator[Any]:
    """PostgreSQL: a DBAPI cursor whose every statement commits on its own (no BEGIN,
    no COMMIT round trip), the connection back in transaction mode when the block
    ends; errors as `dbapi_transaction`'s. For a USSD step's one statement."""
    if engine.dialect.name != "postgresql":
        raise RuntimeError("dbapi_autocommit is for PostgreSQL")  # pragma: no cover
    with _dbapi_cursor(engine, autocommit=True) as cursor:
        yield cursor


@contextlib.contextmanager
def dbapi_connection(engine: Engine) -> Iterator[Any]:
    """A pooled DBAPI connection checked out for the block (the pool's errors as
    SQLAlchemy's), for `dbapi_transaction_on`: SQLite's group commit checks it out
    before its turn between the web processes, not inside it."""
    dialect = engine.dialect
    driver_error = dialect.loaded_dbapi.Error
    try:
        pooled = engine.raw_connection()
    except driver_error as exc:
        raise DBAPIError.instance(None, None, exc, driver_error, dialect=dialect) from exc
    try:
        yield pooled
    finally:
        pooled.close()


@contextlib.contextmanager
def dbapi_transaction_on(pooled: Any, dialect: Any) -> Iterator[Any]:
    """`dbapi_transaction` on a connection of `dbapi_connection`."""
    with _cursor_on(pooled, dialect, autocommit=False) as cursor:
        yield cursor


@contextlib.contextmanager
def _dbapi_cursor(engine: Engine, *, autocommit: bool) -> Iterator[Any]:
    with (
        dbapi_connection(engine) as pooled,
        _cursor_on(pooled, engine.dialect, autocommit=autocommit) as cursor,
    ):
        yield cursor


@contextlib.contextmanager
def _cursor_on(pooled: Any, dialect: Any, *, autocommit: bool) -> Iterator[Any]:
    driver_error = dialect.loaded_dbapi.Error
    cursor = None
    try:
        if autocommit:
            pooled.dbapi_connection.autocommit = True
        cursor = pooled.cursor()
        yield cursor
        if not autocommit:
            pooled.commit()
    except driver_error as exc:
        lost = dialect.is_disconnect(exc, pooled.dbapi_connection, cursor)
        if lost:
            pooled.invalidate(exc)
        else:
            _rollback(pooled, driver_error)
        raise DBAPIError.instance(
            None, None, exc, driver_error, connection_invalidated=lost, dialect=dialect
        ) from exc
    except BaseException:
        _rollback(pooled, driver_error)
        raise
    finally:
        if cursor is not None:
            with contextlib.suppress(driver_error):
                cursor.close()
        if autocommit:
            _end_autocommit(pooled, driver_error)


def _end_autocommit(pooled: Any, driver_error: type[Exception]) -> None:
    """Back to transactions before the pool hands the connection to a session; one
    that cannot be switched back is dropped, never pooled in autocommit."""
    if pooled.dbapi_connection is None:
        return  # invalidated: not pooled again
    try:
        pooled.dbapi_connection.autocommit = False
    except driver_error as exc:
        pooled.invalidate(exc)


def _rollback(pooled: Any, driver_error: type[Exception]) -> None:
    with contextlib.suppress(driver_error):  # the pool rolls back on return anyway
        pooled.rollback()


def is_postgres(session_or_engine: Session | Engine) -> bool:
    bind = (
        session_or_engine.get_bind()
        if isinstance(session_or_engine, Session)
        else session_or_engine
    )
    return bind.dialect.name == "postgresql"


def database_answers(engine: Engine) -> bool:
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return True
    except DB_UNAVAILABLE:
        return False
