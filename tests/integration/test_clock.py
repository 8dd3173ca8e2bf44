"""The clock's jobs are thin calls into services; a failing job does not stop it."""

from __future__ import annotations

import logging

import pytest

from gateway.runtime import Runtime
from gateway.scheduler import EVERY, build_scheduler, guarded, jobs


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
