"""One statement per caller, committed before the caller goes on; on SQLite, the
callers that arrive while a transaction is being written share the next one.

SQLite lets one writer in at a time. Before this module, every SMS webhook had a
transaction of its own and a process's webhook threads queued for it on a lock: a
transaction takes ~0.15 ms of SQLite's time, but its holder lets go of the GIL in
each sqlite3 call and waits for it again behind the process's other threads (up to
the 5 ms switch interval), and a writer that finds the other web process writing is
put to sleep by SQLite's busy handler for 1, 2, 5 ms..., both while the threads
behind it wait (BENCHMARKS.md, helper `lite2`: the lock held 1.3 ms on average, 0.16
ms at the median). Now the thread whose turn it is writes every statement queued
until then in one transaction (group commit), and the web processes take turns on a
lock file beside the database (`flock`, a kernel wait that ends when the other lets
go) instead of polling. Each caller still returns only after its own row is
committed, with its own result or its own error.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
import weakref
from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

from gateway.db import dbapi_connection, dbapi_transaction, dbapi_transaction_on


class _Write:
    """One caller's statement, and what became of it once its transaction ended."""

    __slots__ = ("done", "error", "parameters", "row", "sql")

    def __init__(self, sql: str, parameters: Sequence[Any] | dict[str, Any]) -> None:
        self.sql = sql
        self.parameters = parameters
        self.done = False
        self.row: Any = None
        self.error: BaseException | None = None


def write_committed(engine: Engine, sql: str, parameters: Sequence[Any] | dict[str, Any]) -> Any:
    """Run `sql` (one statement, driver parameters) in a committed transaction; its
    first result row (or None). Raises what the database raised for this statement,
    as SQLAlchemy's errors (`dbapi_transaction`). On SQLite it may share its
    transaction with statements of other threads (`_Queue`); a statement that fails
    there for its data is retried alone, so it fails alone."""
    if engine.dialect.name != "sqlite":
        with dbapi_transaction(engine) as cursor:
            cursor.execute(sql, parameters)
            return cursor.fetchone()
    write = _Write(sql, parameters)
    _queue(engine).write(engine, write)
    if write.error is not None:
        # A transaction that failed for all (a database that cannot be written) gives
        # every caller in it the same error object.
        raise write.error
    return write.row


class _Queue:
    """A process's SQLite writers for one engine: those waiting, and whose turn it is."""

    def __init__(self, lock_path: str | None) -> None:
        self.guard = threading.Lock()
        self.changed = threading.Condition(self.guard)  # a transaction ended
        self.writing = False  # a thread of this process has the turn
        self.waiting: list[_Write] = []
        self.lock_path = lock_path
        self.lock_file: tuple[int, int] | None = None  # (pid, fd): fds do not cross a fork

    def write(self, engine: Engine, write: _Write) -> None:
        with self.guard:
            self.waiting.append(write)
            while self.writing and not write.done:
                self.changed.wait()
            if write.done:  # the thread before wrote it: answer at once
                return
            self.writing = True
        try:
            self._take_turn(engine)
        finally:
            with self.guard:
                self.writing = False
                self.changed.notify_all()

    def _take_turn(self, engine: Engine) -> None:
        """Write what waits, in the turn between the processes; the pooled connection
        is checked out before the turn and given back after it, so the other process
        does not wait for the pool's work (in cProfile about as long as the INSERT and
        its commit)."""
        with contextlib.ExitStack() as held:
            try:
                pooled = held.enter_context(dbapi_connection(engine))
            except OperationalError as exc:  # no connection: everyone waiting is told
                with self.guard:
                    batch, self.waiting = self.waiting, []
                _fail(batch, exc)
                for write in batch:
                    write.done = True
                return
            with self._between_processes():
                with self.guard:
                    batch, self.waiting = self.waiting, []
                _write_all(pooled, engine.dialect, batch)

    def queued(self) -> int:
        with self.guard:
            return len(self.waiting)

    @contextlib.contextmanager
    def _between_processes(self) -> Iterator[None]:
        fd = self._lock_fd()
        try:
            if fd is not None:
                fcntl.flock(fd, fcntl.LOCK_EX)  # releases the GIL while it waits
        except OSError:
            fd = None  # no lock to be had: SQLite's own busy handler still orders us
        try:
            yield
        finally:
            if fd is not None:
                fcntl.flock(fd, fcntl.LOCK_UN)

    def _lock_fd(self) -> int | None:
        if self.lock_path is None:
            return None
        pid = os.getpid()
        if self.lock_file is None or self.lock_file[0] != pid:
            try:
                fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            except OSError:
                return None  # no such folder: SQLite itself will fail, and say so (503)
            self.lock_file = (pid, fd)
        return self.lock_file[1]


def _write_all(pooled: Any, dialect: Any, batch: list[_Write]) -> None:
    try:
        _transaction(pooled, dialect, batch)
    except OperationalError as exc:  # the database cannot be written: for everyone
        _fail(batch, exc)
    except Exception as exc:
        if len(batch) == 1:
            _fail(batch, exc)
        else:  # a statement's own data (a constraint): each alone, so it fails alone
            for write in batch:
                _write_all(pooled, dialect, [write])
    except BaseException as exc:  # this thread is stopping: the others learn it
        _fail(batch, exc)
        raise
    finally:
        for write in batch:
            write.done = True


def _transaction(pooled: Any, dialect: Any, batch: list[_Write]) -> None:
    rows = []
    with dbapi_transaction_on(pooled, dialect) as cursor:
        for write in batch:
            cursor.execute(write.sql, write.parameters)
            rows.append(cursor.fetchone())
    for write, row in zip(batch, rows, strict=True):
        write.row, write.error = row, None


def _fail(batch: list[_Write], exc: BaseException) -> None:
    for write in batch:
        write.row, write.error = None, exc


_QUEUES: weakref.WeakKeyDictionary[Engine, _Queue] = weakref.WeakKeyDictionary()
_QUEUES_MADE = threading.Lock()


def _queue(engine: Engine) -> _Queue:
    found = _QUEUES.get(engine)
    if found is None:
        with _QUEUES_MADE:
            found = _QUEUES.setdefault(engine, _Queue(writers_lock_path(engine)))
    return found


def writers_lock_path(engine: Engine) -> str | None:
    """`<database file>-writers` beside the file; None for an in-memory database."""
    database = engine.url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return f"{os.path.abspath(database)}-writers"


def queued(engine: Engine) -> int:
    """How many statements wait for a turn in this process (tests)."""
    return _queue(engine).queued()
