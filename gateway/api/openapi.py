"""The API's OpenAPI 3.0 document, written as data. Every endpoint of views.py is here
with its parameters and answers; schemathesis checks the two agree (tests/api)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from gateway.models import AlertState, LocalityKind
from gateway.runtime import Runtime
from gateway.services.figures.tables import RECORD_FIELDS

RULES_FILE = Path(__file__).resolve().parent.parent / "data" / "rules.json"
BEARER: list[dict[str, list[str]]] = [{"bearer": []}]


def known_rules(rt: Runtime) -> list[str]:
    """The alert rules' names, from the rules file."""

    def load() -> list[str]:
        return sorted(json.loads(RULES_FILE.read_text("utf-8"))["rules"])

    return rt.cached("api_rule_names", load)


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*statuses: int) -> dict[str, Any]:
    why = {
        400: "A parameter is not valid or not known; the message says which.",
        401: "Missing, unknown or revoked token.",
        404: "Nothing with that identifier (for alerts: no such locality).",
    }
    return {str(s): _json(_ref("Error"), why[s]) for s in statuses}


def _query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": schema,
        "description": description,
    }


def _path(name: str, pattern: str, description: str) -> dict[str, Any]:
    schema = {"type": "string", "pattern": pattern}
    return {
        "name": name,
        "in": "path",
        "required": True,
        "schema": schema,
        "description": description,
    }


def _paths(rt: Runtime) -> dict[str, Any]:
    alerts_parameters = [
        _query("state", {"type": "string", "enum": [s.value for s in AlertState]}, "Alert state."),
        _query("rule", {"type": "string", "enum": known_rules(rt)}, "Rule that raised it."),
        _query(
            "locality",
            {"type": "string", "pattern": "^[A-Za-z0-9]{2,24}$"},
            "P-code of a locality: alerts there and in every locality under it.",
        ),
        _query(
            "since",
            {"type": "string", "format": "date-time"},
            "Alerts opened at or after this ISO 8601 date or date-time (UTC when no offset).",
        ),
        _query("page", {"type": "integer", "minimum": 1, "maximum": 100000, "default": 1}, "Page."),
        _query(
            "per_page",
            {"type": "integer", "minimum": 1, "maximum": 200, "default": 50},
            "Alerts per page.",
        ),
    ]
    return {
        "/api/v1/alerts": {
            "get": {
                "operationId": "listAlerts",
                "tags": ["alerts"],
                "summary": "Alerts, newest first, filtered and paged.",
                "security": BEARER,
                "parameters": alerts_parameters,
                "responses": {
                    "200": _json(_ref("AlertPage"), "A page of alerts."),
                    **_errors(400, 401, 404),
                },
            }
        },
        "/api/v1/alerts/{code}": {
            "get": {
                "operationId": "getAlert",
                "tags": ["alerts"],
                "summary": "One alert, with the figures and rule values at the time it fired.",
                "security": BEARER,
                "parameters": [_path("code", "^[A-Za-z0-9-]{1,12}$", "The alert's code.")],
                "responses": {"200": _json(_ref("Alert"), "The alert."), **_errors(400, 401, 404)},
            }
        },
        "/api/v1/localities/{pcode}": {
            "get": {
                "operationId": "getLocality",
                "tags": ["localities"],
                "summary": "A locality of the gazetteer and its parent.",
                "security": BEARER,
                "parameters": [_path("pcode", "^[A-Za-z0-9]{2,24}$", "The locality's P-code.")],
                "responses": {
                    "200": _json(_ref("Locality"), "The locality."),
                    **_errors(400, 401, 404),
                },
            }
        },
        "/api/v1/trust": {
            "get": {
                "operationId": "trust",
                "tags": ["trust"],
                "summary": (
                    "Trust aggregates at one level; cells under k reporters are suppressed "
                    "unless the token is an admin's."
                ),
                "security": BEARER,
                "parameters": [
                    _query(
                        "level",
                        {
                            "type": "string",
                            "enum": ["national", "region", "cercle", "commune"],
                            "default": "region",
                        },
                        "Level of the areas.",
                    )
                ],
                "responses": {
                    "200": _json(_ref("TrustPage"), "Aggregates."),
                    **_errors(400, 401),
                },
            }
        },
        "/api/v1/openapi.json": {
            "get": {
                "operationId": "getOpenApi",
                "tags": ["meta"],
                "summary": "This document.",
                "security": [],
                "responses": {
                    "200": _json({"type": "object"}, "The OpenAPI 3.0 document."),
                },
            }
        },
    }


def _schemas() -> dict[str, Any]:
    when = {"type": "string", "format": "date-time", "nullable": True}
    place_properties: dict[str, Any] = {
        "pcode": {"type": "string"},
        "name": {"type": "string"},
        "kind": {"type": "string", "enum": [k.value for k in LocalityKind]},
    }
    place = {
        "type": "object",
        "required": ["pcode", "name", "kind"],
        "properties": place_properties,
    }
    alert = {
        "type": "object",
        "required": ["code", "rule", "locality", "severity", "state", "verified", "opened_at"],
        "properties": {
            "code": {"type": "string"},
            "rule": {"type": "string"},
            "locality": _ref("Place"),
            "severity": {"type": "integer", "minimum": 1, "maximum": 3},
            "state": {"type": "string", "enum": [s.value for s in AlertState]},
            "verified": {"type": "boolean"},
            "opened_at": {"type": "string", "format": "date-time"},
            "last_seen_at": when,
            "acknowledged_at": when,
            "closed_at": when,
            "outcome": {"type": "string", "nullable": True},
            "figures": {
                "type": "object",
                "description": "Measured figures and rule values when it fired.",
                "additionalProperties": True,
            },
        },
    }
    page = {
        "type": "object",
        "required": ["items", "page", "per_page", "total", "next_page"],
        "properties": {
            "items": {"type": "array", "items": _ref("Alert")},
            "page": {"type": "integer", "minimum": 1},
            "per_page": {"type": "integer", "minimum": 1},
            "total": {"type": "integer", "minimum": 0},
            "next_page": {"type": "integer", "nullable": True},
        },
    }
    locality = {
        "type": "object",
        "required": ["pcode", "name", "kind", "parent"],
        "properties": {
            **place_properties,
            "parent": {"allOf": [_ref("Place")], "nullable": True},
        },
    }
    error = {
        "type": "object",
        "required": ["error", "message"],
        "properties": {"error": {"type": "string"}, "message": {"type": "string"}},
    }
    number = {"type": "number", "nullable": True}
    area = {
        "type": "object",
        "required": list(RECORD_FIELDS),
        "properties": {
            "pcode": {"type": "string"},
            "name": {"type": "string"},
            "kind": {"type": "string"},
            "reporters": {"type": "integer", "nullable": True},
            "suppressed": {"type": "boolean"},
            "index": number,
            "index_low": number,
            "index_high": number,
            "trend": number,
            "incidents_30d": {"type": "integer", "nullable": True},
            "open_alerts": {"type": "integer", "nullable": True},
        },
    }
    trust = {
        "type": "object",
        "required": [
            "level",
            "as_of",
            "window_days",
            "trend_baseline_days",
            "k",
            "suppressed_below_k",
            "areas",
        ],
        "properties": {
            "level": {"type": "string"},
            "as_of": {"type": "string", "format": "date-time"},
            "window_days": {"type": "integer"},
            "trend_baseline_days": {"type": "integer"},
            "k": {"type": "integer"},
            "suppressed_below_k": {"type": "boolean"},
            "areas": {"type": "array", "items": area},
        },
    }
    return {
        "Place": place,
        "Alert": alert,
        "AlertPage": page,
        "Locality": locality,
        "TrustPage": trust,
        "Error": error,
    }


def document(rt: Runtime) -> dict[str, Any]:
    """The whole OpenAPI document."""
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "Trust and early-warning gateway API",
            "version": "1.0.0",
            "description": (
                "Read-only alerts and localities for partners. Every endpoint but this "
                "document needs `Authorization: Bearer <token>` (made with "
                "`flask --app gateway api-tokens create`). Errors are JSON "
                '`{"error": code, "message": why}`.'
            ),
        },
        "tags": [
            {"name": "alerts"},
            {"name": "localities"},
            {"name": "trust", "description": "Trust aggregates by level."},
            {"name": "meta"},
        ],
        "security": BEARER,
        "paths": _paths(rt),
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "description": "An API token."}
            },
            "schemas": _schemas(),
        },
    }
