"""Africa's Talking and Twilio senders against faked HTTP: what each provider answer
becomes (accepted, retryable, permanent), and what never leaks into errors or logs."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs

import pytest
import requests
import responses
from twilio.http import HttpClient
from twilio.http.response import Response

from gateway.ports import SendResult
from handlers.africastalking.sender import AfricasTalkingSender
from handlers.registry import build_sender
from handlers.twilio.sender import TwilioSender

NUMBER = "+22376123456"
AT_KEY = "atsk_secret_api_key_0123456789"
AT_URL = "https://api.africastalking.com/version1/messaging"
AT_SANDBOX_URL = "https://api.sandbox.africastalking.com/version1/messaging"


def at_answer(status_code: int, status: str, message_id: str = "None") -> dict[str, Any]:
    return {
        "SMSMessageData": {
            "Message": "Sent to 1/1 Total Cost: XOF 20",
            "Recipients": [
                {
                    "statusCode": status_code,
                    "number": NUMBER,
                    "status": status,
                    "cost": "XOF 20",
                    "messageId": message_id,
                }
            ],
        }
    }


@pytest.fixture
def at_http() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock() as mock:
        yield mock


def at_sender() -> AfricasTalkingSender:
    return AfricasTalkingSender("gateway", AT_KEY, sender_id="CCS-ALERTE")


def test_at_accepted_send_posts_the_message_with_key_sender_id_and_timeout(
    at_http: responses.RequestsMock,
) -> None:
    at_http.post(AT_URL, json=at_answer(101, "Success", "ATXid_1"), status=201)
    result = at_sender().send(NUMBER, "Alerte A12: tirs signales")
    assert result == SendResult.accepted("ATXid_1")
    request = at_http.calls[0].request
    assert request.headers["apiKey"] == AT_KEY
    form = parse_qs(str(request.body))
    assert form["to"] == [NUMBER]
    assert form["from"] == ["CCS-ALERTE"]
    assert form["message"] == ["Alerte A12: tirs signales"]
    assert request.req_kwargs["timeout"] is not None  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("label", "code", "status", "outcome"),
    [
        ("processed", 100, "Processed", "accepted"),
        ("queued", 102, "Queued", "accepted"),
        ("risk hold", 401, "RiskHold", "retryable"),
        ("invalid sender id", 402, "InvalidSenderId", "retryable"),
        ("invalid number", 403, "InvalidPhoneNumber", "permanent"),
        ("unsupported number type", 404, "UnsupportedNumberType", "permanent"),
        ("insufficient balance", 405, "InsufficientBalance", "retryable"),
        ("blacklisted", 406, "UserInBlacklist", "permanent"),
        ("could not route", 407, "CouldNotRoute", "permanent"),
        ("dnd or duplicate", 409, "DoNotDisturbRejection", "permanent"),
        ("internal error", 500, "InternalServerError", "retryable"),
        ("gateway error", 501, "GatewayError", "retryable"),
        ("rejected by gateway", 502, "RejectedByGateway", "retryable"),
        ("unknown code", 499, "Could Not Send", "retryable"),
    ],
)
def test_at_recipient_status_codes(
    at_http: responses.RequestsMock, label: str, code: int, status: str, outcome: str
) -> None:
    message_id = "ATXid_2" if outcome == "accepted" else "None"
    at_http.post(AT_URL, json=at_answer(code, status, message_id), status=201)
    result = at_sender().send(NUMBER, "x")
    assert result.outcome == outcome, label
    assert result.provider_message_id == (message_id if outcome == "accepted" else None)
    if outcome != "accepted":
        assert str(code) in (result.error or "")


def test_at_answer_with_charset_content_type_is_still_read(
    at_http: responses.RequestsMock,
) -> None:
    at_http.post(
        AT_URL,
        body=json.dumps(at_answer(101, "Success", "ATXid_3")),
        content_type="application/json; charset=utf-8",
        status=201,
    )
    assert at_sender().send(NUMBER, "x") == SendResult.accepted("ATXid_3")


@pytest.mark.parametrize(
    ("label", "answer", "outcome"),
    [
        ("read timeout", {"body": requests.exceptions.ReadTimeout()}, "retryable"),
        ("connect timeout", {"body": requests.exceptions.ConnectTimeout()}, "retryable"),
        ("connection refused", {"body": requests.exceptions.ConnectionError()}, "retryable"),
        ("bad api key", {"status": 401, "body": "The supplied API key is invalid"}, "retryable"),
        ("throttled", {"status": 429, "body": "Too many requests"}, "retryable"),
        ("server error", {"status": 503, "body": "Service Unavailable"}, "retryable"),
        ("not json", {"status": 201, "body": "<html>oops</html>"}, "retryable"),
        (
            "no recipients",
            {"status": 201, "json": {"SMSMessageData": {"Message": "InvalidSenderId"}}},
            "retryable",
        ),
    ],
)
def test_at_transport_failures(
    at_http: responses.RequestsMock, label: str, answer: dict[str, Any], outcome: str
) -> None:
    at_http.post(AT_URL, **answer)
    result = at_sender().send(NUMBER, "x")
    assert result.outcome == outcome, label
    assert result.error


def test_at_number_the_sdk_refuses_is_permanent() -> None:
    assert at_sender().send("0022376123456", "x").outcome == "permanent"


def test_at_sandbox_account_talks_to_the_sandbox(at_http: responses.RequestsMock) -> None:
    at_http.post(AT_SANDBOX_URL, json=at_answer(101, "Success", "ATXid_4"), status=201)
    sender = AfricasTalkingSender("sandbox", AT_KEY)
    assert sender.send(NUMBER, "x").outcome == "accepted"
    assert "from" not in parse_qs(str(at_http.calls[0].request.body))


def test_at_errors_and_logs_carry_neither_number_nor_key(
    at_http: responses.RequestsMock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    at_http.post(AT_URL, status=400, body=f"Invalid phone number: {NUMBER} for key {AT_KEY}")
    at_http.post(AT_URL, json=at_answer(403, f"Invalid {NUMBER}"), status=201)
    errors = [at_sender().send(NUMBER, "x").error or "" for _ in range(2)]
    for text in [*errors, caplog.text]:
        assert NUMBER not in text
        assert AT_KEY not in text


# --- Twilio ---------------------------------------------------------------------------


class FakeTwilioHttp(HttpClient):  # type: ignore[misc]
    """Answers every Twilio API call with the next scripted answer, and records them."""

    def __init__(self, *answers: tuple[int, dict[str, Any]] | Exception) -> None:
        super().__init__(logging.getLogger("fake-twilio"), False, 10.0)
        self.answers = list(answers)
        self.requests: list[dict[str, Any]] = []

    def request(
        self, method: str, uri: str, params: Any = None, data: Any = None, **kw: Any
    ) -> Response:
        self.requests.append({"method": method, "uri": uri, "data": dict(data or {}), **kw})
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        status, payload = answer
        return Response(status, json.dumps(payload))


def twilio_error(status: int, code: int) -> tuple[int, dict[str, Any]]:
    message = f"The 'To' number {NUMBER} is not a valid phone number."
    return status, {"code": code, "message": message, "status": status}


def twilio_sender(http: FakeTwilioHttp, callback: str | None = None) -> TwilioSender:
    return TwilioSender(
        "AC123", "token-xyz", "+15005550006", status_callback=callback, http_client=http
    )


def test_twilio_accepted_send_sets_from_body_and_status_callback() -> None:
    http = FakeTwilioHttp((201, {"sid": "SM0123", "status": "queued"}))
    callback = "https://gw.example.org/webhooks/twilio/status"
    result = twilio_sender(http, callback).send(NUMBER, "Alerte A12")
    assert result == SendResult.accepted("SM0123")
    sent = http.requests[0]
    assert sent["method"] == "POST"
    assert sent["uri"].endswith("/Accounts/AC123/Messages.json")
    assert sent["data"] == {
        "To": NUMBER,
        "From": "+15005550006",
        "Body": "Alerte A12",
        "StatusCallback": callback,
    }


def test_twilio_without_public_url_sends_no_status_callback() -> None:
    http = FakeTwilioHttp((201, {"sid": "SM0124", "status": "queued"}))
    twilio_sender(http).send(NUMBER, "x")
    assert "StatusCallback" not in http.requests[0]["data"]


@pytest.mark.parametrize(
    ("label", "answer", "outcome"),
    [
        ("invalid number", twilio_error(400, 21211), "permanent"),
        ("unsubscribed", twilio_error(400, 21610), "permanent"),
        ("not a mobile", twilio_error(400, 21614), "permanent"),
        ("region not enabled", twilio_error(400, 21408), "permanent"),
        ("too many requests", twilio_error(429, 20429), "retryable"),
        ("bad credentials", twilio_error(401, 20003), "retryable"),
        ("server error", twilio_error(500, 20500), "retryable"),
        ("unavailable, no json", (503, {}), "retryable"),
        ("timeout", requests.exceptions.ReadTimeout(), "retryable"),
        ("connection refused", requests.exceptions.ConnectionError(), "retryable"),
    ],
)
def test_twilio_failures(label: str, answer: Any, outcome: str) -> None:
    result = twilio_sender(FakeTwilioHttp(answer)).send(NUMBER, "x")
    assert result.outcome == outcome, label
    assert result.error
    assert NUMBER not in result.error


def test_twilio_error_names_the_code() -> None:
    result = twilio_sender(FakeTwilioHttp(twilio_error(400, 21610))).send(NUMBER, "x")
    assert "21610" in (result.error or "")


def test_registry_builds_each_configured_provider(tmp_path: Any) -> None:
    from gateway.config import Settings

    settings = Settings(
        database_url="sqlite://",
        secret_key="s",
        phone_hash_key="p",
        data_key="d",
        at_username="sandbox",
        at_api_key=AT_KEY,
        twilio_account_sid="AC1",
        twilio_auth_token="t",
        twilio_from="+15005550006",
        public_base_url="https://gw.example.org",
        console_sms_file=str(tmp_path / "sms.jsonl"),
    )
    for name in ("console", "africastalking", "twilio"):
        assert build_sender(name, settings).name == name
    with pytest.raises(ValueError, match="unknown SMS provider"):
        build_sender("carrier-pigeon", settings)
