"""Inbound workers fail while a backlog of stored SMS is handled: one is killed
(`kill -9`) mid-batch, or the database is cut under them. Every stored message is
handled once in the end: the killed worker's rows come back when their lease runs
out, and a worker that lost the database goes on when it is back."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from gateway.db import DB_UNAVAILABLE
from gateway.models import InboundMessage, OutboxMessage, Outcome, TrustRating
from gateway.runtime import Runtime, utcnow
from gateway.services.intake.inbound_queue import LEASE, QUEUED
from gateway.services.intake.sms import receive_sms
from gateway.services.intake.worker import drain, handle_due
from tests.conftest import TEST_KEYS, Clock
from tests.faults.gunicorn import stop
from tests.faults.proxy import TcpProxy

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

FLASK = str(Path(sys.executable).with_name("flask"))
ROOT = Path(__file__).resolve().parents[2]
MESSAGES = 300
PHONES = 60


def store_backlog(rt: Runtime, n: int = MESSAGES) -> None:
    for i in range(n):
        receive_sms(
            rt,
            provider="africastalking",
            provider_id=f"ATXid_backlog_{i}",
            sender=f"+2237100{i % PHONES:04d}",
            text=f"CONFIANCE {1 + i % 5} Sevare",
            inline_reply=False,
        )


def settled(rt: Runtime, deadline: float) -> None:
    """Wait until the workers have handled all they can (nothing changes for 1.5 s)."""
    last, since = -1, time.monotonic()
    while time.monotonic() - since < 1.5:
        assert time.monotonic() < deadline, "the workers never settled"
        done = outcomes(rt).count(Outcome.PROCESSED)
        if done != last:
            last, since = done, time.monotonic()
        time.sleep(0.1)


def outcomes(rt: Runtime) -> list[Outcome]:
    with rt.sessions() as session:
        return list(session.scalars(select(InboundMessage.outcome)))


def assert_each_handled_once(rt: Runtime, n: int = MESSAGES) -> None:
    assert [o for o in outcomes(rt) if o != Outcome.PROCESSED] == []
    with rt.sessions() as session:
        assert session.scalar(select(func.count()).select_from(InboundMessage)) == n
        assert session.scalar(select(func.count()).select_from(TrustRating)) == n
        keys = session.scalars(
            select(OutboxMessage.dedupe_key).where(OutboxMessage.dedupe_key.like("reply:%:0"))
        ).all()
    assert len(keys) == len(set(keys)) == n


@pytest.fixture
def workers(database_url: str, tmp_path: Path) -> Iterator[Callable[[], subprocess.Popen[bytes]]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SMS_", "DATABASE_URL"))}
    env.update(
        TEST_KEYS,
        DATABASE_URL=database_url,
        GATEWAY_INSTANCE_PATH=str(tmp_path / "instance"),
        GATEWAY_ENV="development",
        SMS_PROVIDER="console",
        SMS_HANDLING="queue",
    )
    started: list[subprocess.Popen[bytes]] = []

    def start() -> subprocess.Popen[bytes]:
        log = (tmp_path / f"worker{len(started)}.log").open("wb")
        proc = subprocess.Popen(
            [FLASK, "--app", "gateway", "inbound", "work", "--interval", "0.2"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        started.append(proc)
        return proc

    yield start
    for proc in started:
        stop(proc, grace_s=10)


@pytest.mark.timeout(120)
def test_kill_9_of_an_inbound_worker_mid_backlog_loses_and_duplicates_nothing(
    make_app: Callable[..., Flask], workers: Callable[[], subprocess.Popen[bytes]]
) -> None:
    rt: Runtime = make_app(NOW=utcnow, SMS_HANDLING="queue").extensions["gateway"]
    store_backlog(rt)
    victim, survivor = workers(), workers()
    deadline = time.monotonic() + 60
    while outcomes(rt).count(Outcome.PROCESSED) < MESSAGES // 5:
        assert time.monotonic() < deadline, "the workers handled nothing"
        time.sleep(0.05)
    os.kill(victim.pid, signal.SIGKILL)  # mid-batch: some rows stay claimed
    victim.wait(timeout=10)
    settled(rt, deadline)  # the survivor works through all but the phones held
    assert survivor.poll() is None
    survivor.send_signal(signal.SIGTERM)  # it finishes its batch and leaves
    survivor.wait(timeout=30)
    # What the killed worker held comes back once its lease runs out: another worker
    # (here, the clock's job an instant past the lease) handles it.
    later: Runtime = make_app(NOW=lambda: utcnow() + LEASE + dt.timedelta(seconds=1)).extensions[
        "gateway"
    ]
    drain(later)
    assert_each_handled_once(rt)


@pytest.mark.timeout(120)
def test_a_database_cut_under_two_draining_workers_loses_and_duplicates_nothing(
    make_app: Callable[..., Flask], database_url: str, clock: Clock
) -> None:
    with TcpProxy(
        make_url(database_url).host or "127.0.0.1", make_url(database_url).port or 5432
    ) as proxy:
        url = make_url(database_url).set(host="127.0.0.1", port=proxy.port)
        app = make_app(DATABASE_URL=url.render_as_string(hide_password=False), SMS_HANDLING="queue")
        rt: Runtime = app.extensions["gateway"]
        store_backlog(rt)
        stop = threading.Event()
        outages: list[int] = []
        errors: list[BaseException] = []

        def work() -> None:
            try:
                while not stop.is_set():
                    try:
                        if handle_due(rt, rt.now(), limit=5).claimed == 0:
                            time.sleep(0.05)
                    except DB_UNAVAILABLE:
                        outages.append(1)
                        time.sleep(0.05)
            except BaseException as exc:  # surfaced below
                errors.append(exc)

        threads = [threading.Thread(target=work) for _ in range(2)]
        for t in threads:
            t.start()
        time.sleep(0.5)
        proxy.cut()
        time.sleep(1.0)
        proxy.restore()
        clock.advance(seconds=LEASE.total_seconds() + 1)  # rows held at the cut come back
        deadline = time.monotonic() + 60
        while Outcome.RECEIVED in outcomes(rt):
            assert time.monotonic() < deadline, "the workers did not recover"
            time.sleep(0.1)
        stop.set()
        for t in threads:
            t.join(timeout=30)
        assert not errors, errors
        assert outages, "the cut was not seen"
        drain(rt)
        assert [o for o in outcomes(rt) if o in QUEUED] == []
        assert_each_handled_once(rt)
