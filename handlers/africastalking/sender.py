"""Sending SMS through Africa's Talking with its SDK's SMSService.

One service object per sender, built directly: `africastalking.initialize()` would
set module globals shared by the whole process. Success is reported per recipient
in `SMSMessageData.Recipients[]`, not by the HTTP status.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

import requests
from africastalking import SMSService
from africastalking.Service import AfricasTalkingException

from gateway.config import Settings
from gateway.logging_filters import redact
from gateway.ports import SendResult

log = logging.getLogger(__name__)

# (connect, read) seconds: AT usually answers in under 2 s; a hung call must not
# hold a dispatcher past its lease.
TIMEOUT = (3.05, 10.0)

ACCEPTED = frozenset({100, 101, 102})  # Processed, Sent, Queued
# Failures of this message or number: trying again cannot help.
PERMANENT = {
    403: "InvalidPhoneNumber",
    404: "UnsupportedNumberType",
    406: "UserInBlacklist",
    407: "CouldNotRoute",
    # Sources disagree (DoNotDisturbRejection / DuplicateRequest); neither is helped
    # by sending again, and a duplicate must not be sent twice.
    409: "DoNotDisturbRejection or DuplicateRequest",
}
# Failures of the account or of AT: the message may go through later or elsewhere.
RETRYABLE = {
    401: "RiskHold",
    402: "InvalidSenderId",
    405: "InsufficientBalance",
    500: "InternalServerError",
    501: "GatewayError",
    502: "RejectedByGateway",
}


class AfricasTalkingSender:
    name = "africastalking"

    def __init__(
        self,
        username: str,
        api_key: str,
        sender_id: str | None = None,
        timeout: tuple[float, float] = TIMEOUT,
    ) -> None:
        self._service = SMSService(username, api_key)
        self._api_key = api_key
        self._sender_id = sender_id
        self._timeout = timeout

    @classmethod
    def from_settings(cls, settings: Settings) -> AfricasTalkingSender:
        if not settings.at_username or not settings.at_api_key:
            raise ValueError("AT_USERNAME and AT_API_KEY are required for Africa's Talking")
        return cls(settings.at_username, settings.at_api_key, settings.at_sender_id)

    def send(self, to_e164: str, body: str) -> SendResult:
        try:
            answer = self._service.send(
                body, [to_e164], sender_id=self._sender_id, timeout=self._timeout
            )
        except ValueError:
            return SendResult.permanent("InvalidPhoneNumber (refused by the SDK)")
        except requests.Timeout:
            return SendResult.retryable("timeout")
        except requests.RequestException as exc:
            return SendResult.retryable(f"connection error: {type(exc).__name__}")
        except AfricasTalkingException as exc:
            # The SDK keeps only the body of a non-2xx answer (a 401 bad key, a 429, a
            # 5xx); all are problems of the account or of AT, so retry.
            return SendResult.retryable("HTTP error: " + self._clean(str(exc)))
        return parse_send_response(answer)

    def _clean(self, text: str) -> str:
        """Provider text fit for `last_error`: no number, no key, short."""
        return redact(text.replace(self._api_key, "[key]"))[:200]


def parse_send_response(answer: Any) -> SendResult:
    """The result for our single recipient in an AT send answer (JSON or its text)."""
    if isinstance(answer, str | bytes):
        try:
            answer = json.loads(answer)
        except ValueError:
            return SendResult.retryable("unreadable answer from Africa's Talking")
    data = answer.get("SMSMessageData") if isinstance(answer, Mapping) else None
    recipients = data.get("Recipients") if isinstance(data, Mapping) else None
    if not recipients or not isinstance(recipients[0], Mapping):
        # e.g. {"SMSMessageData": {"Message": "InvalidSenderId", "Recipients": []}}
        message = data.get("Message") if isinstance(data, Mapping) else None
        return SendResult.retryable("no recipient status: " + redact(str(message))[:200])
    return recipient_result(recipients[0])


def recipient_result(recipient: Mapping[str, Any]) -> SendResult:
    status = str(recipient.get("status", ""))
    try:
        code = int(recipient.get("statusCode", -1))
    except (TypeError, ValueError):
        code = -1
    message_id = recipient.get("messageId")
    if code in ACCEPTED or (code == -1 and status == "Success"):
        valid_id = isinstance(message_id, str) and message_id not in ("", "None")
        return SendResult.accepted(message_id if valid_id else None)
    label = f"{code} {PERMANENT.get(code) or RETRYABLE.get(code) or redact(status)[:60]}"
    if code in PERMANENT:
        return SendResult.permanent(label)
    # Listed retryable codes, and codes we do not know: the retry limit bounds them.
    return SendResult.retryable(label)
