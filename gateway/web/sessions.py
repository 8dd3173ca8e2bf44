"""The console's signed cookie session, and none for the machines that call us.

Flask opens the session of every request: it builds the cookie's signing serializer
from SECRET_KEY and looks for the cookie before the view runs. The provider webhooks
and the health check never use a session (a provider is authenticated by its token or
signature, never by a cookie), so they get Flask's null session, which reads as empty
and refuses writes, and no `Set-Cookie` is ever sent from them.
"""

from __future__ import annotations

from flask import Flask, Request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface

# Paths whose callers are machines, not console users.
SESSIONLESS = ("/webhooks/", "/healthz")


class ConsoleSessionInterface(SecureCookieSessionInterface):
    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if request.path.startswith(SESSIONLESS):
            return None  # Flask makes its null session
        return super().open_session(app, request)
