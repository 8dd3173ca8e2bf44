"""The SMS webhooks' one INSERT on a DBAPI connection (`insert_ignore_committed`):
the same row as through SQLAlchemy's Connection, a duplicate stored once, the
database's errors answered as they were (503 when it cannot be written), and on
SQLite the writes that wait for their turn committed together, each with its own
result."""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import sqlite3
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import event, select
from sqlalchemy.exc import IntegrityError, OperationalError

from gateway import group_commit
from gateway.group_commit import queued, writers_lock_path
from gateway.models import Channel, InboundMessage, Outcome
from gateway.runtime import Runtime
from gateway.services.intake.inbound import store_inbound
from gateway.upsert import insert_ignore_committed
from tests.conftest import Clock, is_postgres_run
from tests.handlers.payloads import at_sms

AT_SMS = "/webhooks/africastalking/sms"


def runtime(app: Flask) -> Runtime:
    rt: Runtime = app.extensions["gateway"]
    return rt


def test_the_committed_insert_stores_the_same_row_as_a_connection_and_only_once(
    make_app: Callable[..., Flask], clock: Clock
) -> None:
    rt = runtime(make_app(SMS_HANDLING="queue"))
    args = {
        "provider": "africastalking",
        "channel": Channel.SMS,
        "payload": {"from": "+22376123456", "text": "CONFIANCE 4 Mopti"},
        "now": clock(),
        "sender_ref": "0123456789abcdef",
    }
    first = store_inbound(rt.engine, rt.vault, provider_id="fast", **args)  # type: ignore[arg-type]
    with rt.engine.begin() as conn:
        second = store_inbound(conn, rt.vault, provider_id="core", **args)  # type: ignore[arg-type]
    assert first is not None and second is not None and first != second
    assert store_inbound(rt.engine, rt.vault, provider_id="fast", **args) is None  # type: ignore[arg-type]
    with rt.sessions() as session:
        rows = {
            row.provider_id: row
            for row in session.scalars(select(InboundMessage).order_by(InboundMessage.id))
        }
    assert set(rows) == {"fast", "core"}
    fast, core = rows["fast"], rows["core"]
    for column in (
        "channel",
        "received_at",
        "outcome",
        "sender_ref",
        "attempts",
        "next_attempt_at",
    ):
        assert getattr(fast, column) == getattr(core, column), column
    assert fast.outcome is Outcome.RECEIVED and fast.id == first
    assert rt.vault.decrypt(fast.payload_enc or "") == rt.vault.decrypt(core.payload_enc or "")


@pytest.mark.skipif(is_postgres_run(), reason="a SQLite file that cannot be opened")
def test_an_sms_webhook_answers_503_when_the_database_cannot_be_written(
    make_app: Callable[..., Flask], tmp_path: Path
) -> None:
    missing = tmp_path / "no such directory" / "gateway.db"
    app = make_app(DATABASE_URL=f"sqlite:///{missing}", SMS_HANDLING="queue")
    answer = app.test_client().post(AT_SMS, data=at_sms())
    assert answer.status_code == 503
    assert "retry" in answer.get_data(as_text=True)


def test_concurrent_webhook_stores_keep_every_message_once(
    make_app: Callable[..., Flask], clock: Clock
) -> None:
    """Eight threads store the same 40 ids at once (a provider retrying while the
    first delivery is stored): every id is stored once, by exactly one of them."""
    rt = runtime(make_app(SMS_HANDLING="queue"))
    new_ids: list[int | None] = []

    def deliver() -> None:
        for n in range(40):
            new_ids.append(
                store_inbound(
                    rt.engine,
                    rt.vault,
                    provider="africastalking",
                    provider_id=f"same-{n}",
                    channel=Channel.SMS,
                    payload={"from": "+22376123456", "text": f"CONFIANCE {n % 5 + 1} Mopti"},
                    now=clock(),
                    sender_ref="0123456789abcdef",
                )
            )

    threads = [threading.Thread(target=deliver) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with rt.sessions() as session:
        stored = session.scalars(select(InboundMessage.provider_id)).all()
    assert sorted(stored) == sorted(f"same-{n}" for n in range(40))
    assert len([i for i in new_ids if i is not None]) == 40 and len(new_ids) == 320


def store(rt: Runtime, provider_id: str, now: dt.datetime) -> int | None:
    return store_inbound(
        rt.engine,
        rt.vault,
        provider="africastalking",
        provider_id=provider_id,
        channel=Channel.SMS,
        payload={"from": "+22376123456", "text": "CONFIANCE 4 Mopti"},
        now=now,
        sender_ref="0123456789abcdef",
    )


@contextlib.contextmanager
def another_process_writing(rt: Runtime) -> Iterator[None]:
    """The web processes' lock file held, as another process writing would hold it (a
    lock of its own open file, which flock keeps from this process's too)."""
    path = writers_lock_path(rt.engine)
    assert path is not None
    with open(path, "a+b") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        yield


def wait_until_queued(rt: Runtime, count: int) -> None:
    for _ in range(2000):
        if queued(rt.engine) == count:
            return
        threading.Event().wait(0.005)
    raise AssertionError(f"{queued(rt.engine)} writes queued, not {count}")


def start(target: Callable[[], None], count: int) -> list[threading.Thread]:
    threads = [threading.Thread(target=target) for _ in range(count)]
    for thread in threads:
        thread.start()
    return threads


@pytest.mark.skipif(is_postgres_run(), reason="SQLite's one writer at a time")
def test_webhook_writes_that_wait_for_another_process_share_one_transaction(
    make_app: Callable[..., Flask], clock: Clock
) -> None:
    """Six webhooks arrive while the other web process writes: they wait on the lock
    file (not SQLite's busy handler), then go in together, one connection and one
    commit, each told its own new row."""
    rt = runtime(make_app(SMS_HANDLING="queue"))
    checkouts: list[object] = []
    event.listen(rt.engine, "checkout", lambda *_args: checkouts.append(1))
    names = iter(f"grouped-{n}" for n in range(6))
    new_ids: list[int | None] = []
    with another_process_writing(rt):
        threads = start(lambda: new_ids.append(store(rt, next(names), clock())), 6)
        wait_until_queued(rt, 6)
        assert new_ids == []  # nothing is answered before it is written
    for thread in threads:
        thread.join()
    assert len(checkouts) == 1
    assert len(set(new_ids)) == 6 and None not in new_ids
    with rt.sessions() as session:
        stored = session.scalars(select(InboundMessage.provider_id)).all()
    assert sorted(stored) == [f"grouped-{n}" for n in range(6)]


@pytest.mark.skipif(is_postgres_run(), reason="SQLite's one writer at a time")
def test_the_writer_has_its_connection_before_its_turn_and_gives_it_back_after(
    make_app: Callable[..., Flask], clock: Clock
) -> None:
    """The pool's checkout and return are not done while the other web process waits
    for the turn: the writer waiting for it already holds its connection, and the
    connection goes back only once the turn is let go."""
    rt = runtime(make_app(SMS_HANDLING="queue"))
    returned_in_turn: list[bool] = []
    path = writers_lock_path(rt.engine)
    assert path is not None

    def turn_free() -> bool:
        with open(path, "a+b") as probe:
            try:
                fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return False
            fcntl.flock(probe, fcntl.LOCK_UN)
            return True

    event.listen(rt.engine, "checkin", lambda *_args: returned_in_turn.append(not turn_free()))
    with another_process_writing(rt):
        thread = start(lambda: store(rt, "in-turn", clock()), 1)[0]
        wait_until_queued(rt, 1)
        for _ in range(2000):
            if rt.engine.pool.checkedout() == 1:  # type: ignore[attr-defined]
                break
            threading.Event().wait(0.005)
        assert rt.engine.pool.checkedout() == 1  # type: ignore[attr-defined]
    thread.join(timeout=10)
    assert returned_in_turn == [False]


@pytest.mark.skipif(is_postgres_run(), reason="SQLite's one writer at a time")
def test_a_row_that_fails_in_a_shared_transaction_fails_alone(
    make_app: Callable[..., Flask], clock: Clock
) -> None:
    """A statement of the group breaks a constraint: its caller gets the error, the
    others' rows are stored all the same (each retried alone), a duplicate of the
    group stored once."""
    rt = runtime(make_app(SMS_HANDLING="queue"))
    table = InboundMessage.__table__
    errors: list[Exception] = []
    results: list[int | None] = []

    def broken() -> None:
        values = {
            "provider": "africastalking",
            "provider_id": None,  # NOT NULL
            "channel": Channel.SMS,
            "received_at": clock(),
            "reporter_id": None,
            "payload_enc": "",
            "outcome": Outcome.RECEIVED,
            "sender_ref": "0123456789abcdef",
            "attempts": 0,
            "next_attempt_at": clock(),
        }
        try:
            insert_ignore_committed(rt.engine, table, values)
        except IntegrityError as exc:
            errors.append(exc)

    names = iter(["alone-1", "alone-2", "alone-1"])
    with another_process_writing(rt):
        threads = start(lambda: results.append(store(rt, next(names), clock())), 3)
        threads += start(broken, 1)
        wait_until_queued(rt, 4)
    for thread in threads:
        thread.join()
    assert len(errors) == 1
    assert results.count(None) == 1 and len(set(results)) == 3
    with rt.sessions() as session:
        stored = session.scalars(select(InboundMessage.provider_id)).all()
    assert sorted(stored) == ["alone-1", "alone-2"]


@pytest.mark.skipif(is_postgres_run(), reason="SQLite's one writer at a time")
def test_a_shared_transaction_that_cannot_be_written_fails_every_caller_and_frees_the_turn(
    make_app: Callable[..., Flask], clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The disk fills while five webhooks share a transaction: each of the five hears
    the database's error (so each answers 503 and the provider retries), none waits
    for ever, nothing is half stored, and the next webhook writes as before."""
    rt = runtime(make_app(SMS_HANDLING="queue"))
    full = sqlite3.OperationalError("database or disk is full")

    def disk_full(pooled: object, dialect: object, batch: list[object]) -> None:
        raise OperationalError("INSERT", None, full)

    monkeypatch.setattr(group_commit, "_transaction", disk_full)
    errors: list[BaseException] = []
    answered: list[int | None] = []
    names = iter(f"full-{n}" for n in range(5))

    def deliver() -> None:
        try:
            answered.append(store(rt, next(names), clock()))
        except OperationalError as exc:
            errors.append(exc)

    with another_process_writing(rt):
        threads = start(deliver, 5)
        wait_until_queued(rt, 5)
    for thread in threads:
        thread.join(timeout=10)
        assert not thread.is_alive()
    assert answered == [] and len(errors) == 5
    assert all(error.orig is full for error in errors)  # type: ignore[attr-defined]
    monkeypatch.undo()  # the disk has room again
    assert store(rt, "after", clock()) is not None
    with rt.sessions() as session:
        stored = session.scalars(select(InboundMessage.provider_id)).all()
    assert stored == ["after"]
