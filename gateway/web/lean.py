"""The USSD steps served in front of Flask, without its request machinery.

A USSD step is the hottest request and its closed loop waits on every step's CPU:
Flask's request and app contexts, URL matching, hooks and response finalizing cost
about 75 us of a ~1.2 ms step (in process), against ~25 us for a bare Werkzeug
request and response (BENCHMARKS.md). So a POST of a small form to one of the
`routes` is answered here by the view's lean twin, which does what the blueprint
does for it (its token check, then the same view function on the parsed request).
Everything else (another path or method, another body, no Content-Length, a
larger body) goes to Flask unchanged, so Flask still answers its 405, 413 and 404.
The form and the query are parsed as Werkzeug parses them (`urllib.parse.parse_qsl`,
blank values kept, bad UTF-8 left percent-escaped, a body that is not UTF-8 an empty
form, the first of repeated fields), without its form machinery: a Werkzeug request
and its form parser cost about 116 k of a step's 2.36 M instructions (callgrind).

What the skipped machinery would have done on these routes, and why it is not
needed (`tests/handlers/test_lean_routes.py` checks that these are all the hooks):
the null session (webhooks are sessionless), CSRFProtect's hook (checks nothing by
default), no request signals or teardown functions in the app. HSTS is added as
`gateway.app`'s after-request hook adds it, and an unexpected error is handed to
Flask's own `handle_exception` (logged, a 500; raised when testing).
"""

from __future__ import annotations

from collections import ChainMap
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

import werkzeug.urls  # noqa: F401  (registers the "werkzeug.url_quote" codec error handler)
from flask import Flask
from werkzeug.exceptions import ClientDisconnected
from werkzeug.wrappers import Response

from gateway.runtime import EXTENSION, Runtime

FORM = "application/x-www-form-urlencoded"


@dataclass(frozen=True)
class LeanRequest:
    """What a lean view reads of its request: the query's fields, the form's, and
    whether it came over HTTPS (after ProxyFix, if any)."""

    args: dict[str, str]
    form: dict[str, str]
    is_secure: bool

    @property
    def values(self) -> Mapping[str, str]:
        """The query's fields, then the form's (as Werkzeug's `request.values`)."""
        return ChainMap(self.args, self.form)


LeanView = Callable[[Runtime, LeanRequest], Response]
OnResponse = Callable[[Response, bool], None]


def fields(encoded: str) -> dict[str, str]:
    """URL-encoded fields as Werkzeug's MultiDict answers `get` and `[]`: the first
    value of a repeated name, blank values kept, undecodable escapes left as they are."""
    found: dict[str, str] = {}
    for name, value in parse_qsl(encoded, keep_blank_values=True, errors="werkzeug.url_quote"):
        found.setdefault(name, value)
    return found


def lean_request(environ: Mapping[str, Any], length: int) -> LeanRequest | None:
    """The request of a small form of `length` bytes, or None when its body is short
    of its Content-Length (the client went away)."""
    body = environ["wsgi.input"].read(length) if length else b""
    if len(body) < length:
        return None
    try:
        form = fields(body.decode())
    except UnicodeDecodeError:  # Werkzeug's parser then gives an empty form, silently
        form = {}
    # WSGI gives the query as latin-1 of its bytes; Werkzeug decodes them as UTF-8.
    query = str(environ.get("QUERY_STRING", "")).encode("latin-1").decode()
    return LeanRequest(fields(query), form, is_secure(environ))


def is_secure(environ: Mapping[str, Any]) -> bool:
    return environ.get("wsgi.url_scheme") in ("https", "wss")


class LeanRoutes:
    """WSGI middleware around `app`'s own WSGI app (inside ProxyFix, if any)."""

    def __init__(self, app: Flask, routes: Mapping[str, LeanView], on_response: OnResponse) -> None:
        self.app = app
        self.flask_wsgi = app.wsgi_app
        self.routes = dict(routes)
        self.on_response = on_response  # what gateway.app's after-request hook does
        self.limit = int(app.config["MAX_CONTENT_LENGTH"])  # a larger body: Flask's 413

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        view = self.routes.get(environ.get("PATH_INFO", ""))
        length = self._small_form(environ) if view is not None else None
        if view is None or length is None:
            return self.flask_wsgi(environ, start_response)
        try:
            request = lean_request(environ, length)
            if request is None:  # a body short of its length: Werkzeug's 400
                response = ClientDisconnected().get_response(environ)
            else:
                response = view(self.app.extensions[EXTENSION], request)
        except Exception as exc:  # Flask's own 500: logged with the request, hooks run
            with self.app.request_context(environ):
                return self.app.handle_exception(exc)(environ, start_response)
        self.on_response(response, is_secure(environ))
        return response(environ, start_response)

    def _small_form(self, environ: Mapping[str, Any]) -> int | None:
        """The body's length when the request is a POST of a small form, else None."""
        if environ.get("REQUEST_METHOD") != "POST":
            return None
        mimetype = str(environ.get("CONTENT_TYPE", "")).partition(";")[0].strip()
        if mimetype != FORM:  # others (a JSON body, a multipart form) go to Flask
            return None
        length = str(environ.get("CONTENT_LENGTH", ""))
        return int(length) if length.isdigit() and int(length) <= self.limit else None
