"""`GET /healthz` for load balancers: 200 when the database answers, 503 when not.

The check runs in a small thread pool with a time limit, so a stalled database (a
connection open but silent) makes the answer 503 in two seconds instead of hanging."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

from flask import Blueprint, Response, jsonify

from gateway.db import database_answers
from gateway.runtime import Runtime, current_runtime

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
        return jsonify(status="ok", database="ok"), 200
    return jsonify(status="unavailable", database="unreachable"), 503
