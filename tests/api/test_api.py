"""The read-only JSON API: bearer tokens, alert filters and paging, localities, and
JSON errors for every refusal."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from click.testing import Result
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from gateway.api import register_api
from gateway.api.tokens import create_token, revoke, token_hash
from gateway.db import transaction
from gateway.models import AlertState, ApiToken, AuditLog, Role
from gateway.runtime import Runtime
from tests.console.conftest import KAYES, MOPTI, MOPTI_CERCLE, SOCOURA, add_alert, ids

__all__ = ["api_app", "ids", "token"]


@pytest.fixture
def api_app(app: Flask) -> Flask:
    """The app with the API, registered here until the app factory does it."""
    if "api" not in app.blueprints:
        register_api(app)
    return app


@pytest.fixture
def token(api_app: Flask, rt: Runtime) -> str:
    with transaction(rt.sessions) as session:
        _, secret = create_token(session, "partner", Role.ANALYST, rt.now())
    return secret


def get(app: Flask, path: str, token: str | None, **args: Any) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return app.test_client().get(path, query_string=args, headers=headers)


@pytest.mark.parametrize(
    ("label", "header"),
    [
        ("missing", None),
        ("not bearer", "Basic dXNlcjpwYXNz"),
        ("empty", "Bearer "),
        ("wrong", "Bearer gwt_not-a-real-token"),
        ("no prefix", "Bearer abc"),
    ],
)
def test_a_request_without_a_valid_token_is_refused(
    api_app: Flask, token: str, label: str, header: str | None
) -> None:
    client: FlaskClient = api_app.test_client()
    response = client.get("/api/v1/alerts", headers={"Authorization": header} if header else {})
    assert response.status_code == 401, label
    assert response.json is not None and response.json["error"] == "unauthorized"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_revoked_token_is_refused(api_app: Flask, rt: Runtime, token: str) -> None:
    assert get(api_app, "/api/v1/alerts", token).status_code == 200
    with transaction(rt.sessions) as session:
        row = session.scalar(select(ApiToken).where(ApiToken.token_hash == token_hash(token)))
        assert row is not None and revoke(session, row.id, rt.now())
    response = get(api_app, "/api/v1/alerts", token)
    assert response.status_code == 401 and "revoked" in response.json["message"]


def test_tokens_are_stored_only_as_their_hash(api_app: Flask, rt: Runtime, token: str) -> None:
    with rt.sessions() as session:
        stored = session.scalars(select(ApiToken.token_hash)).all()
    assert stored == [token_hash(token)] and token not in stored


def test_alerts_are_filtered_and_paged(
    api_app: Flask, rt: Runtime, ids: dict[str, int], token: str
) -> None:
    start = rt.now()
    add_alert(rt, ids[MOPTI], opened_at=start - dt.timedelta(days=10))
    add_alert(rt, ids[SOCOURA], rule="incident_spike", state=AlertState.ACKNOWLEDGED)
    add_alert(rt, ids[KAYES], state=AlertState.CLOSED, outcome="resolved")

    def codes(**args: Any) -> list[str]:
        response = get(api_app, "/api/v1/alerts", token, **args)
        assert response.status_code == 200, response.json
        return [a["locality"]["pcode"] for a in response.json["items"]]

    assert sorted(codes()) == sorted([MOPTI, SOCOURA, KAYES])
    assert codes(state="acknowledged") == [SOCOURA]
    assert codes(rule="incident_spike") == [SOCOURA]
    assert sorted(codes(locality=MOPTI_CERCLE)) == sorted([MOPTI, SOCOURA])
    assert sorted(codes(locality=MOPTI_CERCLE.lower())) == sorted([MOPTI, SOCOURA])
    assert codes(locality="ML01") == [KAYES]
    assert sorted(codes(since=(start - dt.timedelta(days=1)).date().isoformat())) == sorted(
        [SOCOURA, KAYES]
    )
    assert sorted(codes(since=start.isoformat())) == sorted([SOCOURA, KAYES])
    first = get(api_app, "/api/v1/alerts", token, per_page=2).json
    assert (first["total"], first["next_page"], len(first["items"])) == (3, 2, 2)
    second = get(api_app, "/api/v1/alerts", token, per_page=2, page=2).json
    assert (second["next_page"], len(second["items"])) == (None, 1)
    seen = {a["code"] for a in first["items"] + second["items"]}
    assert len(seen) == 3


def test_one_alert_has_its_figures(
    api_app: Flask, rt: Runtime, ids: dict[str, int], token: str
) -> None:
    alert = add_alert(rt, ids[MOPTI])
    body = get(api_app, f"/api/v1/alerts/{alert.code}", token).json
    assert body["code"] == alert.code and body["state"] == "open"
    assert body["locality"] == {"pcode": MOPTI, "name": "Mopti", "kind": "commune"}
    assert body["figures"]["min_reporters"] == 5
    assert body["opened_at"].endswith("Z") and body["closed_at"] is None


def test_a_locality_has_its_parent(api_app: Flask, token: str) -> None:
    body = get(api_app, f"/api/v1/localities/{MOPTI}", token).json
    assert body == {
        "pcode": MOPTI,
        "name": "Mopti",
        "kind": "commune",
        "parent": {"pcode": MOPTI_CERCLE, "name": "Mopti", "kind": "cercle"},
    }
    region = get(api_app, "/api/v1/localities/ML05", token).json
    assert region["kind"] == "region" and region["parent"] is None


def test_the_country_is_a_locality_by_its_code(api_app: Flask, token: str) -> None:
    """The national area's P-code in the trust aggregates and the CSV export, "ML", is one
    the localities endpoint knows (lower case too, as every P-code)."""
    for code in ("ML", "ml"):
        body = get(api_app, f"/api/v1/localities/{code}", token).json
        assert body == {"pcode": "ML", "name": "Mali", "kind": "national", "parent": None}


@pytest.mark.parametrize(
    ("path", "args", "status"),
    [
        ("/api/v1/alerts", {"state": "burning"}, 400),
        ("/api/v1/alerts", {"rule": "no_such_rule"}, 400),
        ("/api/v1/alerts", {"locality": "ML9999"}, 404),
        ("/api/v1/alerts", {"state": ""}, 400),
        ("/api/v1/alerts", {"status": "open"}, 400),
        ("/api/v1/localities/ML05", {"x": "1"}, 400),
        ("/api/v1/alerts", {"locality": "ML05\x00"}, 400),
        ("/api/v1/alerts", {"since": "yesterday"}, 400),
        ("/api/v1/alerts", {"since": "0001-01-01T00:00:00+14:00"}, 400),
        ("/api/v1/alerts", {"page": "0"}, 400),
        ("/api/v1/alerts", {"page": "99999999999999999999"}, 400),
        ("/api/v1/alerts", {"per_page": "500"}, 400),
        ("/api/v1/alerts", {"per_page": "-1"}, 400),
        ("/api/v1/alerts/A999", {}, 404),
        ("/api/v1/alerts/%00", {}, 404),
        ("/api/v1/alerts/" + "A" * 40, {}, 404),
        ("/api/v1/localities/ML9999", {}, 404),
        ("/api/v1/localities/..", {}, 404),
        ("/api/v1/nothing", {}, 404),
    ],
)
def test_bad_input_is_a_json_error_never_a_crash(
    api_app: Flask, token: str, path: str, args: dict[str, str], status: int
) -> None:
    response = get(api_app, path, token, **args)
    assert response.status_code == status
    assert response.json is not None and response.json["message"]


def test_a_wrong_method_is_a_json_error(api_app: Flask, token: str) -> None:
    response = api_app.test_client().post(
        "/api/v1/alerts", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 405
    assert response.get_json()["error"] == "method_not_allowed"


def test_the_console_keeps_its_own_error_pages(api_app: Flask) -> None:
    response = api_app.test_client().get("/nowhere")
    assert response.status_code == 404 and not response.is_json


def test_the_openapi_document_describes_every_endpoint_and_the_bearer_scheme(
    api_app: Flask,
) -> None:
    doc: dict[str, Any] = api_app.test_client().get("/api/v1/openapi.json").get_json()
    assert doc["openapi"].startswith("3.0")
    assert set(doc["paths"]) == {
        "/api/v1/alerts",
        "/api/v1/alerts/{code}",
        "/api/v1/localities/{pcode}",
        "/api/v1/openapi.json",
        "/api/v1/trust",
    }
    assert doc["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    rules = {r.rule for r in api_app.url_map.iter_rules() if r.rule.startswith("/api/")}
    assert rules == {p.replace("{", "<").replace("}", ">") for p in doc["paths"]}


def invoke(app: Flask, *args: str) -> Result:
    return app.test_cli_runner().invoke(args=list(args))


def test_the_cli_prints_a_token_once_that_the_api_accepts(api_app: Flask, rt: Runtime) -> None:
    from gateway.cli.api_tokens import api_tokens_group

    if "api-tokens" not in api_app.cli.commands:
        api_app.cli.add_command(api_tokens_group)
    result = invoke(api_app, "api-tokens", "create", "--name", "ONG partenaire", "--role", "admin")
    assert result.exit_code == 0, result.output
    secret = result.output.strip().splitlines()[-1]
    token_id = result.output.split()[3]
    assert get(api_app, "/api/v1/alerts", secret).status_code == 200
    listing = invoke(api_app, "api-tokens", "list").output
    assert "ONG partenaire" in listing and secret not in listing
    assert invoke(api_app, "api-tokens", "create", "--name", "x", "--role", "committee").exit_code
    assert invoke(api_app, "api-tokens", "revoke", token_id).exit_code == 0
    assert get(api_app, "/api/v1/alerts", secret).status_code == 401
    assert invoke(api_app, "api-tokens", "revoke", token_id).exit_code != 0
    with rt.sessions() as session:
        actions = session.scalars(select(AuditLog.action).order_by(AuditLog.id)).all()
    assert actions == ["api_token.create", "api_token.revoke"]


def test_an_unencoded_plus_in_since_is_explained(api_app: Flask, token: str) -> None:
    """`?since=...T00:00:00+01:00` typed as is arrives with a space for the `+`."""
    response = get(api_app, "/api/v1/alerts", token, since="2026-12-01T00:00:00 01:00")
    assert response.status_code == 400
    assert "%2B" in response.json["message"]


def test_a_parameter_given_twice_is_refused_not_half_read(api_app: Flask, token: str) -> None:
    response = api_app.test_client().get(
        "/api/v1/alerts?state=open&state=closed", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 400
    assert "state" in response.json["message"]
