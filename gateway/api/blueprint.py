"""The api blueprint, apart from the package so that its views import it without a cycle."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("api", __name__.rsplit(".", 1)[0], url_prefix="/api/v1")
