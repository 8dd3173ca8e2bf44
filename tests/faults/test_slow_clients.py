"""The embedded web server as scripts/run and the Procfile start it: stalled request
bodies do not take its threads, and its access log holds no webhook token."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from sqlalchemy import create_engine, delete

from gateway.models import InboundMessage
from tests.conftest import TEST_KEYS
from tests.faults.gunicorn import serving
from tests.faults.proxy import free_port

pytestmark = pytest.mark.slow

STALLED = 16
TOKEN = "at-token-must-not-be-logged-0123"


class Server:
    def __init__(self, base: str, access_log: Path) -> None:
        self.base, self.access_log = base, access_log


@pytest.fixture
def server(database_url: str, tmp_path: Path) -> Iterator[Server]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AT_", "TWILIO_", "SMS_"))}
    env.update(
        TEST_KEYS,
        DATABASE_URL=database_url,
        GATEWAY_INSTANCE_PATH=str(tmp_path / "instance"),
        GATEWAY_ENV="development",
        SMS_PROVIDER="console",
        CONSOLE_SMS_FILE=str(tmp_path / "sms.jsonl"),
        AT_WEBHOOK_TOKEN=TOKEN,
    )
    env.pop("PUBLIC_BASE_URL", None)
    access = tmp_path / "access.log"
    try:
        with serving(env, port, tmp_path / "gunicorn.log", "--access-logfile", str(access)):
            yield Server(f"http://127.0.0.1:{port}", access)
    finally:
        _forget_stored(database_url)


def _forget_stored(database_url: str) -> None:
    """The server queued what it was sent in the shared test database: leave nothing
    for later tests that count every stored message."""
    engine = create_engine(database_url)
    with engine.begin() as conn:
        conn.execute(delete(InboundMessage))
    engine.dispose()


def _stall(base: str, path: str) -> socket.socket:
    """A client that announces a 60,000-byte body, sends 100 bytes and waits."""
    host, port = base.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=5)
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 60000\r\n\r\n"
    )
    sock.sendall(head.encode() + b"Body=" + b"x" * 95)
    return sock


def test_sixteen_stalled_bodies_leave_healthz_answering_within_a_second(server: Server) -> None:
    paths = [
        "/webhooks/twilio/sms",
        "/console/login",
        f"/webhooks/africastalking/sms?token={TOKEN}",
    ]
    stalled = [_stall(server.base, paths[i % len(paths)]) for i in range(STALLED)]
    try:
        time.sleep(0.5)  # let every stalled request reach the server and be read
        for _ in range(5):
            response = requests.get(f"{server.base}/healthz", timeout=1.0)
            assert response.status_code == 200
        form = {"from": "+22376123456", "text": "AIDE", "id": "ATXid_slow_1"}
        url = f"{server.base}/webhooks/africastalking/sms?token={TOKEN}"
        assert requests.post(url, data=form, timeout=2.0).status_code == 200
    finally:
        for sock in stalled:
            sock.close()


def test_the_access_log_names_paths_without_their_token(server: Server) -> None:
    form = {"from": "+22376123456", "text": "AIDE", "id": "ATXid_log_1"}
    url = f"{server.base}/webhooks/africastalking/sms?token={TOKEN}"
    assert requests.post(url, data=form, timeout=5).status_code == 200
    assert requests.get(f"{server.base}/healthz?token={TOKEN}", timeout=5).status_code == 200
    deadline = time.monotonic() + 5
    while "/webhooks/africastalking/sms" not in server.access_log.read_text():
        assert time.monotonic() < deadline, "no access line"
        time.sleep(0.1)
    logged = server.access_log.read_text()
    assert TOKEN not in logged and "token=" not in logged
    assert '"POST /webhooks/africastalking/sms HTTP/1.1" 200' in logged
