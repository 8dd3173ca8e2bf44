"""PostgreSQL: a latest-input USSD request that read its session's kept path holds the
session's row until it commits, so another request of the session waits for it and
then takes the first one's answer into account (none is lost)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import text

from gateway.services.intake import ussd_input
from tests.handlers.test_ussd_latest_input import DIAL, send, walk_path

WAITING = (
    "SELECT count(*) FROM pg_stat_activity"
    " WHERE wait_event_type = 'Lock' AND datname = current_database()"
)


@pytest.mark.postgres
def test_a_request_waits_for_the_one_holding_its_session_and_loses_no_answer(
    make_app: Callable[..., Flask], monkeypatch: pytest.MonkeyPatch
) -> None:
    app = make_app(USSD_PRESET="freeflow")
    rt, client = app.extensions["gateway"], app.test_client()
    send(client, "held", DIAL)
    send(client, "held", "1")  # French: the main menu
    real, read = ussd_input.advance, threading.Event()

    def paused(kept: Any, latest: str, *rest: Any) -> Any:
        if latest == "1":  # the first request: between reading and writing its path
            read.set()
            with rt.engine.connect() as watch:
                for _ in range(500):  # until the other request waits on the row
                    if watch.execute(text(WAITING)).scalar():
                        break
                    threading.Event().wait(0.02)
        return real(kept, latest, *rest)

    monkeypatch.setattr(ussd_input, "advance", paused)
    screens: dict[str, str] = {}

    def request(latest: str) -> None:
        screens[latest] = send(app.test_client(), "held", latest)

    first = threading.Thread(target=request, args=("1",))
    first.start()
    read.wait(30)
    second = threading.Thread(target=request, args=("sevare",))
    second.start()
    first.join(30)
    second.join(30)
    assert screens["sevare"] == walk_path(client, ["1", "1", "sevare"], "at-held")[-1]
