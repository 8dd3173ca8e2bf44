"""The clock's jobs are thin calls into services; a failing job does not stop it."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from flask import Flask

from gateway.db import make_engine, make_sessionmaker
from gateway.models import JobState
from gateway.runtime import Runtime
from gateway.scheduler import EVERY, build_scheduler, guarded, jobs
from gateway.services.alerts.urgent import UrgentCheck
from gateway.services.outbox.dispatch import DispatchSummary
from tests.conftest import TEST_KEYS


def test_every_job_is_scheduled_once_with_coalescing(rt: Runtime) -> None:
    scheduler = build_scheduler(rt)
    scheduled = {job.id: job for job in scheduler.get_jobs()}
    assert set(scheduled) == set(EVERY) == set(jobs(rt))
    for job in scheduled.values():
        assert job.coalesce is True
        assert job.max_instances == 1
    alerts_first = scheduled["evaluate"].next_run_time
    assert scheduled["digest"].next_run_time > alerts_first


def test_each_job_runs_against_the_database(rt: Runtime) -> None:
    ran = []
    for name, job in jobs(rt).items():
        job()  # raises if a service is broken
        ran.append(name)
    assert ran == list(EVERY)


def test_a_failing_job_is_logged_and_the_clock_goes_on(caplog: pytest.LogCaptureFixture) -> None:
    def broken() -> None:
        raise RuntimeError("boom")

    with caplog.at_level(logging.ERROR):
        guarded("broken", broken)()
    assert "clock job broken failed" in caplog.text


def test_a_missed_run_is_still_run_within_one_interval(rt: Runtime) -> None:
    for job in build_scheduler(rt).get_jobs():
        assert job.misfire_grace_time == EVERY[job.id]


def test_the_clock_command_runs_its_jobs_until_sigterm(
    app: Flask, database_url: str, tmp_path: Path
) -> None:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("AT_", "TWILIO_", "SMS_"))},
        **TEST_KEYS,
        "DATABASE_URL": database_url,
        "GATEWAY_INSTANCE_PATH": str(tmp_path / "instance"),
        "SMS_PROVIDER": "console",
        "PYTHONUNBUFFERED": "1",
    }
    flask = Path(sys.executable).with_name("flask")
    proc = subprocess.Popen(
        [str(flask), "--app", "gateway", "clock"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    engine = make_engine(database_url)
    try:
        assert proc.stdout is not None
        assert "clock running" in proc.stdout.readline()
        deadline = time.monotonic() + 30
        with make_sessionmaker(engine)() as session:
            # The evaluation runs at start: wait for its watermark, then stop the clock.
            while session.get(JobState, "evaluate") is None and time.monotonic() < deadline:
                session.rollback()
                time.sleep(0.2)
            assert session.get(JobState, "evaluate") is not None
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        engine.dispose()
        if proc.poll() is None:
            proc.kill()


@pytest.mark.parametrize(
    ("result", "level"),
    [
        (0, logging.DEBUG),
        (None, logging.DEBUG),
        (DispatchSummary(), logging.DEBUG),
        (UrgentCheck(), logging.DEBUG),
        (UrgentCheck(opened=["A1"]), logging.INFO),
        (3, logging.INFO),
        (DispatchSummary(claimed=2, sent=2), logging.INFO),
        ("a cycle summary", logging.INFO),
    ],
)
def test_a_job_that_did_nothing_is_logged_below_info(
    result: object, level: int, caplog: pytest.LogCaptureFixture
) -> None:
    """The inbound drain runs every 2 s: its idle runs would be 43,000 lines a day."""
    with caplog.at_level(logging.DEBUG, logger="gateway.scheduler"):
        guarded("job", lambda: result)()
    assert [r.levelno for r in caplog.records] == [level]
