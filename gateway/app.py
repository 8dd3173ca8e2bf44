"""The application factory."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from flask import Flask, request
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter, Map
from werkzeug.wrappers import Response

from gateway.config import load_settings
from gateway.runtime import EXTENSION, Runtime, utcnow
from gateway.web.lean import LeanRoutes
from gateway.web.sessions import ConsoleSessionInterface
from handlers.registry import check_channels, lean_routes, sender_factories

ENV_NAMES = {
    "DATABASE_URL",
    "SECRET_KEY",
    "PHONE_HASH_KEY",
    "DATA_KEY",
    "GATEWAY_ENV",
    "SMS_PROVIDER",
    "SMS_FALLBACK_PROVIDER",
    "SMS_HANDLING",
    "SMS_ROUTES",
    "KANNEL_SEND_URL",
    "KANNEL_USERNAME",
    "KANNEL_PASSWORD",
    "KANNEL_FROM",
    "KANNEL_SMSC",
    "KANNEL_WEBHOOK_TOKEN",
    "KANNEL_DLR_BASE_URL",
    "ANDROID_API_URL",
    "ANDROID_USERNAME",
    "ANDROID_PASSWORD",
    "ANDROID_SIGNING_KEY",
    "ANDROID_PING_MAX",
    "OPS_PHONES",
    "USSD_PRESET",
    "USSD_FIELDS",
    "USSD_ANSWER",
    "USSD_INPUT",
    "USSD_WEBHOOK_TOKEN",
    "USSD_RESUME_MINUTES",
    "AT_USERNAME",
    "AT_API_KEY",
    "AT_SENDER_ID",
    "AT_WEBHOOK_TOKEN",
    "TWILIO_ACCOUNT_SID",
    "TWILIO_AUTH_TOKEN",
    "TWILIO_FROM",
    "TWILIO_WEBHOOK_KEY",
    "PUBLIC_BASE_URL",
    "TRUSTED_PROXIES",
    "DEFAULT_LANGUAGE",
    "PHONE_REGIONS",
    "CONSOLE_SMS_FILE",
    "PHONE_HASH_KEY_VERSION",
    "PHONE_HASH_KEY_PREVIOUS",
    "DATA_KEY_PREVIOUS",
    "GATEWAY_INSTANCE_PATH",
}
MAX_BODY_BYTES = 64 * 1024
MAX_ROW_ID = 2**31 - 1  # the ids are INTEGER columns
HSTS = "max-age=31536000; includeSubDomains"


def create_app(overrides: Mapping[str, Any] | None = None) -> Flask:
    """Build the gateway. `overrides` take the environment's names (`DATABASE_URL`, ...)
    and win over the environment; other keys (such as `NOW`, a clock for tests) are
    kept as extras."""
    overrides = dict(overrides or {})
    env = dict(os.environ)
    for name in ENV_NAMES & overrides.keys():
        value = overrides.pop(name)
        if value is None:
            env.pop(name, None)
        else:
            env[name] = str(value)
    settings = replace(load_settings(env), extra=overrides)
    check_channels(settings)
    now = overrides.get("NOW")
    runtime = Runtime(settings, now or utcnow, sender_factories())
    app = Flask("gateway", instance_path=settings.instance_path)
    app.url_map.converters["int"] = RowIdConverter  # before any route is added
    app.config.update(
        SECRET_KEY=settings.secret_key,
        MAX_CONTENT_LENGTH=MAX_BODY_BYTES,
        MAX_FORM_MEMORY_SIZE=MAX_BODY_BYTES,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.is_production,
        PERMANENT_SESSION_LIFETIME=60 * 60,
        JSON_SORT_KEYS=False,
    )
    app.config.update({k: v for k, v in overrides.items() if k.isupper()})
    app.session_interface = ConsoleSessionInterface()
    app.extensions[EXTENSION] = runtime
    app.after_request(_strict_transport)
    _configure_logging(app)
    _register(app)
    # The USSD steps answered in front of Flask's request machinery (gateway.web.lean).
    app.wsgi_app = LeanRoutes(app, lean_routes(app), strict_transport)  # type: ignore[method-assign]
    if settings.trusted_proxies:
        # Only as many hops as there are proxies of ours: a client's own
        # X-Forwarded-For entries beyond them are not believed.
        n = settings.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n, x_port=n)  # type: ignore[method-assign]
    return app


class RowIdConverter(IntegerConverter):
    """`<int:...>` in an address: a row id, so at most the largest INTEGER of the
    database; a longer number matches no route (404) instead of overflowing SQLite's
    or PostgreSQL's integers into a 500."""

    def __init__(self, url_map: Map, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", MAX_ROW_ID)
        super().__init__(url_map, *args, **kwargs)


def _strict_transport(response: Response) -> Response:
    strict_transport(response, request.is_secure)
    return response


def strict_transport(response: Response, secure: bool) -> None:
    """HSTS on every answer given over https (directly or through a trusted proxy)."""
    if secure:
        response.headers.setdefault("Strict-Transport-Security", HSTS)


def _configure_logging(app: Flask) -> None:
    from gateway.logging_filters import RedactingFilter, scrub_every_record

    scrub_every_record()
    for handler in logging.getLogger().handlers + app.logger.handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())


def _register(app: Flask) -> None:
    from gateway.cli import register_cli
    from gateway.web import register_web

    register_web(app)
    register_cli(app)
