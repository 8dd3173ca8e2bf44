"""Logging of the long-running commands (`clock`, `outbox work`, `inbound work`):
nothing else sets it up in their processes, so their info lines (jobs run, messages
handled) would be lost and only warnings would reach stderr, through Flask's handler."""

from __future__ import annotations

import logging
import time

from flask import current_app
from flask.logging import default_handler

from gateway.logging_filters import RedactingFormatter, scrub_every_record

HANDLER_NAME = "gateway-stderr"
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# ISO 8601 in UTC; the "T" also keeps the redaction from taking "2026-12-03" for a
# local number (four pairs of digits).
DATE_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def log_to_stderr(level: int = logging.INFO) -> logging.Handler:
    """Every logger's records of `level` and above written once to stderr, with their
    time, level and logger, scrubbed as the web app's are (no number, no exception's
    message); the handler. A second call adds nothing."""
    scrub_every_record()
    root = logging.getLogger()
    for handler in root.handlers:
        if handler.get_name() == HANDLER_NAME:
            return handler
    handler = logging.StreamHandler()  # the stderr of now
    handler.set_name(HANDLER_NAME)
    formatter = RedactingFormatter(FORMAT, DATE_FORMAT)
    formatter.converter = time.gmtime
    handler.setFormatter(formatter)
    root.addHandler(handler)
    root.setLevel(level)
    # Flask's handler on the app's logger ("gateway") would write each record again.
    current_app.logger.removeHandler(default_handler)
    # APScheduler's info lines ("Added job", "Running job", "executed successfully" of
    # every run, every 2 s) name no job; `scheduler.guarded` writes one line a run.
    logging.getLogger("apscheduler").setLevel(max(level, logging.WARNING))
    return handler
