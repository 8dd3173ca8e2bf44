"""A real Kannel per test module, and the gateway served where its get-url points.

Kannel (bearerbox, smsbox, fakesmsc) starts once per module on free loopback ports of
KANNEL_TEST_PORTS (default 14000-14499); each test gets its own gateway app behind
one relay server, so the tables are fresh per test while Kannel keeps running. Where
Kannel is not installed the tests are skipped with the reason; in CI (CI set) they
fail instead, since scripts/test installs it there.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from werkzeug.serving import make_server

from tests.kannel.harness import Kannel, free_ports, missing_kannel

TOKEN = "kannel-test-token"
GET_URL = (
    "http://127.0.0.1:{port}/webhooks/kannel/sms?token={token}&backend=%i&sender=%p"
    "&message=%b&ts=%T&id=%I&to=%P&coding=%c&charset=%C"
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.parent == Path(__file__).parent:
            item.add_marker(pytest.mark.kannel)


class Relay:
    """One WSGI server for the module; the app it serves is swapped per test.

    `detach` waits until no request is inside the app any more: a delivery report
    Kannel sends late must not be mid-transaction when the test's tables are emptied.
    """

    def __init__(self) -> None:
        self.app: Flask | None = None
        self._inside = 0
        self._quiet = threading.Condition()

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        with self._quiet:
            app = self.app
            if app is not None:
                self._inside += 1
        if app is None:
            start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
            return [b"no gateway in this test"]
        try:
            body = app.wsgi_app(environ, start_response)
            try:
                return list(body)
            finally:
                getattr(body, "close", lambda: None)()
        finally:
            with self._quiet:
                self._inside -= 1
                self._quiet.notify_all()

    def detach(self, timeout: float) -> None:
        with self._quiet:
            self.app = None
            if not self._quiet.wait_for(lambda: self._inside == 0, timeout):
                raise AssertionError(f"a request from Kannel still inside after {timeout} s")


@pytest.fixture(scope="module")
def kannel_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Kannel, Relay, int]]:
    reason = missing_kannel()
    if reason:
        if os.environ.get("CI"):
            pytest.fail(f"{reason}; CI must run the Kannel tests")
        pytest.skip(reason)
    admin, smsbox, fake, sendsms, gateway = free_ports(5)
    relay = Relay()
    server = make_server("127.0.0.1", gateway, relay, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    kannel = Kannel(
        folder=tmp_path_factory.mktemp("kannel"),
        get_url=GET_URL.format(port=gateway, token=TOKEN),
        ports={"admin": admin, "smsbox": smsbox, "fake": fake, "sendsms": sendsms},
    )
    try:
        kannel.start()
    except Exception:
        kannel.stop()
        server.shutdown()
        for name, text in kannel.logs():
            print(f"--- {name}\n{text}")
        raise
    yield kannel, relay, gateway
    kannel.stop()
    server.shutdown()
    thread.join(timeout=10)


@pytest.fixture
def kannel(kannel_stack: tuple[Kannel, Relay, int]) -> Kannel:
    return kannel_stack[0]


@pytest.fixture
def kannel_app(
    kannel_stack: tuple[Kannel, Relay, int], make_app: Callable[..., Flask]
) -> Iterator[Flask]:
    """The gateway configured for this Kannel, served at the get-url's address."""
    kannel, relay, port = kannel_stack
    app = make_app(
        SMS_PROVIDER="kannel",
        KANNEL_SEND_URL=kannel.send_url,
        KANNEL_USERNAME=kannel.username,
        KANNEL_PASSWORD=kannel.password,
        KANNEL_FROM="36000",
        KANNEL_WEBHOOK_TOKEN=TOKEN,
        KANNEL_DLR_BASE_URL=f"http://127.0.0.1:{port}",
    )
    relay.app = app
    yield app
    relay.detach(timeout=30)
