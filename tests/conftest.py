"""Fixtures shared by the suite.

The database is SQLite (a file per run) unless TEST_DATABASE_URL names another, as
scripts/test does for PostgreSQL. It is migrated and given the gazetteer once per
run; each test then starts from empty tables but for the localities and places.
"""

from __future__ import annotations

import base64
import datetime as dt
import os
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text

from gateway import create_app, migrate
from gateway.db import make_engine, make_sessionmaker
from gateway.models import Base
from gateway.runtime import Runtime

KEEP = {"localities", "places", "alembic_version"}
TEST_KEYS = {
    "SECRET_KEY": "test-secret-key-not-for-production",
    "PHONE_HASH_KEY": "test-phone-hash-key",
    "DATA_KEY": base64.urlsafe_b64encode(b"k" * 32).decode(),
}


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any connection outside this machine fails the test (providers are faked)."""
    real = socket.socket.connect

    def guarded(self: socket.socket, address: Any) -> Any:
        host = address[0] if isinstance(address, tuple) else str(address)
        if isinstance(address, tuple) and host not in ("127.0.0.1", "::1", "localhost"):
            raise RuntimeError(f"test tried to reach the network: {host}")
        return real(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)


def is_postgres_run() -> bool:
    return os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql")


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = os.environ.get("TEST_DATABASE_URL") or (
        f"sqlite:///{tmp_path_factory.mktemp('db') / 'gateway.db'}"
    )
    engine = make_engine(url)
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    migrate.upgrade(engine)
    from gateway.gazetteer.load import load_gazetteer

    load_gazetteer(make_sessionmaker(engine))
    engine.dispose()
    return url


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, start: dt.datetime) -> None:
        self.current = start

    def __call__(self) -> dt.datetime:
        return self.current

    def advance(self, **delta: float) -> dt.datetime:
        self.current += dt.timedelta(**delta)
        return self.current


@pytest.fixture
def clock() -> Clock:
    return Clock(dt.datetime(2026, 11, 2, 9, 30, tzinfo=dt.UTC))


@pytest.fixture
def make_app(database_url: str, tmp_path: Path, clock: Clock) -> Iterator[Callable[..., Flask]]:
    apps: list[Flask] = []

    def factory(**overrides: Any) -> Flask:
        settings: dict[str, Any] = {
            "DATABASE_URL": database_url,
            "GATEWAY_INSTANCE_PATH": str(tmp_path / "instance"),
            "CONSOLE_SMS_FILE": str(tmp_path / "sms.jsonl"),
            "SMS_PROVIDER": "console",
            "SMS_FALLBACK_PROVIDER": None,
            # Most tests look at what a message caused right after its webhook; the
            # queue itself (webhook stores, worker handles) is tested with "queue".
            "SMS_HANDLING": "inline",
            "AT_WEBHOOK_TOKEN": None,
            "TWILIO_AUTH_TOKEN": None,
            "PUBLIC_BASE_URL": None,
            "GATEWAY_ENV": "development",
            "NOW": clock,
            "TESTING": True,
            "WTF_CSRF_ENABLED": False,
            **TEST_KEYS,
        }
        settings.update(overrides)
        app = create_app(settings)
        apps.append(app)
        return app

    yield factory
    for app in apps:
        app.extensions["gateway"].close()
    _empty_tables(database_url)


def _empty_tables(url: str) -> None:
    tables = [t for t in reversed(Base.metadata.sorted_tables) if t.name not in KEEP]
    engine = make_engine(url)
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            names = ", ".join(t.name for t in tables)
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                conn.execute(table.delete())
    engine.dispose()


@pytest.fixture
def app(make_app: Callable[..., Flask]) -> Flask:
    return make_app()


@pytest.fixture
def rt(app: Flask) -> Runtime:
    runtime: Runtime = app.extensions["gateway"]
    return runtime


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    skip_pg = pytest.mark.skip(reason="needs PostgreSQL (TEST_DATABASE_URL)")
    for item in items:
        if "postgres" in item.keywords and not is_postgres_run():
            item.add_marker(skip_pg)
