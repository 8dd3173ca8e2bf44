"""The console blueprint, apart from the package so that its views import it without a cycle."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint(
    "console",
    __name__.rsplit(".", 1)[0],
    url_prefix="/console",
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)
