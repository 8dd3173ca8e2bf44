"""The clock: the one process that runs scheduled jobs (APScheduler 3).

Jobs are thin calls into services that take `now`; each catches and logs its own
errors so the clock keeps running. `coalesce` and `max_instances=1` stop a slow job
from piling up; a clock that was down catches up from the watermarks in the database
(one alert per crossing, not one per missed run). A second clock started by mistake
is harmless: the evaluation takes an advisory lock, alerts and SMS have unique keys.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Callable
from typing import Any

from apscheduler.schedulers.blocking import BlockingScheduler

from gateway.runtime import Runtime

log = logging.getLogger(__name__)

# Seconds between runs of each job.
EVERY = {
    "evaluate": 300,
    "inbound": 2,
    "urgent": 5,
    "dispatch": 10,
    "escalate": 300,
    "digest": 3600,
    "purge": 86400,
    # A USSD report kept for the next call lasts minutes (USSD_RESUME_MINUTES).
    "pending": 300,
    "channels": 60,
    # Information messages being sent: a few batches of recipients each run.
    "broadcast": 5,
}


START_DELAY = {"escalate": 60, "digest": 60, "purge": 60}


def jobs(rt: Runtime) -> dict[str, Callable[[], Any]]:
    from gateway.services.admin.broadcast import broadcast_due
    from gateway.services.alerts.digest import send_digests
    from gateway.services.alerts.engine import run_alert_cycle
    from gateway.services.alerts.escalation import check_escalations
    from gateway.services.alerts.urgent import check_and_send_urgent
    from gateway.services.intake.worker import drain
    from gateway.services.outbox.dispatch import dispatch_due
    from gateway.services.outbox.watch import watch_channels
    from gateway.services.upkeep.purge import forget_pending, purge_expired

    return {
        "evaluate": lambda: run_alert_cycle(rt, rt.now()),
        "inbound": lambda: drain(rt, worker_id="clock"),
        "urgent": lambda: check_and_send_urgent(rt, rt.now()),
        "dispatch": lambda: dispatch_due(rt, rt.now()),
        "escalate": lambda: check_escalations(rt, rt.now()),
        "digest": lambda: send_digests(rt, rt.now()),
        "purge": lambda: purge_expired(rt, rt.now()),
        "pending": lambda: forget_pending(rt, rt.now()),
        "channels": lambda: watch_channels(rt, rt.now()),
        "broadcast": lambda: broadcast_due(rt, rt.now()),
    }


def guarded(name: str, job: Callable[[], Any]) -> Callable[[], None]:
    def run() -> None:
        try:
            result = job()
            level = logging.INFO if did_something(result) else logging.DEBUG
            log.log(level, "clock %s: %s", name, result)
        except Exception:
            log.exception("clock job %s failed; it runs again at its next time", name)

    return run


def did_something(result: object) -> bool:
    """False for a job's idle answer: None, 0, or a summary whose counts are all 0 and
    whose lists are all empty."""
    if dataclasses.is_dataclass(result) and not isinstance(result, type):
        kinds = (int, float, list, tuple, set, dict)
        counts = [v for v in dataclasses.asdict(result).values() if isinstance(v, kinds)]
        return any(counts) or len(counts) < len(dataclasses.fields(result))
    return bool(result)


def build_scheduler(rt: Runtime) -> BlockingScheduler:
    scheduler = BlockingScheduler(timezone="UTC")
    now = rt.now()
    for name, job in jobs(rt).items():
        scheduler.add_job(
            guarded(name, job),
            "interval",
            seconds=EVERY[name],
            id=name,
            # Catch up at start (alerts first; digests and the rest a minute later, so a
            # digest counts the alerts of the first pass), then on the interval.
            next_run_time=now + dt.timedelta(seconds=START_DELAY.get(name, 0)),
            coalesce=True,
            max_instances=1,
            misfire_grace_time=EVERY[name],
        )
    return scheduler
