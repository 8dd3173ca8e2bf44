"""The API's endpoints: read-only JSON, a bearer token on everything but the document."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from flask import g, request
from flask.typing import ResponseReturnValue
from sqlalchemy import Select, func, select

from gateway.api.blueprint import bp
from gateway.api.errors import ApiError
from gateway.api.openapi import document, known_rules
from gateway.api.tokens import authenticate
from gateway.domain.trust_index import COUNTRY_NAME, COUNTRY_PCODE
from gateway.gazetteer.index import gazetteer
from gateway.models import Alert, AlertState, Locality
from gateway.runtime import Runtime, current_runtime
from gateway.services.admin.info_messages import area

PUBLIC = {"api.openapi"}
# Query parameters each endpoint knows; any other is refused, so a typo in a filter
# (`status=open`) is an error rather than every alert.
PARAMETERS = {
    "api.alerts": {"state", "rule", "locality", "since", "page", "per_page"},
    "api.trust": {"level"},
}
CODE = re.compile(r"[A-Za-z0-9-]{1,12}")
PCODE = re.compile(r"[A-Za-z0-9]{2,24}")
MAX_PAGE = 100_000
MAX_PER_PAGE = 200
DEFAULT_PER_PAGE = 50


def runtime() -> Runtime:
    rt = current_runtime()
    return rt


@bp.before_request
def check_token() -> None:
    """401 without a valid, unrevoked `Authorization: Bearer <token>`; then 400 for
    a query parameter the endpoint does not know or one given twice."""
    if request.endpoint in PUBLIC:
        return
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, "missing bearer token (Authorization: Bearer <token>)")
    with runtime().sessions() as session:
        row = authenticate(session, token.strip())
    if row is None:
        raise ApiError(401, "invalid or revoked token")
    g.api_role = row.role  # admins will see what analysts may not (suppressed cells)
    unknown = set(request.args) - PARAMETERS.get(request.endpoint or "", set())
    if unknown:
        raise ApiError(400, "unknown parameter: " + ", ".join(sorted(unknown))[:200])
    repeated = sorted(name for name in request.args if len(request.args.getlist(name)) > 1)
    if repeated:  # reading only the first would answer another question than asked
        raise ApiError(400, "parameter given more than once: " + ", ".join(repeated))


@bp.after_request
def no_store(response: Any) -> Any:
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.get("/openapi.json")
def openapi() -> ResponseReturnValue:
    return document(runtime())


def _int_arg(name: str, default: int, low: int, high: int) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    if not raw.isascii() or not raw.isdigit() or not low <= int(raw) <= high:
        raise ApiError(400, f"{name} must be an integer from {low} to {high}")
    return int(raw)


def _since() -> dt.datetime | None:
    raw = request.args.get("since")
    if raw is None:
        return None
    try:
        when = dt.datetime.fromisoformat(raw)
        when = when.replace(tzinfo=dt.UTC) if when.tzinfo is None else when.astimezone(dt.UTC)
    except (ValueError, OverflowError):
        message = "since must be an ISO 8601 date or date-time"
        if " " in raw:  # a '+' left unencoded in the query string arrives as a space
            message += " (write the '+' of an offset as %2B)"
        raise ApiError(400, message) from None
    return when


def _locality_id(pcode: str) -> int:
    if not PCODE.fullmatch(pcode):
        raise ApiError(400, "locality must be a P-code (2 to 24 letters and digits)")
    places = gazetteer(runtime())
    if pcode.upper() not in places.ids:
        raise ApiError(404, f"no locality with P-code {pcode!r}")
    return places.ids[pcode.upper()]


def _filtered(query: Select[Any]) -> Select[Any]:
    args = request.args
    state = args.get("state")
    if state is not None:
        if state not in {s.value for s in AlertState}:
            raise ApiError(400, "state must be one of: " + ", ".join(s.value for s in AlertState))
        query = query.where(Alert.state == AlertState(state))
    rule = args.get("rule")
    if rule is not None:
        if rule not in known_rules(runtime()):
            raise ApiError(400, "rule must be one of: " + ", ".join(known_rules(runtime())))
        query = query.where(Alert.rule == rule)
    pcode = args.get("locality")
    if pcode is not None:
        query = query.where(Alert.locality_id.in_(area(runtime(), _locality_id(pcode))))
    since = _since()
    if since is not None:
        query = query.where(Alert.opened_at >= since)
    return query


@bp.get("/alerts")
def alerts() -> ResponseReturnValue:
    page = _int_arg("page", 1, 1, MAX_PAGE)
    per_page = _int_arg("per_page", DEFAULT_PER_PAGE, 1, MAX_PER_PAGE)
    rt = runtime()
    with rt.sessions() as session:
        query = _filtered(select(Alert))
        total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
        rows = session.scalars(
            query.order_by(Alert.opened_at.desc(), Alert.id.desc())
            .offset((page - 1) * per_page)
            .limit(per_page)
        ).all()
    return {
        "items": [_alert(rt, a) for a in rows],
        "page": page,
        "per_page": per_page,
        "total": total,
        "next_page": page + 1 if page * per_page < total else None,
    }


@bp.get("/alerts/<code>")
def alert(code: str) -> ResponseReturnValue:
    rt = runtime()
    found = None
    if CODE.fullmatch(code):
        with rt.sessions() as session:
            found = session.scalar(select(Alert).where(Alert.code == code.upper()))
    if found is None:
        raise ApiError(404, f"no alert with code {code[:30]!r}")
    return _alert(rt, found)


@bp.get("/localities/<pcode>")
def locality(pcode: str) -> ResponseReturnValue:
    found = None
    if pcode.upper() == COUNTRY_PCODE:
        return {"pcode": COUNTRY_PCODE, "name": COUNTRY_NAME, "kind": "national", "parent": None}
    if PCODE.fullmatch(pcode):
        with runtime().sessions() as session:
            found = session.scalar(select(Locality).where(Locality.pcode == pcode.upper()))
            parent = session.get(Locality, found.parent_id) if found and found.parent_id else None
    if found is None:
        raise ApiError(404, f"no locality with P-code {pcode[:30]!r}")
    return {**_place(found), "parent": _place(parent) if parent else None}


def _place(row: Locality) -> dict[str, Any]:
    return {"pcode": row.pcode, "name": row.name, "kind": row.kind.value}


def _alert(rt: Runtime, a: Alert) -> dict[str, Any]:
    places = gazetteer(rt)
    entry = places.entry(a.locality_id)
    return {
        "code": a.code,
        "rule": a.rule,
        "locality": {"pcode": entry.pcode, "name": entry.name, "kind": entry.kind},
        "severity": a.severity,
        "state": a.state.value,
        "verified": a.verified,
        "opened_at": _when(a.opened_at),
        "last_seen_at": _when(a.last_seen_at),
        "acknowledged_at": _when(a.acknowledged_at),
        "closed_at": _when(a.closed_at),
        "outcome": a.outcome,
        "figures": a.figures or {},
    }


def _when(value: dt.datetime | None) -> str | None:
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z") if value else None
