"""Every API answer that is not data is JSON: `{"error": code, "message": why}`."""

from __future__ import annotations

from flask import Flask, current_app, request
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException

from gateway.api.blueprint import bp
from gateway.db import DB_UNAVAILABLE

CODES = {
    400: "bad_parameter",
    401: "unauthorized",
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
    500: "internal_error",
    503: "unavailable",
}


class ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def error_response(status: int, message: str) -> ResponseReturnValue:
    headers = {"Cache-Control": "no-store"}
    if status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="api"'
    if status == 503:
        headers["Retry-After"] = "10"
    body = {"error": CODES.get(status, "error"), "message": message}
    return body, status, headers


@bp.errorhandler(ApiError)
def api_error(error: ApiError) -> ResponseReturnValue:
    return error_response(error.status, error.message)


@bp.errorhandler(Exception)
def api_crash(error: Exception) -> ResponseReturnValue:
    if isinstance(error, HTTPException):
        return error_response(error.code or 500, error.description or "error")
    if isinstance(error, DB_UNAVAILABLE):  # an outage, not a bug: the client retries
        return error_response(503, "the database cannot be reached just now; retry")
    current_app.logger.exception("API request failed")
    return error_response(500, "internal error")


def answer_api_paths_in_json(app: Flask) -> None:
    """HTTP errors under /api/ that no API view saw (an unknown path, a method not
    allowed) answer JSON too; errors elsewhere are left as they were."""

    def handle(error: HTTPException) -> ResponseReturnValue:
        if request.blueprint == bp.name or request.path.startswith(f"{bp.url_prefix}/"):
            return error_response(error.code or 500, error.description or "error")
        return error

    app.register_error_handler(HTTPException, handle)
