"""Sending SMS through Twilio's Messages API with the Twilio SDK.

Twilio's error messages quote the number, so results carry only codes.
"""

from __future__ import annotations

import requests
from twilio.base import values
from twilio.base.exceptions import TwilioException, TwilioRestException, TwilioServiceException
from twilio.http import HttpClient
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from gateway.config import Settings
from gateway.ports import SendResult

# Seconds per connect and per read; the SDK has no timeout by default.
TIMEOUT = 10.0
STATUS_PATH = "/webhooks/twilio/status"
TOO_MANY_REQUESTS = 20429
UNSUBSCRIBED = 21610  # the recipient sent STOP (or another opt-out word) to Twilio


class TwilioSender:
    name = "twilio"

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        from_: str,
        *,
        status_callback: str | None = None,
        http_client: HttpClient | None = None,
        timeout: float = TIMEOUT,
    ) -> None:
        self._client = Client(
            account_sid, auth_token, http_client=http_client or TwilioHttpClient(timeout=timeout)
        )
        self._from = from_
        self._status_callback = status_callback

    @classmethod
    def from_settings(cls, settings: Settings) -> TwilioSender:
        sid, token, from_ = (
            settings.twilio_account_sid,
            settings.twilio_auth_token,
            settings.twilio_from,
        )
        if not sid or not token or not from_:
            raise ValueError("TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_FROM are required")
        base = settings.public_base_url
        return cls(sid, token, from_, status_callback=base + STATUS_PATH if base else None)

    def send(self, to_e164: str, body: str) -> SendResult:
        try:
            message = self._client.messages.create(
                to=to_e164,
                from_=self._from,
                body=body,
                status_callback=self._status_callback or values.unset,
            )
        except (TwilioRestException, TwilioServiceException) as exc:
            return error_result(exc.status, exc.code)
        except requests.Timeout:
            return SendResult.retryable("timeout")
        except (requests.RequestException, TwilioException) as exc:
            return SendResult.retryable(f"connection error: {type(exc).__name__}")
        if not message.sid:
            return SendResult.retryable("Twilio answered without a message sid")
        return SendResult.accepted(message.sid)


def error_result(status: int, code: int | None) -> SendResult:
    """429, 5xx and a rejected account (401) may pass later; other 4xx are the message's
    own fault (21211 invalid number, 21610 unsubscribed, 21614 not a mobile...)."""
    label = f"twilio error {code if code is not None else '-'} (HTTP {status})"
    if status == 429 or status >= 500 or status == 401 or code == TOO_MANY_REQUESTS:
        return SendResult.retryable(label)
    return SendResult.permanent(label, opted_out=code == UNSUBSCRIBED)
