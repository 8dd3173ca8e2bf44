"""The Kannel sender against faked smsbox answers: the sendsms parameters (coding,
charset, route, DLR callback), and what each answer becomes."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses

from gateway.config import load_settings
from gateway.ports import SendResult
from handlers.kannel.sender import KannelSender, answer_result
from handlers.registry import build_sender

URL = "http://127.0.0.1:13013/cgi-bin/sendsms"
NUMBER = "+22376123456"
PASSWORD = "sendsms-password-0123"
TOKEN = "kannel-token-abcdef"


@pytest.fixture
def smsbox() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock() as mock:
        yield mock


def sender(**kw: str) -> KannelSender:
    return KannelSender(
        URL,
        "gateway",
        PASSWORD,
        from_="36000",
        dlr_base="https://gw.example.org",
        webhook_token=TOKEN,
        **kw,
    )


def sent_params(mock: responses.RequestsMock) -> dict[str, str]:
    query = parse_qs(urlsplit(str(mock.calls[0].request.url)).query)
    return {k: v[0] for k, v in query.items()}


def test_gsm_text_goes_as_coding_0_with_a_dlr_url_carrying_our_id(
    smsbox: responses.RequestsMock,
) -> None:
    smsbox.get(URL, body="0: Accepted for delivery", status=202)
    result = sender().send(NUMBER, "Alerte A12: tirs signales")
    assert result.outcome == "accepted" and result.provider_message_id
    params = sent_params(smsbox)
    assert params["to"] == NUMBER and params["from"] == "36000"
    assert (params["coding"], params["charset"]) == ("0", "utf-8")
    assert params["text"] == "Alerte A12: tirs signales"
    assert params["dlr-mask"] == "23"  # all but the submit acknowledgement
    dlr = urlsplit(params["dlr-url"])
    assert dlr.path == "/webhooks/kannel/status"
    dlr_query = parse_qs(dlr.query)
    assert dlr_query["id"] == [result.provider_message_id]
    assert dlr_query["token"] == [TOKEN] and dlr_query["channel"] == ["kannel"]
    assert "status=%d" in params["dlr-url"] and "smsc_reply=%A" in params["dlr-url"]
    assert smsbox.calls[0].request.req_kwargs["timeout"] is not None  # type: ignore[attr-defined]


def test_text_outside_gsm_goes_as_ucs2(smsbox: responses.RequestsMock) -> None:
    smsbox.get(URL, body="0: Accepted for delivery", status=202)
    sender().send(NUMBER, "Ɛ bɛ ɲɔgɔn dɛmɛ")
    params = sent_params(smsbox)
    assert (params["coding"], params["text"]) == ("2", "Ɛ bɛ ɲɔgɔn dɛmɛ")


def test_a_named_channel_routes_to_its_smsc(smsbox: responses.RequestsMock) -> None:
    smsbox.get(URL, body="0: Accepted for delivery", status=202)
    settings = replace(
        load_settings({"SMS_PROVIDER": "console"}, instance_path="/tmp/kannel-sender-test"),
        kannel_send_url=URL,
        kannel_username="gateway",
        kannel_password=PASSWORD,
        public_base_url="https://gw.example.org",
        kannel_dlr_base_url="http://127.0.0.1:8000",
    )
    channel = build_sender("kannel-orange", settings)
    assert channel.name == "kannel-orange"
    channel.send(NUMBER, "ok")
    params = sent_params(smsbox)
    assert params["smsc"] == "orange"
    assert params["dlr-url"].startswith("http://127.0.0.1:8000/webhooks/kannel/status?")
    assert parse_qs(urlsplit(params["dlr-url"]).query)["channel"] == ["kannel-orange"]


def test_ids_differ_per_message(smsbox: responses.RequestsMock) -> None:
    smsbox.get(URL, body="0: Accepted for delivery", status=202)
    smsbox.get(URL, body="0: Accepted for delivery", status=202)
    first, second = sender().send(NUMBER, "a"), sender().send(NUMBER, "b")
    assert first.provider_message_id != second.provider_message_id


@pytest.mark.parametrize(
    ("label", "status", "body", "outcome"),
    [
        ("accepted", 202, "0: Accepted for delivery", "accepted"),
        ("accepted, old smsbox", 200, "0: Accepted for delivery", "accepted"),
        ("queued: no SMSC bound now", 202, "3: Queued for later delivery", "accepted"),
        ("not routable", 403, "Not routable. Do not try again.", "permanent"),
        ("bad login: our account", 403, "Authorization failed for sendsms", "retryable"),
        ("missing receiver", 400, "Missing receiver number, rejected", "permanent"),
        ("bearerbox down", 503, "Temporal failure, try again later.", "retryable"),
        ("server error", 500, "oops", "retryable"),
        ("odd 202", 202, "Something else", "retryable"),
    ],
)
def test_smsbox_answer(
    smsbox: responses.RequestsMock, label: str, status: int, body: str, outcome: str
) -> None:
    smsbox.get(URL, body=body, status=status)
    result = sender().send(NUMBER, "x")
    assert result.outcome == outcome, label
    assert PASSWORD not in str(result.error) and TOKEN not in str(result.error)


def test_refused_connection_and_timeout_are_retryable(smsbox: responses.RequestsMock) -> None:
    smsbox.get(URL, body=requests.ConnectionError("refused"))
    smsbox.get(URL, body=requests.ReadTimeout("slow"))
    assert sender().send(NUMBER, "x").outcome == "retryable"
    assert sender().send(NUMBER, "x") == SendResult.retryable("timeout")


def test_an_answer_quoting_the_number_keeps_it_out_of_the_error() -> None:
    result = answer_result(400, f"Number {NUMBER} is not allowed", "id")
    assert NUMBER not in str(result.error)
