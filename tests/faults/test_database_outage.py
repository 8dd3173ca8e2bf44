"""The database goes away during a stream of webhooks, then comes back.

PostgreSQL is reached through a TCP proxy that the test cuts and restores, so the
shared server is never stopped. While it is cut: SMS webhooks answer 503 (the
provider retries), USSD answers `END` with an apology, /healthz answers 503, and
none of them makes the caller wait. When it is back, the same app object works
again, and every request that got a 200 is stored, once, and handled.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.engine import make_url

from gateway.domain.gsm7 import is_gsm7
from gateway.models import InboundMessage, OutboxMessage, Outcome, TrustRating
from gateway.runtime import Runtime
from gateway.services.intake import sms
from gateway.services.intake.inbound_queue import LEASE, QUEUED
from gateway.services.intake.worker import drain
from tests.conftest import Clock
from tests.faults.proxy import TcpProxy
from tests.handlers.payloads import at_sms, at_ussd, twilio_sms

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

AT_SMS = "/webhooks/africastalking/sms"
TWILIO_SMS = "/webhooks/twilio/sms"
USSD = "/webhooks/africastalking/ussd"
# Refused connections fail at once; a request in an outage must not hang the worker.
FAST = 1.0


@pytest.fixture
def proxy(database_url: str) -> Iterator[TcpProxy]:
    url = make_url(database_url)
    with TcpProxy(url.host or "127.0.0.1", url.port or 5432) as p:
        yield p


@pytest.fixture
def proxied(make_app: Callable[..., Flask], database_url: str, proxy: TcpProxy) -> Any:
    """make_app(...) with DATABASE_URL going through the proxy."""
    url = make_url(database_url).set(host="127.0.0.1", port=proxy.port)

    def factory(**overrides: Any) -> Flask:
        return make_app(DATABASE_URL=url.render_as_string(hide_password=False), **overrides)

    return factory


def runtime(app: Flask) -> Runtime:
    rt: Runtime = app.extensions["gateway"]
    return rt


def stored(rt: Runtime, provider: str) -> dict[str, Outcome]:
    """provider id -> outcome of every inbound row of `provider`."""
    with rt.sessions() as session:
        rows = session.execute(
            select(InboundMessage.provider_id, InboundMessage.outcome).where(
                InboundMessage.provider == provider
            )
        ).all()
    ids = [r[0] for r in rows]
    assert len(ids) == len(set(ids)), "a provider id is stored twice"
    return {pid: outcome for pid, outcome in rows}


def rating_refs(rt: Runtime) -> list[str]:
    """The message each rating came from (one rating per SMS)."""
    with rt.sessions() as session:
        return list(session.scalars(select(TrustRating.source_ref)))


def handled_once(rt: Runtime) -> int:
    """How many messages got their first reply (each reply's key is unique, so a
    message handled twice would fail on it or show two sets of replies)."""
    with rt.sessions() as session:
        keys = session.scalars(
            select(OutboxMessage.dedupe_key).where(OutboxMessage.dedupe_key.like("reply:%:0"))
        ).all()
    assert len(keys) == len(set(keys))
    return len(keys)


def timed(call: Callable[[], Any]) -> tuple[Any, float]:
    start = time.monotonic()
    result = call()
    return result, time.monotonic() - start


def at(client: FlaskClient, n: int, **kw: str) -> int:
    form = at_sms(id=f"ATXid_outage_{n}", text=f"CONFIANCE {1 + n % 5} Sevare", **kw)
    return client.post(AT_SMS, data=form).status_code


def tw(client: FlaskClient, n: int) -> int:
    form = twilio_sms(MessageSid=f"SMoutage{n:028d}", Body=f"TRUST {1 + n % 5} Mopti")
    return client.post(TWILIO_SMS, data=form).status_code


def ussd(client: FlaskClient, session: str, text: str = "") -> tuple[int, str]:
    response = client.post(USSD, data=at_ussd(sessionId=session, text=text))
    return response.status_code, response.get_data(as_text=True)


def assert_screen(body: str) -> None:
    assert body.startswith(("CON ", "END ")), body
    assert len(body) - 4 <= 160 and is_gsm7(body[4:]), body


@pytest.mark.timeout(60)
def test_webhooks_answer_503_or_end_while_the_database_is_cut_then_recover(
    proxied: Callable[..., Flask], proxy: TcpProxy
) -> None:
    app = proxied()
    rt = runtime(app)
    client = app.test_client()
    acked_at: set[str] = set()
    acked_tw: set[str] = set()

    # Up: everything answers, and the pool holds live connections.
    for n in range(5):
        assert at(client, n) == 200
        acked_at.add(f"ATXid_outage_{n}")
        assert tw(client, n) == 200
        acked_tw.add(f"SMoutage{n:028d}")
    assert ussd(client, "ATUid_up")[0] == 200
    assert client.get("/healthz").status_code == 200

    proxy.cut()
    apology = "END " + rt.reference.catalogues.render(
        rt.settings.default_language, "service_unavailable"
    )
    for n in range(5, 10):
        code, took = timed(lambda n=n: at(client, n))
        assert (code, took < FAST) == (503, True), (code, took)
        code, took = timed(lambda n=n: tw(client, n))
        assert (code, took < FAST) == (503, True), (code, took)
        (code, body), took = timed(lambda n=n: ussd(client, f"ATUid_down_{n}", "1"))
        assert (code, body, took < FAST) == (200, apology, True), (code, body, took)
        assert_screen(body)
        health, took = timed(lambda: client.get("/healthz"))
        assert (health.status_code, took < FAST) == (503, True)
        assert health.json == {"status": "unavailable", "database": "unreachable"}

    proxy.restore()
    # The same app, no restart: the pool drops its dead connections by itself.
    assert client.get("/healthz").status_code == 200
    for n in range(5, 12):  # the providers retry what got 503, and new ones arrive
        assert at(client, n) == 200
        acked_at.add(f"ATXid_outage_{n}")
        assert tw(client, n) == 200
        acked_tw.add(f"SMoutage{n:028d}")
    code, body = ussd(client, "ATUid_back")
    assert code == 200 and body.startswith("CON "), body

    at_rows, tw_rows = stored(rt, "africastalking"), stored(rt, "twilio")
    assert set(at_rows) == acked_at and set(tw_rows) == acked_tw
    assert Outcome.RECEIVED not in set(at_rows.values()) | set(tw_rows.values())


@pytest.mark.timeout(90)
@pytest.mark.parametrize("handling", ["inline", "queue"])
def test_a_stream_of_webhooks_across_an_outage_loses_nothing(
    proxied: Callable[..., Flask], proxy: TcpProxy, clock: Clock, handling: str
) -> None:
    """Four threads post without pause; the database is cut mid-stream, then restored.
    Requests in flight at the cut may get 200 or 503, never anything else; what got
    503 is delivered again (as a provider retries) until it gets 200. Handled in the
    request or by a worker afterwards, every stored message is handled once."""
    app = proxied(SMS_HANDLING=handling)
    rt = runtime(app)
    counter = itertools.count()
    results: list[tuple[str, str, int, float, int]] = []  # kind, id, status, seconds, n
    screens: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()
    errors: list[BaseException] = []

    def worker(index: int) -> None:
        client = app.test_client()
        try:
            while not stop.is_set():
                n = next(counter)
                kind = ("at", "twilio", "ussd")[n % 3]
                start = time.monotonic()
                if kind == "at":
                    key, code = f"ATXid_outage_{n}", at(client, n)
                elif kind == "twilio":
                    key, code = f"SMoutage{n:028d}", tw(client, n)
                else:
                    key = f"ATUid_stream_{n}"
                    code, body = ussd(client, key, ("", "1", "2*1", "1*1*3")[n % 4])
                    with lock:
                        screens.append(body)
                with lock:
                    results.append((kind, key, code, time.monotonic() - start, n))
                time.sleep(0.01)  # a steady stream, not a flood of instant 503s
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    time.sleep(1.0)
    proxy.cut()
    time.sleep(1.5)
    proxy.restore()
    time.sleep(1.5)
    stop.set()
    for t in threads:
        t.join(timeout=30)
    assert not errors, errors
    assert not any(t.is_alive() for t in threads)

    codes = {(kind, code) for kind, _, code, _, _ in results}
    assert codes <= {("at", 200), ("at", 503), ("twilio", 200), ("twilio", 503), ("ussd", 200)}
    assert ("at", 503) in codes and ("at", 200) in codes, "the outage was not seen"
    for body in screens:
        assert_screen(body)
    slowest = max(seconds for _, _, _, seconds, _ in results)
    assert slowest < 5, f"a request took {slowest:.1f}s"

    # The providers' retries of what got 503, after the database is back.
    client = app.test_client()
    for kind, _, code, _, n in results:
        if code == 503:
            assert (at(client, n) if kind == "at" else tw(client, n)) == 200

    acked = {(kind, key) for kind, key, _, _, _ in results if kind != "ussd"}
    at_rows, tw_rows = stored(rt, "africastalking"), stored(rt, "twilio")
    assert set(at_rows) == {key for kind, key in acked if kind == "at"}
    assert set(tw_rows) == {key for kind, key in acked if kind == "twilio"}
    clock.advance(seconds=LEASE.total_seconds() + 1)  # what a cut request left held
    # The clock's job, as it runs after the outage. Every message here comes from
    # one of two phones and a batch claims one per phone (in order per reporter), so
    # the backlog takes ~100 batches: on a loaded machine more than one run's 30 s
    # budget, and the clock's next runs (every 2 s) go on with it.
    while drain(rt).claimed:
        pass
    at_rows, tw_rows = stored(rt, "africastalking"), stored(rt, "twilio")
    half = [k for k, o in (at_rows | tw_rows).items() if o in QUEUED]
    assert half == [], f"stored but never handled: {half}"
    handled_once(rt)  # no message's replies twice
    refs = rating_refs(rt)
    assert len(refs) == len(set(refs)), "a message rated twice"


@pytest.mark.timeout(60)
@pytest.mark.parametrize("testing", [True, False], ids=["TESTING", "production"])
def test_an_outage_between_storing_and_handling_an_sms_is_retried(
    proxied: Callable[..., Flask],
    proxy: TcpProxy,
    monkeypatch: pytest.MonkeyPatch,
    testing: bool,
) -> None:
    """SMS_HANDLING=inline: the SMS is committed (first transaction), then the database
    goes before it is handled (second transaction). The provider is told to retry
    (503), and the retry handles the stored message (the queue's workers would too)."""
    app = proxied(TESTING=testing)
    rt = runtime(app)
    client = app.test_client()
    real_claim = sms.claim_inbound

    def claim_after_cut(*args: Any, **kwargs: Any) -> Any:
        proxy.cut()
        return real_claim(*args, **kwargs)

    monkeypatch.setattr(sms, "claim_inbound", claim_after_cut)
    first = at(client, 1)
    monkeypatch.setattr(sms, "claim_inbound", real_claim)
    proxy.restore()
    assert stored(rt, "africastalking") == {"ATXid_outage_1": Outcome.RECEIVED}
    assert first == 503
    assert at(client, 1) == 200  # the provider's retry
    assert stored(rt, "africastalking")["ATXid_outage_1"] != Outcome.RECEIVED


@pytest.mark.timeout(30)
def test_healthz_does_not_hang_when_the_database_stops_answering(
    proxied: Callable[..., Flask], proxy: TcpProxy
) -> None:
    """A partition (or a stalled server) leaves pooled connections open but silent;
    the pool's pre-ping would wait on them with no limit. /healthz answers 503 within
    its time limit instead (gunicorn's --timeout is the backstop for other requests)."""
    app = proxied()
    client = app.test_client()
    assert client.get("/healthz").status_code == 200
    proxy.blackhole()
    answer: list[int] = []
    thread = threading.Thread(target=lambda: answer.append(client.get("/healthz").status_code))
    thread.start()
    thread.join(timeout=5)
    hung = thread.is_alive()
    proxy.cut()  # frees the hung request, if any
    thread.join(timeout=10)
    proxy.restore()
    assert not hung
    assert answer == [503]
