"""`GET /healthz` for load balancers: 200 when the database answers, 503 when not.
Each configured channel's last success and error come as details: a channel that is
down is the outbox's business (it fails over), not a reason to take the web out.

The check runs in a small thread pool with a time limit, so a stalled database (a
connection open but silent) makes the answer 503 in two seconds instead of hanging."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

from flask import Blueprint, Response, jsonify

from gateway.db import database_answers
from gateway.runtime import Runtime, current_runtime
from gateway.services.outbox.health import configured_health

bp = Blueprint("health", __name__)
LIMIT_SECONDS = 2.0


def _checker(rt: Runtime) -> ThreadPoolExecutor:
    return rt.cached("health_pool", lambda: ThreadPoolExecutor(2, "healthz"))


@bp.get("/healthz")
def healthz() -> tuple[Response, int]:
    rt = current_runtime()
    try:
        ok = _checker(rt).submit(database_answers, rt.engine).result(timeout=LIMIT_SECONDS)
    except FutureTimeout:
        ok = False
    if ok:
        try:
            channels = _checker(rt).submit(_channels, rt).result(timeout=LIMIT_SECONDS)
        except Exception:  # details only: the database answered, the gateway is up
            channels = {}
        return jsonify(status="ok", database="ok", channels=channels), 200
    return jsonify(status="unavailable", database="unreachable"), 503


def _when(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def _channels(rt: Runtime) -> dict[str, dict[str, str | None]]:
    with rt.sessions() as session:
        rows = configured_health(session, rt.settings.channels)
    return {
        r.channel: {
            "last_success_at": _when(r.last_success_at),
            "last_error_at": _when(r.last_error_at),
            "last_error": r.last_error,
            "last_seen_at": _when(r.last_seen_at),
            "alarm_since": _when(r.alarm_since),
        }
        for r in rows
    }
