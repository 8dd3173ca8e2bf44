"""Counting a USSD step on its session, and what the caller and the session began with.

Every step reads its caller and upserts its session before the menu can answer. On a
shared 2-core machine each round trip to PostgreSQL waits for its backend to be
scheduled (py-spy: most of a busy worker thread's time under load), so on PostgreSQL
a known caller's step is one round trip: a data-modifying CTE that reads the reporter
and counts the step, in autocommit (a first contact inserts the reporter first). So a
step is counted even when its effects, stored after in a transaction of their own,
then fail (the caller gets the apology). SQLite (in process, no round trips) and a
caller known under a rotated key keep the two statements in the request's transaction.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import (
    Engine,
    Insert,
    Select,
    Table,
    Update,
    bindparam,
    func,
    literal,
    select,
    true,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.util import identity_key
from sqlalchemy.sql.elements import ColumnElement

from gateway.db import dbapi_autocommit
from gateway.models import Reporter, Subscription, UssdSession
from gateway.prepared import prepared, prepared_write
from gateway.services.intake import pending_store
from gateway.services.intake.pending_parts import USSD
from gateway.services.intake.reporters import new_reporter_row
from gateway.upsert import insert_ignore_on


@dataclass(frozen=True)
class Start:
    """What the caller had when the session began: the menu replays the whole path
    from it, so a resent step does what it did the first time (a resent "subscribe"
    does not unsubscribe, a resent "leave" does not subscribe again)."""

    language: str | None
    home_id: int | None
    subscribed: bool


@dataclass(frozen=True)
class Caller:
    """The reporter behind a step: their id, language and home, and the ORM object
    built only for an effect that changes them (most steps have no effect, most
    effects store an answer: `reports.UssdCaller`)."""

    language: str | None
    row: Mapping[Any, Any] | None = None  # the reporter's columns, from known_caller_step
    loaded: Reporter | None = None  # or the reporter already in the request's session

    @property
    def id(self) -> int:
        return int(self.loaded.id if self.loaded is not None else self._row()["id"])

    @property
    def home_locality_id(self) -> int | None:
        if self.loaded is not None:
            return self.loaded.home_locality_id
        home = self._row()["home_locality_id"]
        return int(home) if home is not None else None

    @property
    def pending(self) -> tuple[dict[str, Any] | None, dt.datetime | None]:
        """The reporter's pending column (pending_parts) as the step read it."""
        if self.loaded is not None:
            return self.loaded.pending, self.loaded.pending_until
        row = self._row()
        return row["pending"], row["pending_until"]

    def set_pending(
        self,
        session: Session,
        sealed: str | None,
        end: dt.datetime | None,
        now: dt.datetime,
    ) -> None:
        """Store the report kept for the next call (`sealed` until `end`; None: none)
        beside the SMS question in `session`'s transaction (pending_store)."""
        if self.loaded is None:
            pending_store.in_session(session, self.id, self.pending, USSD, sealed, end, now)
            return
        pending_store.on_reporter(session, self.loaded, USSD, sealed, end, now)

    def change(
        self, session: Session, *, language: str | None = None, home: int | None = None
    ) -> None:
        """Store a new language or home in `session`'s transaction: on the ORM object
        when the caller was loaded in it, else by one UPDATE (no object, no flush)."""
        if self.loaded is None:
            session.execute(_caller_update(), caller_update_values(self.id, language, home))
            return
        if language is not None:
            self.loaded.language = language
        if home is not None:
            self.loaded.home_locality_id = home

    def reporter(self, session: Session) -> Reporter:
        """The reporter, persistent in `session` (from the row: without a query); one
        object per step, however many effects change it."""
        if self.loaded is not None:
            return self.loaded
        row = self._row()
        identity = session.identity_map.get(identity_key(Reporter, row["id"]))
        if identity is not None:
            return identity
        reporter = Reporter(**{c.key: row[c.key] for c in _reporters().c})
        make_transient_to_detached(reporter)  # as if loaded: changes to it are flushed
        session.add(reporter)
        return reporter

    def _row(self) -> Mapping[Any, Any]:
        assert self.row is not None
        return self.row


def known_caller_step(
    engine: Engine,
    *,
    provider: str,
    session_id: str,
    pseudonym: str,
    now: dt.datetime,
    key_version: int | None = None,
) -> tuple[Caller, Start] | None:
    """PostgreSQL: count the step of a caller known under `pseudonym` in one statement,
    committed on its own (autocommit: no BEGIN, no COMMIT, and no wait for the disk);
    the caller and what the session began with. When no reporter has that pseudonym
    and `key_version` is given (first contact), the reporter is inserted on the same
    cursor (ignored when a concurrent step created it) and the step then counted as a
    known caller's. Else None, with nothing counted: the caller is then identified and
    the step counted in the request's transaction (`count_step`)."""
    params = {"pseudonym": pseudonym, "provider": provider, "session_id": session_id, "now": now}
    with dbapi_autocommit(engine) as cursor:
        # Compiled once, run on the DBAPI cursor: SQLAlchemy's execution machinery cost
        # more CPU than the rest of a menu step (callgrind, BENCHMARKS.md).
        step = prepared(_known_caller_statement(), engine.dialect)
        values = step.first(cursor, params)
        if values is None and key_version is not None:
            row = new_reporter_row(pseudonym, key_version, now)
            insert_ignore_on(cursor, engine.dialect, _reporters(), row)
            values = step.first(cursor, params)
        if values is None:
            return None
        caller = Caller(values["language"], row=values)
        if values["start_subscribed"] is not None:
            return caller, _start_of(values)
        # A session begun before its start was recorded (rare): the current subscription.
        subscribed = prepared(_subscribed_now(), engine.dialect).first(
            cursor, {"reporter_id": values["id"]}
        )
        return caller, Start(
            values["start_language"], values["home_locality_id"], subscribed is not None
        )


def store_caller(engine: Engine, caller_id: int, language: str | None, home: int | None) -> None:
    """PostgreSQL: a counted step whose only effects change the caller stores their new
    language or home by one UPDATE committed on its own (no BEGIN, COMMIT or ORM flush:
    most of a language step's CPU went to the session's transaction, callgrind)."""
    values = caller_update_values(caller_id, language, home)
    with dbapi_autocommit(engine) as cursor:
        prepared_write(_caller_update(), engine.dialect).run(cursor, values)


def store_pending(
    engine: Engine, caller: Caller, sealed: str | None, end: dt.datetime | None, now: dt.datetime
) -> None:
    """PostgreSQL: a counted step that changes only what is kept for the next call
    stores it by one UPDATE committed on its own, as `store_caller` (pending_store:
    a concurrent SMS question is kept)."""
    with dbapi_autocommit(engine) as cursor:
        pending_store.on_cursor(
            cursor, engine.dialect, caller.id, caller.pending, USSD, sealed, end, now
        )


def caller_update_values(caller_id: int, language: str | None, home: int | None) -> dict[str, Any]:
    """The parameters of `_caller_update`: None leaves that column as it is."""
    return {"caller_id": caller_id, "new_language": language, "new_home": home}


def count_step(
    session: Session, *, provider: str, session_id: str, reporter: Reporter, now: dt.datetime
) -> Start:
    """Record the step; what the caller had when this session began. One statement:
    the first step inserts the session (with whether the caller is subscribed), every
    later one counts itself on it; both return what the session began with. On
    PostgreSQL it also lets this commit skip the wait for the disk (`answer_ussd`
    asks for it again when the step records something)."""
    pg = session.get_bind().dialect.name == "postgresql"
    row = (
        session.connection()
        .execute(
            _step_statement(pg),
            {
                "provider": provider,
                "session_id": session_id,
                "reporter_id": reporter.id,
                "start_language": reporter.language,
                "start_home_id": reporter.home_locality_id,
                "started_at": now,
                "last_step_at": now,
                "steps": 1,
                "subscriber": reporter.id,
            },
        )
        .one()
    )
    values = row._mapping
    if values["start_subscribed"] is None:  # a session begun before these were recorded
        subscribed = session.execute(_subscribed_now(), {"reporter_id": reporter.id}).first()
        return Start(values["start_language"], reporter.home_locality_id, subscribed is not None)
    return _start_of(values)


def _start_of(values: Any) -> Start:
    return Start(
        values["start_language"], values["start_home_id"], bool(values["start_subscribed"])
    )


@functools.cache
def _subscribed_now() -> Select[Any]:
    return select(Subscription.id).where(Subscription.reporter_id == bindparam("reporter_id"))


@functools.cache
def _caller_update() -> Update:
    """UPDATE reporters SET language, home_locality_id (each kept when its parameter is
    NULL) WHERE id; built once."""
    table = _reporters()
    language = bindparam("new_language", type_=table.c.language.type)
    home = bindparam("new_home", type_=table.c.home_locality_id.type)
    return (
        update(table)
        .where(table.c.id == bindparam("caller_id", type_=table.c.id.type))
        .values(
            language=func.coalesce(language, table.c.language),
            home_locality_id=func.coalesce(home, table.c.home_locality_id),
        )
    )


def _reporters() -> Table:
    return cast(Table, Reporter.__table__)


def _sessions() -> Table:
    return cast(Table, UssdSession.__table__)


def _subscribed(reporter_id: ColumnElement[Any]) -> ColumnElement[bool]:
    return select(Subscription.id).where(Subscription.reporter_id == reporter_id).exists()


def _upsert(insert: Any) -> Any:
    """Count the step on a session already there (its start values are kept)."""
    table = _sessions()
    return insert.on_conflict_do_update(
        index_elements=[table.c.provider, table.c.session_id],
        set_={"steps": table.c.steps + 1, "last_step_at": insert.excluded.last_step_at},
    ).returning(table.c.start_language, table.c.start_home_id, table.c.start_subscribed)


@functools.cache
def _step_statement(pg: bool) -> Insert:
    """INSERT ... ON CONFLICT DO UPDATE counting the step, built once per backend."""
    insert = (postgresql.insert if pg else sqlite.insert)(_sessions()).values(
        start_subscribed=_subscribed(bindparam("subscriber"))
    )
    upsert = _upsert(insert)
    if pg:  # SET LOCAL, riding on this round trip
        upsert = upsert.returning(func.set_config("synchronous_commit", "off", True))
    return cast(Insert, upsert)


@functools.cache
def _known_caller_statement() -> Select[Any]:
    """WITH caller AS (SELECT reporters ...), step AS (INSERT INTO ussd_sessions
    SELECT ... FROM caller ON CONFLICT DO UPDATE ... RETURNING start ...) SELECT
    caller.*, step.*, set_config(synchronous_commit off, local); built once."""
    reporters, table = _reporters(), _sessions()
    caller = select(reporters).where(reporters.c.pseudonym == bindparam("pseudonym")).cte("caller")
    now = bindparam("now", type_=table.c.started_at.type)
    first = select(
        bindparam("provider", type_=table.c.provider.type),
        bindparam("session_id", type_=table.c.session_id.type),
        caller.c.id,
        caller.c.language,
        caller.c.home_locality_id,
        now,
        now,
        literal(1),
        _subscribed(caller.c.id),
    )
    names = [
        "provider",
        "session_id",
        "reporter_id",
        "start_language",
        "start_home_id",
        "started_at",
        "last_step_at",
        "steps",
        "start_subscribed",
    ]
    step = _upsert(postgresql.insert(table).from_select(names, first)).cte("step")
    return select(
        *caller.c,
        step.c.start_language,
        step.c.start_home_id,
        step.c.start_subscribed,
        func.set_config("synchronous_commit", "off", True),
    ).select_from(caller.join(step, true()))
