"""Dispatcher faults: killed between the provider's answer and its commit; providers
that answer 500, time out or refuse, through the real senders.

(Two dispatchers draining one outbox at once is tests/integration/test_outbox.py's
`test_two_dispatchers_send_every_message_exactly_once`; not repeated here.)
"""

from __future__ import annotations

import datetime as dt
import http.server
import json
import logging
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

import pytest
import requests
from flask import Flask
from sqlalchemy import select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from twilio.http import HttpClient
from twilio.http.response import Response

from gateway.db import transaction
from gateway.domain.backoff import RetryPolicy
from gateway.models import OutboxMessage, OutboxStatus
from gateway.ports import SendResult
from gateway.runtime import Runtime
from gateway.services.outbox import dispatch as outbox_dispatch
from gateway.services.outbox.dispatch import SEND_BUDGET, SENDERS_CACHE, dispatch_due
from gateway.services.outbox.queue import enqueue
from handlers.africastalking.sender import AfricasTalkingSender
from handlers.twilio.sender import TwilioSender
from tests.conftest import Clock
from tests.faults.proxy import TcpProxy, free_port

NUMBER = "+22376123456"
MASKED = "+223******56"


class Fixed:
    """Jitter at the top of its range: each wait is the backoff ceiling."""

    def random(self) -> float:
        return 1.0


def add(rt: Runtime, now: dt.datetime, bodies: list[str]) -> list[int]:
    with transaction(rt.sessions) as session:
        ids = [
            enqueue(session, rt.vault, to_e164=NUMBER, body=b, purpose="alert", now=now)
            for b in bodies
        ]
    assert all(ids)
    return [i for i in ids if i]


def statuses(rt: Runtime) -> dict[str, OutboxStatus]:
    with rt.sessions() as session:
        return dict(session.execute(select(OutboxMessage.body, OutboxMessage.status)).all())  # type: ignore[arg-type]


class Recorder:
    """A provider that accepts everything and counts what it was given, per body."""

    name = "console"

    def __init__(self, after_send: Callable[[], None] | None = None) -> None:
        self.counts: Counter[str] = Counter()
        self._after_send = after_send

    def send(self, to_e164: str, body: str) -> SendResult:
        self.counts[body] += 1
        if self._after_send is not None:
            after, self._after_send = self._after_send, None
            after()  # once: the "crash" right after the provider's answer
        return SendResult.accepted(f"rec-{body}-{self.counts[body]}")


# --- killed between the provider's answer and the commit ------------------------------


class Killed(BaseException):
    """The dispatcher process dying: not an Exception, nothing catches it."""


@pytest.mark.timeout(60)
def test_dispatcher_killed_after_the_send_resends_at_most_once_and_ends_sent(
    rt: Runtime, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    bodies = ["Alerte A1", "Alerte A2", "Alerte A3"]
    add(rt, clock(), bodies)
    provider = Recorder()
    real_record = outbox_dispatch.record_send_result

    def die_before_commit(*args: Any, **kw: Any) -> Any:
        raise Killed  # the provider accepted A1; its result is never committed

    monkeypatch.setattr(outbox_dispatch, "record_send_result", die_before_commit)
    with pytest.raises(Killed):
        dispatch_due(rt, clock(), {"console": provider}, Fixed())
    monkeypatch.setattr(outbox_dispatch, "record_send_result", real_record)
    assert provider.counts == Counter({"Alerte A1": 1})
    assert set(statuses(rt).values()) == {OutboxStatus.SENDING}

    # Another dispatcher, while the dead one's lease runs: nothing to do.
    lease = SEND_BUDGET * outbox_dispatch.BATCH
    assert (
        dispatch_due(
            rt, clock.advance(seconds=lease.total_seconds() - 1), {"console": provider}
        ).claimed
        == 0
    )
    # After the lease: everything is sent; A1 once more (the accepted duplicate).
    summary = dispatch_due(rt, clock.advance(seconds=2), {"console": provider}, Fixed())
    assert (summary.claimed, summary.sent) == (3, 3)
    assert provider.counts == Counter({"Alerte A1": 2, "Alerte A2": 1, "Alerte A3": 1})
    assert statuses(rt) == dict.fromkeys(bodies, OutboxStatus.SENT)
    assert dispatch_due(rt, clock.advance(days=1), {"console": provider}).claimed == 0


@pytest.fixture
def proxy(database_url: str) -> Iterator[TcpProxy]:
    url = make_url(database_url)
    with TcpProxy(url.host or "127.0.0.1", url.port or 5432) as p:
        yield p


@pytest.mark.postgres
@pytest.mark.slow
@pytest.mark.timeout(60)
def test_database_lost_between_the_send_and_its_commit_resends_at_most_once(
    make_app: Callable[..., Flask], database_url: str, proxy: TcpProxy, clock: Clock
) -> None:
    """The connection to PostgreSQL is cut the moment the provider has accepted the
    first SMS of a batch: its result cannot be committed. When the database is back
    and the lease has run out, a dispatcher sends the batch again: the first SMS
    twice (the accepted window), the others once, and every row ends `sent`."""
    url = make_url(database_url).set(host="127.0.0.1", port=proxy.port)
    app = make_app(DATABASE_URL=url.render_as_string(hide_password=False))
    rt: Runtime = app.extensions["gateway"]
    bodies = [f"Alerte B{i}" for i in range(5)]
    add(rt, clock(), bodies)
    provider = Recorder(after_send=proxy.cut)
    with pytest.raises(OperationalError):
        dispatch_due(rt, clock(), {"console": provider}, Fixed())
    assert provider.counts == Counter({"Alerte B0": 1})
    # Until the database is back, a dispatch fails fast and sends nothing.
    with pytest.raises(OperationalError):
        dispatch_due(rt, clock.advance(hours=1), {"console": provider}, Fixed())
    proxy.restore()
    assert set(statuses(rt).values()) == {OutboxStatus.SENDING}

    summary = dispatch_due(rt, clock.advance(hours=1), {"console": provider}, Fixed())
    assert (summary.claimed, summary.sent) == (5, 5)
    assert provider.counts == Counter({b: 2 if b == "Alerte B0" else 1 for b in bodies})
    assert statuses(rt) == dict.fromkeys(bodies, OutboxStatus.SENT)


# --- the provider answers 500, times out, refuses -------------------------------------


class FakeAt(http.server.ThreadingHTTPServer):
    """Africa's Talking's messaging endpoint on loopback, answering as `mode` says:
    "500" (an error page), "hang" (reads the request, never answers)."""

    daemon_threads = True

    def __init__(self) -> None:
        self.mode = "500"
        self.calls = 0
        self.release = threading.Event()
        super().__init__(("127.0.0.1", 0), _AtHandler)


class _AtHandler(http.server.BaseHTTPRequestHandler):
    server: FakeAt

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.server.calls += 1
        if self.server.mode == "hang":
            self.server.release.wait(10)
            return
        body = json.dumps({"error": "internal"}).encode()
        self.send_response(500)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def fake_at() -> Iterator[FakeAt]:
    server = FakeAt()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.release.set()
    server.shutdown()
    server.server_close()


class FailingTwilioHttp(HttpClient):  # type: ignore[misc]
    """Twilio's API failing as scripted: exceptions are raised, pairs answered."""

    def __init__(self, *answers: tuple[int, dict[str, Any]] | Exception) -> None:
        super().__init__(logging.getLogger("fake-twilio"), False, 10.0)
        self.answers = list(answers)
        self.calls = 0

    def request(self, method: str, uri: str, *args: Any, **kw: Any) -> Response:
        self.calls += 1
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        status, payload = answer
        return Response(status, json.dumps(payload))


def _cli(app: Flask, *args: str) -> Any:
    return app.test_cli_runner().invoke(args=list(args))


@pytest.mark.timeout(60)
def test_provider_500_timeout_and_refusal_back_off_fail_over_and_end_dead_in_the_console(
    app: Flask, rt: Runtime, clock: Clock, fake_at: FakeAt
) -> None:
    """Real senders, real transports: Africa's Talking (primary) answers 500, then
    hangs past the read timeout, then refuses connections; Twilio (fallback) times
    out, refuses, answers 503 and 500. Waits double, the fourth attempt goes to the
    fallback, the eighth failure makes a dead letter that `flask outbox dead` shows,
    with the masked number and the last error, and `outbox retry` revives it."""
    at = AfricasTalkingSender("gateway", "atsk_key", timeout=(0.5, 0.5))
    at._service._baseUrl = f"http://127.0.0.1:{fake_at.server_address[1]}"
    twilio_http = FailingTwilioHttp(
        requests.exceptions.ReadTimeout("read timed out"),
        requests.exceptions.ConnectionError("connection refused"),
        (503, {}),
        (500, {"code": 20500, "message": "Internal Server Error", "status": 500}),
        requests.exceptions.ConnectTimeout("connect timed out"),
        (201, {"sid": "SMrevived", "status": "queued"}),
    )
    twilio = TwilioSender("AC123", "token", "+15005550006", http_client=twilio_http)
    rt.settings = replace(
        rt.settings, sms_provider="africastalking", sms_fallback_provider="twilio"
    )
    senders = rt.cached(SENDERS_CACHE, lambda: {"africastalking": at, "twilio": twilio})
    policy = RetryPolicy()
    (outbox_id,) = add(rt, clock(), ["Alerte C1: tirs"])

    def attempt(expect_provider: str, expect_error: str) -> float:
        summary = dispatch_due(rt, clock(), senders, Fixed())
        assert (summary.claimed, summary.retried + summary.dead) == (1, 1)
        with rt.sessions() as session:
            row = session.get_one(OutboxMessage, outbox_id)
        assert row.provider == expect_provider
        assert expect_error in (row.last_error or ""), row.last_error
        assert NUMBER not in (row.last_error or "")
        if row.status == OutboxStatus.DEAD:
            return 0.0
        assert row.status == OutboxStatus.PENDING
        wait = (row.next_attempt_at - clock()).total_seconds()
        assert wait == policy.ceiling(row.attempts).total_seconds()
        # Not due a second before; due at the time.
        clock.advance(seconds=wait - 1)
        assert dispatch_due(rt, clock(), senders, Fixed()).claimed == 0
        clock.advance(seconds=1)
        return wait

    waits = [attempt("africastalking", "HTTP error")]  # 500
    fake_at.mode = "hang"
    waits.append(attempt("africastalking", "timeout"))  # read timeout after 0.5 s
    fake_at.release.set()
    at._service._baseUrl = f"http://127.0.0.1:{free_port()}"  # nothing listens: refused
    waits.append(attempt("africastalking", "connection error"))
    waits.append(attempt("twilio", "timeout"))
    waits.append(attempt("twilio", "connection error"))
    waits.append(attempt("twilio", "HTTP 503"))
    waits.append(attempt("twilio", "HTTP 500"))
    waits.append(attempt("twilio", "timeout"))  # the eighth: dead
    assert waits == [30, 60, 120, 240, 480, 960, 1920, 0]
    assert (fake_at.calls, twilio_http.calls) == (2, 5)

    listing = _cli(app, "outbox", "dead")
    assert listing.exit_code == 0
    (line,) = listing.output.strip().splitlines()
    assert line.startswith(f"{outbox_id}\t")
    fields = line.split("\t")
    assert fields[2:5] == ["alert", MASKED, "8"]
    assert fields[5] == "timeout"
    assert NUMBER not in listing.output
    # An admin revives it; the provider is back.
    assert _cli(app, "outbox", "retry", str(outbox_id)).exit_code == 0
    rt.settings = replace(rt.settings, sms_provider="twilio", sms_fallback_provider=None)
    assert "sent 1" in _cli(app, "outbox", "dispatch").output
    assert _cli(app, "outbox", "dead").output.strip() == "no dead letters"
