"""CSRF on console forms (the suite turns it off elsewhere), never on webhooks."""

from __future__ import annotations

import re
from collections.abc import Callable

from flask import Flask
from flask.testing import FlaskClient

from gateway.models import Role
from gateway.runtime import Runtime
from tests.console.conftest import PASSWORD, add_user


def _token(client: FlaskClient, path: str) -> str:
    html = client.get(path).get_data(as_text=True)
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found is not None
    return found.group(1)


def test_a_console_post_without_token_is_refused(make_app: Callable[..., Flask]) -> None:
    app = make_app(WTF_CSRF_ENABLED=True)
    rt: Runtime = app.extensions["gateway"]
    user = add_user(rt, Role.ADMIN)
    client = app.test_client()
    data = {"email": user.email, "password": PASSWORD}
    refused = client.post("/console/login", data=data)
    assert refused.status_code == 400 and "Requête refusée" in refused.get_data(as_text=True)
    token = _token(client, "/console/login")
    assert client.post("/console/login", data={**data, "csrf_token": token}).status_code == 302
    assert client.post("/console/logout").status_code == 400
    token = _token(client, "/console/alerts")
    assert client.post("/console/logout", data={"csrf_token": token}).status_code == 302
    assert client.get("/console/alerts").status_code == 302  # logged out


def test_webhooks_need_no_csrf_token(make_app: Callable[..., Flask]) -> None:
    app = make_app(WTF_CSRF_ENABLED=True)
    response = app.test_client().post(
        "/webhooks/africastalking/delivery", data={"id": "ATXid_1", "status": "Success"}
    )
    assert response.status_code != 400 or "CSRF" not in response.get_data(as_text=True)
    assert response.status_code == 200
