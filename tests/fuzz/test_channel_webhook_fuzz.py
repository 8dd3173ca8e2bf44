"""Bounded fuzzing of the Kannel, Android and USSD-gateway webhooks (see
test_webhook_fuzz.py for the rules): never a 500, a USSD answer is always a screen,
nothing stored half."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import quote_from_bytes

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import event, given
from hypothesis import strategies as st

from gateway.domain.gsm7 import is_gsm7
from gateway.runtime import Runtime
from handlers.android.signature import sign
from tests.fuzz.test_webhook_fuzz import FUZZ, MOBILE, _ids, phones, unhandled, values
from tests.handlers.payloads import ANDROID_KEY, KANNEL_DLR, KANNEL_MO, android_event

pytestmark = pytest.mark.slow

KANNEL_FIELDS = ["sender", "message", "id", "coding", "charset", "backend", "to", "ts"]
ALLOWED = {200, 400, 404, 405, 413}


def call(client: FlaskClient, method: str, path: str, **kw: Any) -> Any:
    try:
        return client.open(path, method=method, **kw)
    except Exception as exc:  # TESTING propagates what would have been a 500
        raise AssertionError(f"500: {path} raised {exc!r}") from exc


@pytest.fixture
def fuzz_app(make_app: Callable[..., Flask]) -> tuple[FlaskClient, Runtime]:
    app = make_app(ANDROID_SIGNING_KEY=ANDROID_KEY, USSD_PRESET="freeflow", USSD_INPUT="path")
    return app.test_client(), app.extensions["gateway"]


@st.composite
def kannel_queries(draw: st.DrawFn, base: str) -> str:
    """A captured Kannel query with fields dropped or replaced by arbitrary bytes."""
    fields = dict(p.split("=", 1) for p in base.split("&"))
    for name in KANNEL_FIELDS:
        choice = draw(st.sampled_from(["keep", "keep", "bytes", "text", "drop"]))
        if choice == "bytes":
            fields[name] = quote_from_bytes(draw(st.binary(max_size=200)))
        elif choice == "text":
            value = draw(phones() if name == "sender" else values())
            fields[name] = quote_from_bytes(value.encode("utf-8", "surrogatepass"))
        elif choice == "drop":
            fields.pop(name, None)
        elif name == "sender":
            fields[name] = quote_from_bytes(draw(MOBILE).encode())
    if "id" in fields:
        fields["id"] = f"fzk{next(_ids)}-{fields['id']}"
    return "&".join(f"{k}={v}" for k, v in fields.items())


@pytest.mark.timeout(180)
@FUZZ
@given(query=kannel_queries(KANNEL_MO), method=st.sampled_from(["GET", "POST"]))
def test_kannel_mo_never_500s_and_stores_nothing_half(
    fuzz_app: tuple[FlaskClient, Runtime], query: str, method: str
) -> None:
    client, rt = fuzz_app
    if method == "GET":
        response = call(client, "GET", f"/webhooks/kannel/sms?{query}")
    else:
        response = call(
            client,
            "POST",
            "/webhooks/kannel/sms",
            data=query.encode("latin-1", "replace"),
            content_type="application/x-www-form-urlencoded",
        )
    event(f"status {response.status_code}")
    assert response.status_code in ALLOWED, response.get_data(as_text=True)
    assert unhandled(rt) == 0


@pytest.mark.timeout(180)
@FUZZ
@given(query=kannel_queries(KANNEL_DLR))
def test_kannel_dlr_never_500s(fuzz_app: tuple[FlaskClient, Runtime], query: str) -> None:
    client, _ = fuzz_app
    response = call(client, "GET", f"/webhooks/kannel/status?{query}")
    assert response.status_code in ALLOWED, response.get_data(as_text=True)


def json_values() -> st.SearchStrategy[Any]:
    return st.recursive(
        st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), values()),
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner),
        max_leaves=8,
    )


@st.composite
def android_bodies(draw: st.DrawFn) -> bytes:
    event_name = draw(
        st.sampled_from(
            ["sms:received", "sms:sent", "sms:delivered", "sms:failed", "system:ping", "x"]
        )
    )
    body: dict[str, Any] = android_event(event_name)
    body["id"] = f"fza{next(_ids)}"
    payload = dict(body["payload"])
    for name in ("message", "phoneNumber", "messageId", "reason"):
        choice = draw(st.sampled_from(["keep", "keep", "value", "drop"]))
        if choice == "value":
            payload[name] = draw(st.one_of(phones(), json_values()))
        elif choice == "drop":
            payload.pop(name, None)
    body["payload"] = payload
    for name in ("event", "id", "payload"):
        if draw(st.integers(0, 9)) == 0:
            body[name] = draw(json_values())
    if draw(st.integers(0, 9)) == 0:
        return draw(st.binary(max_size=500))
    return json.dumps(body).encode()


@pytest.mark.timeout(180)
@FUZZ
@given(raw=android_bodies(), signed=st.integers(0, 4))
def test_android_events_never_500_and_store_nothing_half(
    fuzz_app: tuple[FlaskClient, Runtime], raw: bytes, signed: int
) -> None:
    client, rt = fuzz_app
    stamp = str(int(rt.now().timestamp()))
    headers = {"X-Timestamp": stamp, "X-Signature": sign(ANDROID_KEY, raw, stamp)}
    if signed == 0:
        headers["X-Signature"] = "f" * 64
    response = call(
        client,
        "POST",
        "/webhooks/android/events",
        data=raw,
        headers=headers,
        content_type="application/json",
    )
    event(f"status {response.status_code}")
    expected = {403} if signed == 0 else ALLOWED
    assert response.status_code in expected, response.get_data(as_text=True)
    assert unhandled(rt) == 0


@pytest.mark.timeout(180)
@FUZZ
@given(session=values(), phone=phones(), path=values())
def test_the_freeflow_ussd_gateway_always_answers_a_screen(
    fuzz_app: tuple[FlaskClient, Runtime], session: str, phone: str, path: str
) -> None:
    client, _ = fuzz_app
    form = {"sessionId": f"fzu{next(_ids)}{session}", "msisdn": phone, "ussdString": path}
    response = call(client, "POST", "/webhooks/ussd", data=form)
    assert response.status_code in {200, 400, 413}, response.get_data(as_text=True)
    if response.status_code == 200:
        text = response.get_data(as_text=True)
        assert response.headers["Freeflow"] in ("FC", "FB")
        assert len(text) <= 160 and is_gsm7(text), text


@pytest.fixture
def latest_app(make_app: Callable[..., Flask]) -> FlaskClient:
    return make_app(USSD_PRESET="freeflow", USSD_FIELDS="step=seq").test_client()


@pytest.mark.timeout(180)
@FUZZ
@given(
    session=values(),
    phone=st.sampled_from(["+22376123456", "+22365432109"]),
    inputs=st.lists(st.tuples(values(), st.one_of(st.none(), values())), max_size=4),
)
def test_the_latest_input_ussd_gateway_always_answers_a_screen(
    latest_app: FlaskClient, session: str, phone: str, inputs: list[tuple[str, str | None]]
) -> None:
    """A session's dial, then arbitrary answers with arbitrary sequence values (or none)."""
    sid = f"fzl{next(_ids)}{session}"
    for latest, seq in [("*123#", None), *inputs]:
        form = {"sessionId": sid, "msisdn": phone, "ussdString": latest}
        if seq is not None:
            form["seq"] = seq
        response = call(latest_app, "POST", "/webhooks/ussd", data=form)
        assert response.status_code in {200, 400, 413}, response.get_data(as_text=True)
        if response.status_code == 200:
            text = response.get_data(as_text=True)
            assert response.headers["Freeflow"] in ("FC", "FB")
            assert len(text) <= 160 and is_gsm7(text), text
