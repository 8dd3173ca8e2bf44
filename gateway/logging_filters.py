"""A last line of defence: whatever reaches a log is scrubbed of phone numbers and
webhook tokens, and no exception's message reaches it at all. Code should not log
them in the first place; this catches mistakes."""

from __future__ import annotations

import logging
import re
import sys
import threading
import traceback
from collections.abc import Callable
from types import TracebackType
from typing import Any

# International numbers (+223..., 00223...) and Malian/Nigerien/Mauritanian local
# 8-digit numbers, with or without spaces.
_PHONE = re.compile(r"(?:\+|00)\d[\d .-]{6,16}\d|\b\d{2}(?:[ .-]?\d{2}){3}\b")
_TOKEN = re.compile(r"(token=)[^&\s\"']+", re.IGNORECASE)
_CAUSE = "\nThe above exception was the direct cause of the following exception:\n\n"
_CONTEXT = "\nDuring handling of the above exception, another exception occurred:\n\n"
WITHHELD = "(message withheld)"


def redact(text: str) -> str:
    return _TOKEN.sub(r"\1[redacted]", _PHONE.sub("[phone]", text))


def type_name(kind: type[BaseException]) -> str:
    return (
        kind.__qualname__
        if kind.__module__ == "builtins"
        else f"{kind.__module__}.{kind.__qualname__}"
    )


def exception_name(exc: BaseException) -> str:
    """An exception as a log may name it: its type, and a database error's SQLSTATE
    and constraint (names from the schema); never its message, which can quote a
    number, a report's text or a row's values (psycopg's `DETAIL: Key (...)=(...)`)."""
    name = type_name(type(exc))
    sqlstate = getattr(exc, "sqlstate", None)
    constraint = getattr(getattr(exc, "diag", None), "constraint_name", None)
    details = [f"SQLSTATE {sqlstate}"] * isinstance(sqlstate, str)
    details += [f"constraint {constraint}"] * isinstance(constraint, str)
    return name + (f" [{', '.join(details)}]" if details else "")


def scrubbed_traceback(exc: BaseException) -> str:
    """The traceback Python would print for `exc` (its chain of causes and contexts,
    each with its frames), each exception named by `exception_name` alone."""
    chain: list[tuple[BaseException, str]] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    link = ""
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        chain.append((current, link))
        if current.__cause__ is not None:
            current, link = current.__cause__, _CAUSE
        elif not current.__suppress_context__:
            current, link = current.__context__, _CONTEXT
        else:
            current = None
    parts: list[str] = []
    for error, link in reversed(chain):
        if error.__traceback__ is not None:
            parts.append("Traceback (most recent call last):\n")
            parts.extend(traceback.format_tb(error.__traceback__))
        parts.append(f"{exception_name(error)}: {WITHHELD}\n{link}")
    return "".join(parts).rstrip("\n")


def scrub(record: logging.LogRecord) -> logging.LogRecord:
    """The record as it may be written: an exception given as the message or an
    argument named by its type, the message redacted, the traceback scrubbed and the
    exception itself dropped (a formatter prints `exc_text` when it is set), the
    stack redacted."""
    if isinstance(record.msg, BaseException):  # log.error(exc)
        record.msg = exception_name(record.msg)
    if isinstance(record.args, tuple) and any(isinstance(a, BaseException) for a in record.args):
        record.args = tuple(
            exception_name(a) if isinstance(a, BaseException) else a for a in record.args
        )
    message = record.getMessage()
    cleaned = redact(message)
    if cleaned != message:
        record.msg, record.args = cleaned, None
    if record.exc_info and record.exc_info[1] is not None:
        record.exc_text = scrubbed_traceback(record.exc_info[1])
    record.exc_info = None
    if record.exc_text:
        record.exc_text = redact(record.exc_text)
    if record.stack_info:
        record.stack_info = redact(record.stack_info)
    return record


class _Scrubbing:
    """A log record factory that scrubs what the one before it makes."""

    def __init__(self, make: Callable[..., logging.LogRecord]) -> None:
        self.make = make

    def __call__(self, *args: Any, **kwargs: Any) -> logging.LogRecord:
        return scrub(self.make(*args, **kwargs))


def print_uncaught(kind: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
    """`sys.excepthook`: an error nothing caught, printed as a log would write it."""
    sys.stderr.write(redact(scrubbed_traceback(exc.with_traceback(tb))) + "\n")


def print_uncaught_in_thread(args: threading.ExceptHookArgs) -> None:
    """`threading.excepthook`: an error a thread let out (a clock job's, in
    APScheduler's threads), headed by the thread's name as Python's hook does."""
    if args.exc_type is SystemExit or sys.stderr is None:
        return  # Python's own hook stays silent on both
    name = args.thread.name if args.thread is not None else threading.get_ident()
    sys.stderr.write(redact(f"Exception in thread {name}:") + "\n")
    if args.exc_value is None:
        sys.stderr.write(f"{type_name(args.exc_type)}: {WITHHELD}\n")
    else:
        print_uncaught(args.exc_type, args.exc_value, args.exc_traceback)


def scrub_every_record() -> None:
    """Every record this process makes is scrubbed as it is made, whichever handler
    writes it (gunicorn's error log, the clock's stderr, a test's capture), and so is
    an error nothing caught, in the main thread or another (Python's own hooks, unless
    another was set); once."""
    make = logging.getLogRecordFactory()
    if not isinstance(make, _Scrubbing):
        logging.setLogRecordFactory(_Scrubbing(make))
    if sys.excepthook is sys.__excepthook__:
        sys.excepthook = print_uncaught
    if threading.excepthook is threading.__excepthook__:
        threading.excepthook = print_uncaught_in_thread


class RedactingFilter(logging.Filter):
    """`scrub` for the records of a handler, made before `scrub_every_record` ran."""

    def filter(self, record: logging.LogRecord) -> bool:
        scrub(record)
        return True


class RedactingFormatter(logging.Formatter):
    """A formatter whose whole output is scrubbed, for handlers set up outside the
    app (gunicorn's error log, the clock's console)."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(scrub(record)))
