"""HTTP surface: health, the provider webhooks (from handlers/), and the console."""

from __future__ import annotations

from flask import Flask

from gateway.web.health import bp as health_bp


def register_web(app: Flask) -> None:
    from gateway.api import register_api
    from gateway.console import register_console
    from handlers.registry import register_webhooks

    app.register_blueprint(health_bp)
    register_webhooks(app)
    register_console(app)
    register_api(app)
