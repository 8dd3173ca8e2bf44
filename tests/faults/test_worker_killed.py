"""A gunicorn web worker is killed (`kill -9`) in the middle of a stream of SMS.

Gunicorn starts a new worker; the clients that lost their connection send the same
message again (as the providers do). Every message acknowledged with 200 must be in
the database exactly once, and handled once by the inbound workers afterwards.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests
from flask import Flask
from sqlalchemy import func, select

from gateway.models import InboundMessage, OutboxMessage, Outcome, TrustRating
from gateway.runtime import Runtime, utcnow
from gateway.services.intake.inbound_queue import QUEUED
from gateway.services.intake.worker import drain
from tests.conftest import TEST_KEYS
from tests.faults.gunicorn import serving
from tests.faults.proxy import free_port
from tests.handlers.payloads import at_sms, twilio_sms

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
THREADS = 4
PER_THREAD = 60


def children(pid: int) -> set[int]:
    """The processes whose parent is `pid` (gunicorn's workers)."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.add(int(stat.parent.name))
    return found


@pytest.fixture
def server(database_url: str, tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    port = free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AT_", "TWILIO_", "SMS_", "DATABASE_URL", "PUBLIC_BASE_URL"))
    }
    env.update(
        TEST_KEYS,
        DATABASE_URL=database_url,
        GATEWAY_INSTANCE_PATH=str(tmp_path / "instance"),
        GATEWAY_ENV="development",
        SMS_PROVIDER="console",
        SMS_HANDLING="queue",
        CONSOLE_SMS_FILE=str(tmp_path / "sms.jsonl"),
    )
    log = tmp_path / "gunicorn.log"
    # the worker class scripts/run uses, two workers, and a short grace on SIGTERM
    with serving(env, port, log, "--workers", "2", "--graceful-timeout", "2", boot_s=30) as proc:
        deadline = time.monotonic() + 30
        while len(children(proc.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        yield f"http://127.0.0.1:{port}", proc


def post(base: str, thread: int, i: int) -> requests.Response:
    if i % 2:
        form = at_sms(id=f"ATXid_kill_{thread}_{i}", text=f"CONFIANCE {1 + i % 5} Gao")
        return requests.post(f"{base}/webhooks/africastalking/sms", data=form, timeout=10)
    form = twilio_sms(MessageSid=f"SMkill{thread:02d}{i:026d}", Body=f"TRUST {1 + i % 5} Gao")
    return requests.post(f"{base}/webhooks/twilio/sms", data=form, timeout=10)


def provider_id(thread: int, i: int) -> tuple[str, str]:
    if i % 2:
        return "africastalking", f"ATXid_kill_{thread}_{i}"
    return "twilio", f"SMkill{thread:02d}{i:026d}"


@pytest.mark.timeout(120)
def test_kill_9_of_a_worker_under_load_loses_and_duplicates_nothing(
    server: tuple[str, subprocess.Popen[bytes]], make_app: Callable[..., Flask]
) -> None:
    base, proc = server
    acked: set[tuple[str, str]] = set()
    connection_errors = 0
    other: list[tuple[tuple[str, str], int]] = []
    lock = threading.Lock()
    failures: list[BaseException] = []
    halfway = threading.Barrier(THREADS + 1)

    def client(thread: int) -> None:
        nonlocal connection_errors
        try:
            for i in range(PER_THREAD):
                if i == PER_THREAD // 3:
                    halfway.wait(timeout=30)
                for _attempt in range(20):  # a provider retries the same id
                    try:
                        response = post(base, thread, i)
                    except requests.ConnectionError:
                        with lock:
                            connection_errors += 1
                        time.sleep(0.05)
                        continue
                    if response.status_code == 503:
                        time.sleep(0.05)
                        continue
                    with lock:
                        if response.status_code == 200:
                            acked.add(provider_id(thread, i))
                        else:
                            other.append((provider_id(thread, i), response.status_code))
                    break
        except BaseException as exc:  # surfaced below
            failures.append(exc)

    threads = [threading.Thread(target=client, args=(t,)) for t in range(THREADS)]
    for t in threads:
        t.start()
    halfway.wait(timeout=30)  # a third of the stream is through: traffic is flowing
    workers = children(proc.pid)
    victim = min(workers)
    os.kill(victim, signal.SIGKILL)
    for t in threads:
        t.join(timeout=90)
    assert not failures, failures
    assert not any(t.is_alive() for t in threads)
    assert other == [], other

    # Gunicorn replaced the killed worker and kept serving.
    replaced = children(proc.pid)
    assert victim not in replaced and len(replaced) == 2
    assert proc.poll() is None

    expected = {provider_id(t, i) for t in range(THREADS) for i in range(PER_THREAD)}
    assert acked == expected  # every message got its 200 in the end

    # Same database, the real time (the rows were stored at it), to drain and count.
    rt: Runtime = make_app(NOW=utcnow).extensions["gateway"]
    drain(rt)
    with rt.sessions() as session:
        # Only this test's messages: the database is shared with earlier server tests.
        ours = InboundMessage.provider_id.like("ATXid_kill_%") | InboundMessage.provider_id.like(
            "SMkill%"
        )
        rows = session.execute(
            select(
                InboundMessage.provider, InboundMessage.provider_id, InboundMessage.outcome
            ).where(ours)
        ).all()
        total = session.scalar(select(func.count()).select_from(InboundMessage).where(ours))
    keys = [(p, pid) for p, pid, _ in rows]
    assert total == len(expected) == len(set(keys))  # once each, nothing else
    assert set(keys) == acked
    half = [k for p, k, outcome in rows if outcome in QUEUED]
    assert half == [], f"stored but never handled: {half}"
    with rt.sessions() as session:
        first_replies = session.scalars(
            select(OutboxMessage.dedupe_key).where(OutboxMessage.dedupe_key.like("reply:%:0"))
        ).all()
        processed = [k for p, k, outcome in rows if outcome == Outcome.PROCESSED]
        assert session.scalar(select(func.count()).select_from(TrustRating)) == len(processed)
    assert len(first_replies) == len(set(first_replies)) == len(processed)
    print(f"\n{len(expected)} messages, {connection_errors} connection errors retried")
