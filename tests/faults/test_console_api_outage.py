"""The database goes away under the console and the API (the webhooks' side is
test_database_outage.py): every page and endpoint answers 503, saying to retry, never
a 500; and once the database is back the same session works again."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from argon2 import PasswordHasher
from flask import Flask

from gateway.api.tokens import create_token
from gateway.db import transaction
from gateway.models import Role
from gateway.runtime import Runtime
from gateway.services.admin import auth
from tests.console.conftest import PASSWORD, add_user
from tests.faults.proxy import TcpProxy
from tests.faults.test_database_outage import proxied, proxy  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

CONSOLE_PAGES = [
    "/console/",
    "/console/alerts",
    "/console/alerts/1",
    "/console/incidents",
    "/console/committees",
    "/console/map",
    "/console/thresholds",
    "/console/outbox",
    "/console/brief",
    "/console/export.csv?level=commune",
    "/console/login",
]
API_PATHS = ["/api/v1/alerts", "/api/v1/alerts/A101", "/api/v1/trust", "/api/v1/localities/ML"]


@pytest.fixture(autouse=True)
def _fast_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    cheap = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    monkeypatch.setattr(auth, "hasher", lambda: cheap)


@pytest.mark.timeout(60)
def test_console_and_api_answer_503_while_the_database_is_cut(
    proxied: Callable[..., Flask],  # noqa: F811
    proxy: TcpProxy,  # noqa: F811
) -> None:
    app = proxied(TESTING=False)  # so that an unhandled error is the 500 a caller sees
    rt: Runtime = app.extensions["gateway"]
    add_user(rt, Role.ADMIN)
    with transaction(rt.sessions) as session:
        _, token = create_token(session, "probe", Role.ADMIN, rt.now())
    bearer = {"Authorization": f"Bearer {token}"}
    client = app.test_client()
    login: dict[str, Any] = {"email": "admin@example.org", "password": PASSWORD}
    assert client.post("/console/login", data=login).status_code == 302
    proxy.cut()
    for path in CONSOLE_PAGES:
        response = client.get(path)
        assert response.status_code == 503, path
        assert response.headers.get("Retry-After"), path
    assert client.post("/console/login", data=login).status_code == 503
    for path in API_PATHS:
        response = client.get(path, headers=bearer)
        assert response.status_code == 503, path
        assert response.get_json()["error"] == "unavailable", path
    proxy.restore()
    assert client.get("/console/alerts").status_code == 200
    assert client.get("/api/v1/alerts", headers=bearer).status_code == 200
