"""The configurable USSD adapter at /webhooks/ussd: Africa's Talking's preset, the
Freeflow preset, field names from settings; the menu behind it is the same."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask

from gateway.config import ConfigError, load_settings
from tests.handlers.payloads import PHONE

URL = "/webhooks/ussd"


@pytest.mark.parametrize(
    ("label", "overrides", "form", "status", "body", "freeflow"),
    [
        (
            "africastalking preset, first screen",
            {},
            {"sessionId": "s1", "phoneNumber": PHONE, "text": ""},
            200,
            "CON ",
            None,
        ),
        (
            "freeflow preset continues with FC",
            {"USSD_PRESET": "freeflow"},
            {"sessionId": "s2", "msisdn": PHONE, "ussdString": ""},
            200,
            "",
            "FC",
        ),
        (
            "freeflow preset breaks with FB",
            {"USSD_PRESET": "freeflow", "USSD_INPUT": "path"},
            {"sessionId": "s3", "msisdn": PHONE, "ussdString": "1*0"},
            200,
            "",
            "FB",
        ),
        (
            "field names from settings",
            {"USSD_FIELDS": "session=SESSIONID,phone=MSISDN,text=INPUT"},
            {"SESSIONID": "s4", "MSISDN": PHONE, "INPUT": ""},
            200,
            "CON ",
            None,
        ),
        (
            "a missing field is named as configured",
            {"USSD_PRESET": "freeflow"},
            {"sessionId": "s5", "msisdn": PHONE},
            400,
            "missing field: ussdString",
            None,
        ),
        (
            "a bad number",
            {},
            {"sessionId": "s6", "phoneNumber": "+1", "text": ""},
            400,
            "bad phone number",
            None,
        ),
    ],
)
def test_ussd_gateway(
    make_app: Callable[..., Flask],
    label: str,
    overrides: dict[str, str],
    form: dict[str, str],
    status: int,
    body: str,
    freeflow: str | None,
) -> None:
    client = make_app(**overrides).test_client()
    for response in (client.post(URL, data=form), client.get(URL, query_string=form)):
        assert response.status_code == status, label
        text = response.get_data(as_text=True)
        assert text.startswith(body) or body in text, label
        assert response.headers.get("Freeflow") == freeflow, label
        if freeflow:
            assert not text.startswith(("CON ", "END ")), label


def test_the_same_menu_answers_both_conventions(make_app: Callable[..., Flask]) -> None:
    at = (
        make_app()
        .test_client()
        .post(URL, data={"sessionId": "a", "phoneNumber": PHONE, "text": ""})
    )
    ff = (
        make_app(USSD_PRESET="freeflow")
        .test_client()
        .post(URL, data={"sessionId": "b", "msisdn": PHONE, "ussdString": ""})
    )
    assert at.get_data(as_text=True) == "CON " + ff.get_data(as_text=True)


def test_a_token_is_required_when_configured(make_app: Callable[..., Flask]) -> None:
    client = make_app(USSD_WEBHOOK_TOKEN="ussd-token-123").test_client()
    form = {"sessionId": "t", "phoneNumber": PHONE, "text": ""}
    assert client.post(URL, data=form).status_code == 403
    assert client.post(URL + "?token=nope", data=form).status_code == 403
    assert client.post(URL + "?token=ussd-token-123", data=form).status_code == 200


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"USSD_PRESET": "huawei"}, "USSD_PRESET"),
        ({"USSD_FIELDS": "who=MSISDN"}, "USSD_FIELDS"),
        ({"USSD_FIELDS": "phone="}, "USSD_FIELDS"),
        ({"USSD_ANSWER": "xml"}, "USSD_ANSWER"),
        ({"USSD_INPUT": "last"}, "USSD_INPUT"),
        ({"USSD_FIELDS": "step=1seq"}, "USSD_FIELDS"),
    ],
)
def test_bad_ussd_settings_stop_start_up(tmp_path: Path, env: dict[str, str], named: str) -> None:
    with pytest.raises(ConfigError, match=named):
        load_settings(env, instance_path=str(tmp_path))


@pytest.mark.parametrize(
    ("env", "input_kind", "step_field"),
    [
        ({}, "path", None),
        ({"USSD_PRESET": "freeflow"}, "latest", None),
        ({"USSD_PRESET": "freeflow", "USSD_INPUT": "path"}, "path", None),
        ({"USSD_INPUT": "latest", "USSD_FIELDS": "step=SEQ"}, "latest", "SEQ"),
    ],
)
def test_what_the_input_holds_comes_from_the_preset_or_ussd_input(
    tmp_path: Path, env: dict[str, str], input_kind: str, step_field: str | None
) -> None:
    settings = load_settings(env, instance_path=str(tmp_path))
    assert (settings.ussd_input, settings.ussd_step_field) == (input_kind, step_field)
