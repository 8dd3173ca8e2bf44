"""The read-only JSON API (blueprint `api`, mounted at /api/v1): alerts and localities
for partners' systems, with bearer tokens (`api-tokens create`) and an OpenAPI
document at /api/v1/openapi.json."""

from __future__ import annotations

from flask import Flask

from gateway.api.blueprint import bp


def register_api(app: Flask) -> None:
    """Attach the API; its errors are JSON, including unknown paths under /api/."""
    from gateway.api import errors, trust, views  # noqa: F401  (importing attaches the views)

    app.register_blueprint(bp)
    errors.answer_api_paths_in_json(app)
