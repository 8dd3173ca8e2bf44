"""A database error logged with its traceback names no reporter."""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Iterator

import pytest
from flask import Flask
from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError

from gateway.models import Reporter

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
    assert NUMBER not in str(caught.value)  # hide_parameters
    try:
        raise RuntimeError(f"while handling {NUMBER}") from caught.value
    except RuntimeError:
        app.logger.exception("could not store a message from %s", "76 12 34 56")
    logged = root_log.getvalue()
    assert "Traceback" in logged and "IntegrityError" in logged
    for needle in (NUMBER, "76123456", "76 12 34 56"):
        assert needle not in logged
