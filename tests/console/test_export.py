"""CSV export and the JSON aggregates: small cells suppressed for non-admins, exports
audited."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Flask, g
from sqlalchemy import select

from gateway.api.errors import ApiError, error_response
from gateway.api.trust import register_trust
from gateway.models import AuditLog, Role
from gateway.runtime import Runtime
from tests.console.conftest import KAYES, MOPTI, SOCOURA
from tests.console.test_overview_map import seed

Client = Callable[..., Any]


def rows_of(body: str) -> dict[str, dict[str, str]]:
    return {r["pcode"]: r for r in csv.DictReader(io.StringIO(body))}


def test_analyst_export_suppresses_small_cells_and_is_audited(
    as_role: Client, rt: Runtime, ids: dict[str, int]
) -> None:
    seed(rt, ids)
    client, user = as_role(Role.ANALYST)
    response = client.get("/console/export.csv?level=commune")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = rows_of(response.get_data(as_text=True))
    assert len(rows) == 701
    assert rows[SOCOURA]["reporters"] == "" and rows[SOCOURA]["index"] == ""
    assert rows[SOCOURA]["suppressed"] == "True"
    # Mopti (7) is hidden too: its cercle (10) minus Mopti would give Socoura's 3.
    assert rows[MOPTI]["reporters"] == "" and rows[MOPTI]["suppressed"] == "True"
    assert rows[KAYES]["reporters"] == "6" and rows[KAYES]["index"] == "2.833"
    assert "3.333" not in response.get_data(as_text=True)
    assert "1.571" not in response.get_data(as_text=True)
    with rt.sessions() as s:
        audit = s.scalars(select(AuditLog).where(AuditLog.action == "export")).one()
    assert audit.actor == user.email and audit.target == "aggregates:commune"
    assert audit.details == {"level": "commune", "rows": 701, "suppression": True}


def test_admin_export_shows_small_cells(as_role: Client, rt: Runtime, ids: dict[str, int]) -> None:
    seed(rt, ids)
    client, _ = as_role(Role.ADMIN)
    rows = rows_of(client.get("/console/export.csv?level=commune").get_data(as_text=True))
    assert rows[SOCOURA]["reporters"] == "3" and rows[SOCOURA]["index"] == "3.333"
    national = rows_of(client.get("/console/export.csv?level=national").get_data(as_text=True))
    # The country is known by its code, as the committees' `--locality ML` and the API.
    assert national["ML"]["reporters"] == "16" and national["ML"]["kind"] == "national"


def test_committee_export_holds_its_area_only(
    as_role: Client, rt: Runtime, ids: dict[str, int]
) -> None:
    seed(rt, ids)
    client, _ = as_role(Role.COMMITTEE)
    rows = rows_of(client.get("/console/export.csv?level=commune").get_data(as_text=True))
    assert MOPTI in rows and KAYES not in rows
    assert client.get("/console/export.csv?level=nation").status_code == 400


def api_client(app: Flask, role: Role) -> Any:
    """The trust endpoint on a blueprint of its own, the caller's role set as the API's
    token check sets it."""
    bp = Blueprint("trust_api_test", __name__, url_prefix="/t")

    @bp.before_request
    def as_token() -> None:
        g.api_role = role

    bp.register_error_handler(ApiError, lambda e: error_response(e.status, e.message))
    register_trust(bp)
    app.register_blueprint(bp)
    return app.test_client()


def test_api_aggregates_suppress_small_cells_for_analyst_tokens(
    make_app: Callable[..., Flask], rt: Runtime, ids: dict[str, int]
) -> None:
    seed(rt, ids)
    body = api_client(make_app(), Role.ANALYST).get("/t/trust?level=commune").get_json()
    areas = {a["pcode"]: a for a in body["areas"]}
    assert body["k"] == 5 and body["suppressed_below_k"] is True
    assert areas[SOCOURA]["reporters"] is None and areas[SOCOURA]["index"] is None
    assert areas[MOPTI]["reporters"] is None  # complementary: cercle minus Mopti = Socoura
    assert areas[KAYES]["reporters"] == 6


def test_api_aggregates_for_admin_tokens_and_bad_level(
    make_app: Callable[..., Flask], rt: Runtime, ids: dict[str, int]
) -> None:
    seed(rt, ids)
    client = api_client(make_app(), Role.ADMIN)
    areas = {a["pcode"]: a for a in client.get("/t/trust?level=commune").get_json()["areas"]}
    assert areas[SOCOURA]["index"] == 3.333
    country = client.get("/t/trust?level=national").get_json()["areas"]
    assert [(a["pcode"], a["name"], a["kind"]) for a in country] == [("ML", "Mali", "national")]
    refused = client.get("/t/trust?level=planet")
    assert refused.status_code == 400 and "level must be" in refused.get_json()["message"]
