"""The USSD steps served in front of Flask (gateway.web.lean) answer exactly as Flask
answers them: status, headers and body, for every outcome of a step."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask, request_started
from werkzeug.test import Client

from gateway.web.lean import LeanRoutes
from tests.handlers.payloads import PHONE, at_ussd

AT = "/webhooks/africastalking/ussd"
OPERATOR = "/webhooks/ussd"


def lean_of(app: Flask) -> LeanRoutes:
    wsgi: Any = app.wsgi_app
    while not isinstance(wsgi, LeanRoutes):
        wsgi = wsgi.app  # ProxyFix
    return wsgi


@contextlib.contextmanager
def flask_only(app: Flask) -> Iterator[None]:
    lean = lean_of(app)
    routes, lean.routes = lean.routes, {}
    try:
        yield
    finally:
        lean.routes = routes


def both(app: Flask, path: str, **kwargs: Any) -> tuple[Any, Any]:
    """The same request answered lean, then by Flask alone: (status, headers, body)."""
    answers = []
    for context in (contextlib.nullcontext(), flask_only(app)):
        with context:
            response = Client(app).open(path, **kwargs)
            answers.append((response.status, sorted(response.headers.items()), response.data))
    return answers[0], answers[1]


CASES: list[tuple[str, dict[str, Any], str, dict[str, Any], str]] = [
    ("first screen", {}, AT, {"data": at_ussd(text="")}, "200"),
    ("a step down the menu", {}, AT, {"data": at_ussd(text="1*1")}, "200"),
    ("a missing field", {}, AT, {"data": {"sessionId": "s", "phoneNumber": PHONE}}, "400"),
    ("a NUL byte", {}, AT, {"data": at_ussd(text="1\x00")}, "400"),
    ("a refused phone number", {}, AT, {"data": at_ussd(phoneNumber="+33612345678")}, "400"),
    ("no token", {"AT_WEBHOOK_TOKEN": "t0k"}, AT, {"data": at_ussd()}, "403"),
    (
        "the token",
        {"AT_WEBHOOK_TOKEN": "t0k"},
        AT,
        {"data": at_ussd(), "query_string": {"token": "t0k"}},
        "200",
    ),
    ("over https", {}, AT, {"data": at_ussd(), "base_url": "https://gw.example"}, "200"),
    (
        "https through a trusted proxy",
        {"TRUSTED_PROXIES": "1"},
        AT,
        {"data": at_ussd(), "headers": {"X-Forwarded-Proto": "https"}},
        "200",
    ),
    ("a GET (Flask's 405)", {}, AT, {"method": "GET"}, "405"),
    ("JSON (Flask answers)", {}, AT, {"json": at_ussd()}, "400"),
    (
        "the operator's freeflow",
        {"USSD_PRESET": "freeflow", "USSD_INPUT": "path"},
        OPERATOR,
        {"data": {"sessionId": "o1", "msisdn": PHONE, "ussdString": "1"}},
        "200",
    ),
    (  # the second of the two is a resend: the same screen
        "the operator's latest input with its step",
        {"USSD_PRESET": "freeflow", "USSD_FIELDS": "step=seq"},
        OPERATOR,
        {"data": {"sessionId": "o2", "msisdn": PHONE, "ussdString": "1", "seq": "3"}},
        "200",
    ),
    (
        "the operator's fields in the query win",
        {},
        OPERATOR,
        {"data": at_ussd(text="1"), "query_string": {"text": ""}},
        "200",
    ),
    ("the operator's token", {"USSD_WEBHOOK_TOKEN": "k"}, OPERATOR, {"data": at_ussd()}, "403"),
]


@pytest.mark.parametrize(
    ("label", "overrides", "path", "request_kwargs", "status"),
    CASES,
    ids=[case[0] for case in CASES],
)
def test_a_lean_step_answers_as_flask_does(
    make_app: Callable[..., Flask],
    label: str,
    overrides: dict[str, Any],
    path: str,
    request_kwargs: dict[str, Any],
    status: str,
) -> None:
    app = make_app(**overrides)
    lean, flask = both(app, path, **{"method": "POST", **request_kwargs})
    assert lean == flask
    assert lean[0].startswith(status)
    if "https" in label:
        assert ("Strict-Transport-Security", "max-age=31536000; includeSubDomains") in lean[1]


def test_a_step_is_answered_without_flasks_request_machinery(app: Flask) -> None:
    started: list[object] = []

    def seen(sender: object, **extra: object) -> None:
        started.append(sender)

    with request_started.connected_to(seen, app):
        Client(app).post(AT, data=at_ussd())
        assert started == []
        Client(app).post("/webhooks/africastalking/ussd/events", data={"sessionId": "s"})
        assert started == [app]


def test_an_unexpected_error_is_flasks_500_and_logged(
    make_app: Callable[..., Flask], monkeypatch: pytest.MonkeyPatch, caplog: Any
) -> None:
    from gateway.services.intake import ussd

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(ussd, "answer_ussd", broken)
    app = make_app(TESTING=False)
    with caplog.at_level(logging.ERROR):
        lean, flask = both(app, AT, method="POST", data=at_ussd())
    assert lean == flask and lean[0].startswith("500")
    logged = [r for r in caplog.records if r.getMessage() == f"Exception on {AT} [POST]"]
    assert len(logged) == 2


def test_the_hooks_a_lean_step_skips_are_the_ones_it_does_not_need(app: Flask) -> None:
    """Adding a hook to the app or to these blueprints must revisit gateway.web.lean."""

    def names(funcs: Any) -> dict[Any, list[str]]:
        return {key: [f.__name__ for f in fs] for key, fs in funcs.items()}

    before, after = names(app.before_request_funcs), names(app.after_request_funcs)
    assert before[None] == ["csrf_protect"] and not app.config["WTF_CSRF_CHECK_DEFAULT"]
    assert before["africastalking"] == before["ussd_gateway"] == ["check_token"]
    assert after[None] == ["_strict_transport"]
    assert "africastalking" not in after and "ussd_gateway" not in after
    assert not app.teardown_request_funcs and not app.url_value_preprocessors
    assert sorted(lean_of(app).routes) == [AT, OPERATOR]


LIMIT = 64 * 1024  # gateway.app.MAX_BODY_BYTES
URLENCODED = "application/x-www-form-urlencoded"

# (label, body, content type, query): the lean form is parsed with parse_qsl, and must
# read every body as Flask's request.form (and every query as request.args) reads it.
FORMS: list[tuple[str, bytes, str, str]] = [
    ("plain fields", b"sessionId=s1&phoneNumber=%2B22376000000&text=1*2", URLENCODED, ""),
    ("percent-escapes", b"text=%C3%A9t%C3%A9%20ici%2A1&x=%41%42", URLENCODED, ""),
    ("'+' is a space, an escaped one is not", b"text=a+b%2Bc+", URLENCODED, ""),
    ("repeated keys: the first wins", b"text=1&text=2&text=", URLENCODED, "text=q&text=r"),
    ("empty values and bare names", b"text=&sessionId&=v&&phoneNumber=", URLENCODED, "a=&b"),
    ("escaped bad UTF-8 stays escaped", b"text=%FF%FE1&s=%C3", URLENCODED, "t=%E9"),
    ("a body that is not UTF-8", b"text=\xff\xfe&sessionId=s", URLENCODED, ""),
    ("raw UTF-8", "text=été&s=ß".encode(), URLENCODED, "q=%C3%A9"),
    ("a charset parameter", b"text=1", URLENCODED + "; charset=utf-8", ""),
    ("semicolons are not separators", b"text=1;sessionId=s", URLENCODED, ""),
    ("an empty body", b"", URLENCODED, "text=1"),
    ("a body at the size limit", b"text=" + b"1" * (LIMIT - 5), URLENCODED, ""),
    ("a body over the size limit", b"text=" + b"1" * (LIMIT - 4), URLENCODED, ""),
    ("a wrong content type", b"text=1", "text/plain", ""),
    ("a look-alike content type", b"text=1", URLENCODED + "x", ""),
    ("multipart", b"--b\r\n\r\n--b--\r\n", "multipart/form-data; boundary=b", ""),
]


@pytest.mark.parametrize(
    ("label", "body", "content_type", "query"), FORMS, ids=[f[0] for f in FORMS]
)
def test_a_lean_form_reads_as_flasks_request_form(
    app: Flask, label: str, body: bytes, content_type: str, query: str
) -> None:
    from flask import request
    from werkzeug.exceptions import RequestEntityTooLarge

    from gateway.web.lean import lean_request

    kwargs = {"method": "POST", "data": body, "content_type": content_type}
    with app.test_request_context(AT, query_string=query, **kwargs):
        try:
            flask_form: dict[str, str] | None = request.form.to_dict()
            flask_values = request.values.to_dict()
        except RequestEntityTooLarge:
            flask_form = flask_values = None
        flask_args = request.args.to_dict()
    with app.test_request_context(AT, query_string=query, **kwargs):
        length = lean_of(app)._small_form(request.environ)
        if length is None:  # Flask serves it: its 413, or its form (empty: not a form)
            assert flask_form is None or flask_form == {} or content_type.startswith("multi")
            return
        lean = lean_request(request.environ, length)
    assert lean is not None
    assert (lean.form, lean.args, dict(lean.values)) == (flask_form, flask_args, flask_values)


def test_a_body_short_of_its_length_is_a_400(app: Flask) -> None:
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": AT,
        "CONTENT_TYPE": URLENCODED,
        "CONTENT_LENGTH": "100",
    }
    response = Client(app).open(AT, environ_overrides=environ, data=b"text=1")
    assert response.status_code == 400 and b"Bad Request" in response.data
