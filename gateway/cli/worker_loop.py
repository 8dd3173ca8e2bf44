"""The loop of a long-running worker command (`outbox work`, `inbound work`)."""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
from collections.abc import Callable
from types import FrameType

import click

from gateway.db import DB_UNAVAILABLE

log = logging.getLogger(__name__)


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def run_until_signalled(name: str, interval: float, step: Callable[[str], int]) -> None:
    """Call `step(worker_id)` until SIGTERM or Ctrl-C; it returns how many rows it
    claimed. A batch claimed means more is probably due: go on without waiting. A step
    that raises is logged and tried again after `interval`, as a clock job is."""
    if interval <= 0:
        raise click.BadParameter("must be more than 0", param_hint="--interval")
    stop = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        stop.set()  # finish the batch in hand, then leave

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, on_signal)
    worker = worker_id()
    click.echo(f"{name} worker {worker} started")
    while not stop.is_set():
        try:
            claimed = step(worker)
        except DB_UNAVAILABLE:
            log.warning("%s: database unavailable; trying again", name)
            claimed = 0
        except Exception:  # a bug in one step: logged (scrubbed), the next one tried
            log.exception("%s: a step failed; trying again", name)
            claimed = 0
        if claimed == 0:
            stop.wait(interval)
    click.echo(f"{name} worker stopped")
