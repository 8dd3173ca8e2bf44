from __future__ import annotations

from collections.abc import Callable

from flask import Flask
from flask.testing import FlaskClient


def test_healthz_is_200_json_when_the_database_answers(client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json is not None
    assert (response.json["status"], response.json["database"]) == ("ok", "ok")
    assert set(response.json["channels"]) == {"console"}


def test_healthz_is_503_when_the_database_does_not_answer(
    make_app: Callable[..., Flask],
) -> None:
    app = make_app(DATABASE_URL="postgresql+psycopg://nobody@127.0.0.1:1/none")
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.json is not None and response.json["status"] == "unavailable"


def test_healthz_shows_each_channels_last_success_and_error_without_failing(
    make_app: Callable[..., Flask],
) -> None:
    import datetime as dt

    from gateway.db import transaction
    from gateway.services.outbox.health import note_error, note_success

    app = make_app(
        SMS_PROVIDER="console,twilio",
        TWILIO_ACCOUNT_SID="AC" + "1" * 32,
        TWILIO_AUTH_TOKEN="t" * 32,
        TWILIO_FROM="+22320202020",
        PUBLIC_BASE_URL="https://gw.example.org",
    )
    rt = app.extensions["gateway"]
    now = rt.now()
    with transaction(rt.sessions) as session:
        note_success(session, "console", now)
        note_error(session, "twilio", "twilio error 20003 (HTTP 401) to +22376123456", now)
    response = app.test_client().get("/healthz")
    assert response.status_code == 200  # a channel in trouble is a detail, not a 503
    channels = response.json["channels"]
    assert list(channels) == ["console", "twilio"]
    assert channels["console"]["last_success_at"] == now.isoformat()
    assert channels["twilio"]["last_error_at"] == now.isoformat()
    assert "+22376123456" not in channels["twilio"]["last_error"]
    assert channels["twilio"]["last_success_at"] is None and isinstance(now, dt.datetime)
