"""Behind a proxy: the client's address and scheme come from the trusted hops only;
HSTS on https."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask
from sqlalchemy import select

from gateway.app import HSTS
from gateway.models import AuditLog

FORWARDED = {"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"}


def _login_attempt_address(app: Flask, headers: dict[str, str]) -> str:
    """The address a failed login is counted and audited under."""
    rt = app.extensions["gateway"]
    app.test_client().post(
        "/console/login",
        data={"email": "x@example.org", "password": "guess"},
        headers=headers,
        environ_base={"REMOTE_ADDR": "10.0.0.2"},
    )
    with rt.sessions() as session:
        actor = session.scalars(select(AuditLog.actor).order_by(AuditLog.id.desc())).first()
    assert actor is not None and actor.startswith("ip:")
    return str(actor[3:])


def test_without_trusted_proxies_forwarded_headers_are_ignored(
    make_app: Callable[..., Flask],
) -> None:
    app = make_app()
    assert _login_attempt_address(app, FORWARDED) == "10.0.0.2"
    response = app.test_client().get("/healthz", headers=FORWARDED)
    assert "Strict-Transport-Security" not in response.headers


def test_one_trusted_proxy_gives_each_user_their_own_address(
    make_app: Callable[..., Flask],
) -> None:
    app = make_app(TRUSTED_PROXIES=1)
    assert _login_attempt_address(app, FORWARDED) == "203.0.113.7"
    # A client's own X-Forwarded-For entry before the proxy's is not believed.
    spoofed = {**FORWARDED, "X-Forwarded-For": "198.51.100.1, 203.0.113.7"}
    assert _login_attempt_address(app, spoofed) == "203.0.113.7"
    response = app.test_client().get("/healthz", headers=FORWARDED)
    assert response.headers["Strict-Transport-Security"] == HSTS


def test_hsts_on_direct_https(make_app: Callable[..., Flask]) -> None:
    app = make_app()
    response = app.test_client().get("/healthz", base_url="https://localhost")
    assert response.headers["Strict-Transport-Security"] == HSTS
    response = app.test_client().get("/console/login", base_url="http://localhost")
    assert "Strict-Transport-Security" not in response.headers
