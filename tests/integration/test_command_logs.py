"""The long-running commands (`clock`, `outbox work`, `inbound work`) write their info
lines (jobs run, messages handled) to stderr, each with its time, level and logger,
scrubbed as every record of the web app is: no number, no exception's message."""

from __future__ import annotations

import logging
import re
import signal
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from flask import Flask
from flask.logging import default_handler

from gateway import scheduler
from gateway.cli import inbound, outbox
from gateway.scheduler import guarded
from tests.integration.test_error_logs import NUMBER, SECRETS, explode


def info_line(logger: str, message: str) -> str:
    """A pattern of an info line as written: time, level, logger, message."""
    return rf"^\d{{4}}-\d\d-\d\dT\d\d:\d\d:\d\dZ INFO {re.escape(logger)}: {message}$"


@pytest.fixture(autouse=True)
def _restore_logging(app: Flask) -> Iterator[None]:
    """A command's logging set-up lasts for its process; a test's, for the test."""
    root, apscheduler = logging.getLogger(), logging.getLogger("apscheduler")
    handlers, level = list(root.handlers), root.level
    app_handlers, apscheduler_level = list(app.logger.handlers), apscheduler.level
    yield
    root.handlers[:], app.logger.handlers[:] = handlers, app_handlers
    root.setLevel(level)
    apscheduler.setLevel(apscheduler_level)


def assert_scrubbed(stderr: str) -> None:
    assert "ValueError" in stderr and "LookupError" in stderr  # the failure's types
    for secret in SECRETS:
        assert secret not in stderr, secret


def test_the_clock_writes_each_job_run_to_stderr_scrubbed(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    class OneRun:
        """The scheduler, running two jobs once: one that works, one that fails."""

        def start(self) -> None:
            guarded("inbound", lambda: f"handled 1 from {NUMBER}")()
            guarded("broken", explode)()

        def shutdown(self, wait: bool) -> None:
            pass

    monkeypatch.setattr(scheduler, "build_scheduler", lambda _rt: OneRun())
    app.logger.addHandler(default_handler)  # as Flask adds it outside pytest
    handler = signal.getsignal(signal.SIGTERM)
    try:
        with app.app_context():  # as `flask` pushes it
            result = app.test_cli_runner().invoke(args=["clock"])
    finally:
        signal.signal(signal.SIGTERM, handler)
    assert result.exit_code == 0, result.output
    line = info_line("gateway.scheduler", r"clock inbound: handled 1 from \[phone\]")
    assert re.search(line, result.stderr, re.MULTILINE), result.stderr
    assert "ERROR gateway.scheduler: clock job broken failed" in result.stderr
    assert result.stderr.count("clock inbound") == 1  # once, not also by Flask's handler
    assert_scrubbed(result.stderr)


@pytest.mark.parametrize(
    ("command", "module", "step", "logger"),
    [
        ("outbox", outbox, "dispatch_due", "gateway.services.outbox.dispatch"),
        ("inbound", inbound, "handle_due", "gateway.services.intake.worker"),
    ],
)
def test_a_worker_command_writes_what_it_handled_to_stderr_scrubbed(
    app: Flask,
    monkeypatch: pytest.MonkeyPatch,
    command: str,
    module: object,
    step: str,
    logger: str,
) -> None:
    steps: list[str] = []

    def one_step(*_args: Any, worker_id: str) -> SimpleNamespace:
        """A step that handled a message from a number, then one that failed."""
        steps.append(worker_id)
        if len(steps) == 1:
            logging.getLogger(logger).info("%s: %s handled 1 from %s", command, worker_id, NUMBER)
            return SimpleNamespace(claimed=1)
        signal.raise_signal(signal.SIGTERM)  # the loop's own handler: stop after this
        return explode()

    monkeypatch.setattr(module, step, one_step)
    handlers = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        result = app.test_cli_runner().invoke(args=[command, "work", "--interval", "0.001"])
    finally:
        for signum, handler in handlers.items():
            signal.signal(signum, handler)
    assert result.exit_code == 0, result.output
    assert len(steps) == 2
    message = rf"{command}: \S+ handled 1 from \[phone\]"
    assert re.search(info_line(logger, message), result.stderr, re.MULTILINE), result.stderr
    assert f"ERROR gateway.cli.worker_loop: {command}: a step failed" in result.stderr
    assert_scrubbed(result.stderr)
