"""The USSD steps served in front of Flask, without its request machinery.

A USSD step is the hottest request and its closed loop waits on every step's CPU:
Flask's request and app contexts, URL matching, hooks and response finalizing cost
about 75 us of a ~1.2 ms step (in process), against ~25 us for a bare Werkzeug
request and response (BENCHMARKS.md). So a POST of a small form to one of the
`routes` is answered here by the view's lean twin, which does what the blueprint
does for it (its token check, then the same view function on the parsed request).
Everything else (another path or method, another body, no Content-Length, a
larger body) goes to Flask unchanged, so Flask still answers its 405, 413 and 404.

What the skipped machinery would have done on these routes, and why it is not
needed (`tests/handlers/test_lean_routes.py` checks that these are all the hooks):
the null session (webhooks are sessionless), CSRFProtect's hook (checks nothing by
default), no request signals or teardown functions in the app. HSTS is added as
`gateway.app`'s after-request hook adds it, and an unexpected error is handed to
Flask's own `handle_exception` (logged, a 500; raised when testing).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from flask import Flask
from werkzeug.wrappers import Request, Response

from gateway.runtime import EXTENSION, Runtime

LeanView = Callable[[Runtime, Request], Response]
OnResponse = Callable[[Response, bool], None]
FORM = "application/x-www-form-urlencoded"


class LeanRoutes:
    """WSGI middleware around `app`'s own WSGI app (inside ProxyFix, if any)."""

    def __init__(self, app: Flask, routes: Mapping[str, LeanView], on_response: OnResponse) -> None:
        self.app = app
        self.flask_wsgi = app.wsgi_app
        self.routes = dict(routes)
        self.on_response = on_response  # what gateway.app's after-request hook does
        self.limit = int(app.config["MAX_CONTENT_LENGTH"])

        class Limited(Request):
            max_content_length = self.limit
            max_form_memory_size = int(app.config["MAX_FORM_MEMORY_SIZE"])

        self.request_class = Limited

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        view = self.routes.get(environ.get("PATH_INFO", ""))
        if view is None or not self._small_form(environ):
            return self.flask_wsgi(environ, start_response)
        request = self.request_class(environ)
        try:
            response = view(self.app.extensions[EXTENSION], request)
        except Exception as exc:  # Flask's own 500: logged with the request, hooks run
            with self.app.request_context(environ):
                return self.app.handle_exception(exc)(environ, start_response)
        self.on_response(response, request.is_secure)
        return response(environ, start_response)

    def _small_form(self, environ: Mapping[str, Any]) -> bool:
        if environ.get("REQUEST_METHOD") != "POST":
            return False
        if not str(environ.get("CONTENT_TYPE", "")).startswith(FORM):
            return False
        length = str(environ.get("CONTENT_LENGTH", ""))
        return length.isdigit() and int(length) <= self.limit
