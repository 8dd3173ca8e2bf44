"""Machines that call the gateway (providers, load balancers) get no cookie session:
Flask would otherwise build the cookie signer and read the cookie on every webhook."""

from __future__ import annotations

from flask import Flask
from flask.sessions import SessionMixin


def session_of(app: Flask, path: str) -> SessionMixin:
    with app.test_request_context(path, method="POST"):
        from flask import session

        return session._get_current_object()  # type: ignore[attr-defined, no-any-return]


def test_webhooks_and_health_get_the_null_session(app: Flask) -> None:
    for path in ("/webhooks/africastalking/sms", "/webhooks/twilio/sms", "/healthz"):
        assert app.session_interface.is_null_session(session_of(app, path)), path


def test_the_console_keeps_its_cookie_session(app: Flask) -> None:
    assert not app.session_interface.is_null_session(session_of(app, "/console/login"))


def test_a_webhook_answers_without_a_cookie_even_when_sent_one(app: Flask) -> None:
    client = app.test_client()
    client.set_cookie("session", "whatever")
    form = {"from": "+22376123456", "text": "AIDE", "id": "ATXid_cookie", "to": "36000"}
    response = client.post("/webhooks/africastalking/sms", data=form)
    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers
