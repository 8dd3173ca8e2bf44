"""The relay that stands between Kannel and each test's gateway: a test's tables are
emptied only once no request from Kannel is still inside that test's app (a delivery
report landing during the TRUNCATE deadlocked it on PostgreSQL, and the next test saw
the last one's rows)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask

from tests.kannel.conftest import Relay


def _call(relay: Relay) -> list[str]:
    statuses: list[str] = []

    def start_response(status: str, headers: list[tuple[str, str]]) -> None:
        statuses.append(status)

    body = relay({"REQUEST_METHOD": "GET", "PATH_INFO": "/"}, start_response)
    list(body)
    return statuses


class _Held:
    """A WSGI app standing for a gateway request still at work in its transaction."""

    def __init__(self) -> None:
        self.inside = threading.Event()
        self.release = threading.Event()

    def wsgi_app(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        self.inside.set()
        self.release.wait(10)
        start_response("200 OK", [])
        return [b"ok"]


def test_detach_waits_for_a_request_still_inside_the_app() -> None:
    relay, held = Relay(), _Held()
    relay.app = held  # type: ignore[assignment]
    request = threading.Thread(target=_call, args=(relay,))
    request.start()
    assert held.inside.wait(5)
    detached = threading.Event()
    detacher = threading.Thread(target=lambda: (relay.detach(timeout=10), detached.set()))
    detacher.start()
    assert not detached.wait(0.3)  # the request still holds its transaction
    held.release.set()
    assert detached.wait(5)
    request.join(5)
    detacher.join(5)


def test_after_detach_kannel_is_told_to_come_back_later() -> None:
    relay = Relay()
    relay.app = Flask(__name__)
    relay.detach(timeout=1)
    assert _call(relay) == ["503 Service Unavailable"]
