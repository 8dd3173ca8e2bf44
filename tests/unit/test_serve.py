"""The buffering front: a request reaches a thread only whole, and in time."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from gateway.serve import BufferedWsgi

Message = dict[str, Any]


def _scope(**changes: Any) -> dict[str, Any]:
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/webhooks/x",
        "query_string": b"a=1",
        "headers": [(b"content-type", b"text/plain"), (b"host", b"gw")],
        "server": ("127.0.0.1", 8000),
        "client": ("10.0.0.9", 5555),
        "scheme": "https",
        "http_version": "1.1",
    }
    scope.update(changes)
    return scope


def _run(app: BufferedWsgi, chunks: list[Message], delay: float = 0.0) -> list[Message]:
    sent: list[Message] = []

    async def receive() -> Message:
        if not chunks:
            await asyncio.sleep(3600)  # a client that stalls
        await asyncio.sleep(delay)
        return chunks.pop(0)

    async def send(message: Message) -> None:
        sent.append(message)

    # In a thread of its own: another test may have left this thread's loop running.
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, app(_scope(), receive, send)).result(timeout=10)
    return sent


class Recorder:
    def __init__(self) -> None:
        self.environ: dict[str, Any] | None = None

    def __call__(self, environ: dict[str, Any], start: Callable[..., Any]) -> Iterable[bytes]:
        self.environ = environ
        start("201 Created", [("Content-Type", "text/plain")])
        return [b"got ", environ["wsgi.input"].read()]


def test_the_app_sees_the_whole_body_at_once() -> None:
    app = Recorder()
    parts = [{"type": "http.request", "body": b"ab", "more_body": True}]
    parts.append({"type": "http.request", "body": b"cd", "more_body": False})
    sent = _run(BufferedWsgi(app, threads=1), parts)
    assert sent[0]["status"] == 201 and sent[1]["body"] == b"got abcd"
    environ = app.environ
    assert environ is not None
    assert (environ["PATH_INFO"], environ["QUERY_STRING"], environ["CONTENT_LENGTH"]) == (
        "/webhooks/x",
        "a=1",
        "4",
    )
    assert environ["wsgi.url_scheme"] == "https" and environ["REMOTE_ADDR"] == "10.0.0.9"
    assert environ["HTTP_HOST"] == "gw" and environ["CONTENT_TYPE"] == "text/plain"


def test_an_oversized_body_is_refused_before_any_thread() -> None:
    app = Recorder()
    parts = [{"type": "http.request", "body": b"x" * 11, "more_body": True}]
    sent = _run(BufferedWsgi(app, threads=1, max_body=10), parts)
    assert sent[0]["status"] == 413 and app.environ is None


def test_a_body_that_stalls_gets_408_without_reaching_the_app() -> None:
    app = Recorder()
    parts = [{"type": "http.request", "body": b"x", "more_body": True}]
    sent = _run(BufferedWsgi(app, threads=1, body_timeout=0.05), parts)
    assert sent[0]["status"] == 408 and app.environ is None
