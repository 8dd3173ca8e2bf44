"""PostgreSQL's pool pings a connection before use only when it sat idle: a ping per
request is a round trip per request, yet a connection that died while idle (the
server restarted) must still be replaced before a request gets it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, text

from gateway import db
from gateway.db import make_engine

pytestmark = pytest.mark.postgres


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    e = make_engine(database_url, pool_size=1, max_overflow=0)
    yield e
    e.dispose()


def count_pings(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    pings: list[int] = []
    real = engine.dialect.do_ping

    def ping(dbapi_connection: Any) -> bool:
        pings.append(1)
        return real(dbapi_connection)

    monkeypatch.setattr(engine.dialect, "do_ping", ping)
    return pings


def backend_pid(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())


def test_a_connection_in_steady_use_is_not_pinged(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    pings = count_pings(engine, monkeypatch)
    first = backend_pid(engine)  # a new connection: pinged once
    for _ in range(20):
        assert backend_pid(engine) == first
    assert len(pings) == 1


def test_an_idle_connection_that_died_is_replaced_before_use(
    engine: Engine, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    dead = backend_pid(engine)
    killer = make_engine(database_url)
    with killer.begin() as conn:
        assert conn.execute(text("SELECT pg_terminate_backend(:p)"), {"p": dead}).scalar()
    killer.dispose()
    monkeypatch.setattr(db, "PING_AFTER_IDLE", 0.0)  # as if it had sat idle
    pings = count_pings(engine, monkeypatch)
    assert backend_pid(engine) != dead  # no error: the pool reconnected
    assert len(pings) >= 1


def test_every_checkout_is_pinged_when_asked(database_url: str) -> None:
    e = make_engine(database_url, pool_pre_ping=True)
    assert e.pool._pre_ping
    e.dispose()
