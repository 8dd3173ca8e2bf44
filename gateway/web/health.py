"""`GET /healthz` for load balancers: 200 when the database answers, 503 when not."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify

from gateway.db import database_answers

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> tuple[Response, int]:
    runtime = current_app.extensions["gateway"]
    if database_answers(runtime.engine):
        return jsonify(status="ok", database="ok"), 200
    return jsonify(status="unavailable", database="unreachable"), 503
