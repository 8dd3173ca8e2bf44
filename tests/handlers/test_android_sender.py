"""The Android relay's sender with the real `android-sms-gateway` client, against a
local HTTP server that plays the phone's API (answers from the app's documentation)."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from gateway.ports import SendResult
from handlers.android.sender import AndroidSender

NUMBER = "+22376123456"
PASSWORD = "phone-password-0123"


@dataclass
class Phone:
    """What the phone answers next, and what it was asked."""

    status: int = 202
    state: str = "Pending"
    raw: bytes | None = None
    requests: list[tuple[str, dict[str, str], dict[str, Any]]] = field(default_factory=list)


@pytest.fixture
def phone() -> Iterator[tuple[Phone, str]]:
    script = Phone()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            script.requests.append((self.path, dict(self.headers), body))
            answer = (
                script.raw
                or json.dumps(
                    {
                        "id": body.get("id") or "generated",
                        "state": script.state,
                        "recipients": [{"phoneNumber": NUMBER, "state": script.state}],
                        "isHashed": False,
                        "isEncrypted": False,
                    }
                ).encode()
            )
            self.send_response(script.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield script, f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)


def sender(url: str) -> AndroidSender:
    return AndroidSender(url, "sms", PASSWORD, timeout=(2.0, 2.0))


def test_a_send_posts_the_message_with_our_id_and_basic_auth(phone: tuple[Phone, str]) -> None:
    script, url = phone
    result = sender(url).send(NUMBER, "Alerte A12: tirs signales")
    assert result.outcome == "accepted" and result.provider_message_id
    ((path, headers, body),) = script.requests
    assert path == "/messages"
    assert (
        headers["Authorization"] == "Basic " + base64.b64encode(f"sms:{PASSWORD}".encode()).decode()
    )
    assert body["phoneNumbers"] == [NUMBER]
    assert body["textMessage"] == {"text": "Alerte A12: tirs signales"}
    assert body["withDeliveryReport"] is True
    assert body["id"] == result.provider_message_id  # the events will name it


def test_unicode_text_goes_as_it_is(phone: tuple[Phone, str]) -> None:
    script, url = phone
    sender(url).send(NUMBER, "Ɛ bɛ ɲɔgɔn dɛmɛ")
    assert script.requests[0][2]["textMessage"]["text"] == "Ɛ bɛ ɲɔgɔn dɛmɛ"


@pytest.mark.parametrize(
    ("label", "status", "state", "outcome"),
    [
        ("pending", 202, "Pending", "accepted"),
        ("processed", 200, "Processed", "accepted"),
        ("failed at once", 202, "Failed", "permanent"),
        ("bad request", 400, "Pending", "permanent"),
        ("wrong password", 401, "Pending", "retryable"),
        ("phone error", 500, "Pending", "retryable"),
        ("server unavailable", 503, "Pending", "retryable"),
    ],
)
def test_phone_answer(
    phone: tuple[Phone, str], label: str, status: int, state: str, outcome: str
) -> None:
    script, url = phone
    script.status, script.state = status, state
    result = sender(url).send(NUMBER, "x")
    assert result.outcome == outcome, label
    assert PASSWORD not in str(result.error) and NUMBER not in str(result.error)


def test_an_unreadable_answer_is_retryable(phone: tuple[Phone, str]) -> None:
    script, url = phone
    script.raw = b'{"unexpected": true}'
    assert sender(url).send(NUMBER, "x").outcome == "retryable"


def test_a_phone_that_is_off_is_retryable() -> None:
    from tests.faults.proxy import free_port

    result = sender(f"http://127.0.0.1:{free_port()}").send(NUMBER, "x")
    assert result.outcome == "retryable"
    assert result == SendResult.retryable("connection error: ConnectionError")
