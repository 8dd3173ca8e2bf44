"""The gateway under gunicorn's asyncio (ASGI) worker, with each request buffered
whole before a thread runs it.

gunicorn's thread worker gives a thread to a connection as soon as it is accepted
and the thread then waits on the body: eight clients sending their bodies a byte at
a time held every thread of the default two workers, and `/healthz` stopped
answering. Here the event loop reads the request (a slow one costs a coroutine and
its buffer, at most MAX_BODY_BYTES), and only a complete request is handed to the
thread pool that runs the Flask app. A body that does not arrive within
BODY_TIMEOUT gets 408; one over the limit 413, before any thread is used.

Production should still sit behind a buffering proxy (nginx buffers request bodies
by default, `proxy_request_buffering on`): see the README's deployment section.
"""

from __future__ import annotations

import asyncio
import io
import os
import sys
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from gateway.app import MAX_BODY_BYTES, create_app

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

BODY_TIMEOUT = 30.0  # seconds for the whole request body to arrive
DEFAULT_THREADS = 4


class BufferedWsgi:
    """An ASGI application running a WSGI one on whole, buffered requests."""

    def __init__(
        self,
        app: WsgiApp,
        *,
        threads: int = DEFAULT_THREADS,
        max_body: int = MAX_BODY_BYTES,
        body_timeout: float = BODY_TIMEOUT,
    ) -> None:
        self.app = app
        self.max_body = max_body
        self.body_timeout = body_timeout
        self.pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="wsgi")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return  # no websockets here
        body = await self._body(receive, send)
        if body is None:
            return
        environ = wsgi_environ(scope, body)
        loop = asyncio.get_running_loop()
        status, headers, chunks = await loop.run_in_executor(self.pool, run_wsgi, self.app, environ)
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": b"".join(chunks)})

    async def _body(self, receive: Receive, send: Send) -> bytes | None:
        """The whole body, or None once an error answer (408, 413) is sent or the
        client has gone."""
        body = bytearray()
        try:
            async with asyncio.timeout(self.body_timeout):
                while True:
                    message = await receive()
                    if message["type"] == "http.disconnect":
                        return None
                    body += message.get("body", b"")
                    if len(body) > self.max_body:
                        await _plain(send, 413, b"request body too large")
                        return None
                    if not message.get("more_body", False):
                        return bytes(body)
        except TimeoutError:
            await _plain(send, 408, b"request body not received in time")
            return None


async def _plain(send: Send, status: int, text: bytes) -> None:
    headers = [(b"content-type", b"text/plain"), (b"connection", b"close")]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": text})


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


def wsgi_environ(scope: Scope, body: bytes) -> dict[str, Any]:
    """PEP 3333's environ for an ASGI HTTP scope and its whole body."""
    server = scope.get("server") or ("localhost", 80)
    client = scope.get("client")
    environ: dict[str, Any] = {
        "REQUEST_METHOD": scope["method"],
        "SCRIPT_NAME": scope.get("root_path", "").encode("utf-8").decode("latin-1"),
        "PATH_INFO": scope["path"].encode("utf-8").decode("latin-1"),
        "QUERY_STRING": scope.get("query_string", b"").decode("latin-1"),
        "SERVER_NAME": str(server[0]),
        "SERVER_PORT": str(server[1] if server[1] is not None else 80),
        "SERVER_PROTOCOL": f"HTTP/{scope.get('http_version', '1.1')}",
        "REMOTE_ADDR": client[0] if client else "",
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scope.get("scheme", "http"),
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    for raw_name, raw_value in scope.get("headers", []):
        name, value = raw_name.decode("latin-1").lower(), raw_value.decode("latin-1")
        if name == "content-length":
            continue  # the body's real length, set above
        key = "CONTENT_TYPE" if name == "content-type" else f"HTTP_{name.upper()}"
        key = key.replace("-", "_")
        if key in environ:
            sep = "; " if key == "HTTP_COOKIE" else ","
            environ[key] = f"{environ[key]}{sep}{value}"
        else:
            environ[key] = value
    return environ


def run_wsgi(
    app: WsgiApp, environ: dict[str, Any]
) -> tuple[int, list[tuple[bytes, bytes]], list[bytes]]:
    """Call the WSGI app and collect its whole answer (ours are small)."""
    started: list[Any] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        started[:] = [status, headers]
        return lambda data: chunks.append(data)

    chunks: list[bytes] = []
    result = app(environ, start_response)
    try:
        chunks.extend(result)
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    status, headers = started
    encoded = [(n.lower().encode("latin-1"), v.encode("latin-1")) for n, v in headers]
    return int(status.split(" ", 1)[0]), encoded, chunks


def buffered_app() -> BufferedWsgi:
    """What gunicorn serves (gateway/gunicorn_conf.py): the gateway, buffered."""
    threads = int(os.environ.get("WEB_THREADS") or DEFAULT_THREADS)
    return BufferedWsgi(create_app(), threads=threads)
