"""An error logged with its traceback names no reporter, and no exception's message
reaches a log: it can quote a phone number, a report's text or a row's values
(psycopg's `DETAIL: Key (...)=(...)`). What is logged of an unhandled error, in a web
handler, a worker's job or the clock, is its type and its frames, whatever handler
records it (pytest's own capture too)."""

from __future__ import annotations

import io
import logging
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError

from gateway.cli.worker_loop import run_until_signalled
from gateway.models import Reporter
from gateway.ports import SendResult
from gateway.runtime import Runtime
from gateway.scheduler import guarded
from gateway.services.intake import sms, ussd
from gateway.services.intake.worker import handle_due
from gateway.services.outbox.dispatch import dispatch_due
from tests.conftest import is_postgres_run
from tests.handlers.payloads import at_sms, at_ussd
from tests.integration.test_outbox import add

NUMBER = "+22376123456"


@pytest.fixture
def root_log() -> Iterator[io.StringIO]:
    """A handler on the root logger, as a deployment has, set up before the app."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    logging.getLogger().addHandler(handler)
    yield stream
    logging.getLogger().removeHandler(handler)


def test_a_failed_insert_logs_no_number(
    make_app: Callable[..., Flask], root_log: io.StringIO
) -> None:
    app = make_app()
    rt = app.extensions["gateway"]
    row = {"pseudonym": NUMBER, "key_version": 1, "created_at": rt.now()}
    with rt.sessions.begin() as session:
        session.execute(insert(Reporter), row)
    with pytest.raises(IntegrityError) as caught, rt.sessions.begin() as session:
        session.execute(insert(Reporter), row)  # the same pseudonym: unique violation
    # SQLAlchemy leaves the parameters out; PostgreSQL's own DETAIL line may still quote
    # the key, which is why no exception's message reaches the log (checked below).
    assert "parameters hidden" in str(caught.value)
    try:
        raise RuntimeError(f"while handling {NUMBER}") from caught.value
    except RuntimeError:
        app.logger.exception("could not store a message from %s", "76 12 34 56")
    logged = root_log.getvalue()
    assert "Traceback" in logged and "IntegrityError" in logged
    if is_postgres_run():  # the database's own words that name no value stay
        assert "[SQLSTATE 23505, constraint " in logged
    for needle in (NUMBER, "76123456", "76 12 34 56"):
        assert needle not in logged


SPACED = "76 12 34 56"
FREE_TEXT = "hommes armes derriere le puits de Kamba"
DETAIL = "Key (pseudonym)=(9f2c41d0e8) already exists"
SECRETS = (NUMBER, SPACED, "76123456", FREE_TEXT, "puits de Kamba", DETAIL, "9f2c41d0e8")


def explode(*_args: object, **_kwargs: object) -> Any:
    """Raises an error whose message holds a number and a free text, caused by one whose
    message holds a database key value, as a psycopg error's DETAIL does."""
    try:
        raise LookupError(f"duplicate row\nDETAIL: {DETAIL}")
    except LookupError as cause:
        raise ValueError(f"report from {NUMBER} ({SPACED}): {FREE_TEXT}") from cause


def assert_logged_without_secrets(caplog: pytest.LogCaptureFixture) -> None:
    text = caplog.text
    assert "ValueError" in text and "LookupError" in text  # the chain's types stay
    assert "explode" in text  # and the frame where it was raised
    for secret in SECRETS:
        assert secret not in text, secret
    for record in caplog.records:
        assert record.exc_info is None  # no formatter can print the original


@pytest.mark.parametrize(
    ("path", "form", "target"),
    [
        ("/webhooks/africastalking/sms", at_sms(), (sms, "receive_sms")),
        ("/webhooks/africastalking/ussd", at_ussd(), (ussd, "answer_ussd")),  # gateway.web.lean
    ],
)
def test_a_web_handler_error_is_logged_without_its_message(
    make_app: Callable[..., Flask],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    path: str,
    form: dict[str, str],
    target: tuple[object, str],
) -> None:
    monkeypatch.setattr(*target, explode)
    client = make_app(TESTING=False).test_client()
    with caplog.at_level(logging.ERROR):
        assert client.post(path, data=form).status_code == 500
    assert f"Exception on {path} [POST]" in caplog.text
    assert_logged_without_secrets(caplog)


def test_an_inbound_workers_error_is_logged_without_its_message(
    make_app: Callable[..., Flask],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = make_app(SMS_HANDLING="queue")
    rt: Runtime = app.extensions["gateway"]
    assert app.test_client().post("/webhooks/africastalking/sms", data=at_sms()).status_code == 200
    monkeypatch.setattr(sms, "_handle", explode)
    with caplog.at_level(logging.INFO):
        assert handle_due(rt, rt.now()).retried == 1
    assert "handling failed (ValueError)" in caplog.text
    assert_logged_without_secrets(caplog)


def test_an_outbox_senders_error_is_logged_without_its_message(
    rt: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    class Broken:
        name = "console"

        def send(self, to_e164: str, body: str) -> SendResult:
            return explode()  # type: ignore[no-any-return]

    add(rt, rt.now())
    with caplog.at_level(logging.INFO):
        assert dispatch_due(rt, rt.now(), {"console": Broken()}).retried == 1
    assert "sender console raised" in caplog.text
    assert_logged_without_secrets(caplog)


def test_a_clock_jobs_error_is_logged_without_its_message(
    rt: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        guarded("broken", explode)()
    assert "clock job broken failed" in caplog.text
    assert_logged_without_secrets(caplog)


def test_an_exception_given_as_a_log_message_or_argument_is_named_by_its_type(
    rt: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    try:
        explode()
    except ValueError as exc:
        with caplog.at_level(logging.INFO):
            logging.getLogger("gateway.test").warning("could not: %s", exc)
            logging.getLogger("gateway.test").warning(exc)
    assert caplog.messages == ["could not: ValueError", "ValueError"]


def test_a_worker_loops_failing_step_is_logged_without_its_message_and_the_loop_goes_on(
    rt: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    """`outbox work` and `inbound work` died on any error but an outage, and Python
    printed the whole traceback, messages and all, on stderr."""
    steps: list[str] = []

    def step(_worker: str) -> int:
        steps.append("step")
        if len(steps) == 1:
            explode()
        signal.raise_signal(signal.SIGTERM)  # the loop's own handler: stop after this
        return 0

    handlers = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        with caplog.at_level(logging.INFO):
            run_until_signalled("outbox", 0.001, step)
    finally:
        for signum, handler in handlers.items():
            signal.signal(signum, handler)
    assert steps == ["step", "step"]
    assert "outbox: a step failed; trying again" in caplog.text
    assert_logged_without_secrets(caplog)


def test_an_uncaught_error_is_printed_without_its_message(
    app: Flask, capsys: pytest.CaptureFixture[str]
) -> None:
    """A command's error that nothing caught (an import, a worker's start) reaches
    stderr through the app's hook, as scrubbed as a logged one."""
    try:
        explode()
    except ValueError as exc:
        sys.excepthook(type(exc), exc, exc.__traceback__)
    printed = capsys.readouterr().err
    assert "ValueError" in printed and "LookupError" in printed and "explode" in printed
    for secret in SECRETS:
        assert secret not in printed, secret


def test_an_error_uncaught_in_a_thread_is_printed_without_its_message(
    make_app: Callable[..., Flask],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The clock's jobs run in APScheduler's threads: an error one of them let out
    went through Python's thread hook, message and all."""
    monkeypatch.setattr(threading, "excepthook", threading.__excepthook__)  # not pytest's
    make_app()
    thread = threading.Thread(target=explode, name="clock-job")
    thread.start()
    thread.join()
    printed = capsys.readouterr().err
    assert "Exception in thread clock-job" in printed
    assert "ValueError" in printed and "LookupError" in printed and "explode" in printed
    for secret in SECRETS:
        assert secret not in printed, secret
