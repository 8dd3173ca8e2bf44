"""Headers and CSRF for console responses (the webhooks have their own rules)."""

from __future__ import annotations

from flask import Flask, current_app, request
from flask_wtf.csrf import CSRFProtect
from werkzeug.wrappers import Response

CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "frame-ancestors 'none'; form-action 'self'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


def init_csrf(app: Flask) -> None:
    """CSRFProtect on the app, checking nothing by default: the console's
    before_request calls `protect_form()`, so the provider webhooks (authenticated
    by signature or token) stay untouched whatever the order of registration."""
    app.config["WTF_CSRF_CHECK_DEFAULT"] = False
    # Flask-WTF's strict mode wants a Referer on HTTPS, which Referrer-Policy
    # no-referrer withholds; the token plus SameSite=Lax cookies do the work.
    app.config["WTF_CSRF_SSL_STRICT"] = False
    if "csrf" not in app.extensions:
        CSRFProtect(app)


def protect_form() -> None:
    """Refuse (400) a console POST without a valid CSRF token."""
    if not current_app.config.get("WTF_CSRF_ENABLED", True):
        return
    csrf: CSRFProtect = current_app.extensions["csrf"]
    csrf.protect()


def add_headers(response: Response) -> Response:
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    if request.endpoint != "console.static":
        # Pages show operational data: keep them out of shared and browser caches.
        response.headers["Cache-Control"] = "no-store"
    return response
