"""Sending SMS through the SMS Gateway for Android API (the phone's local server, or
the cloud or a private server) with the `android-sms-gateway` client.

The message id is ours (the API takes one), so the app's `sms:sent`, `sms:delivered`
and `sms:failed` webhooks name the outbox row by it. The client's HTTP layer has no
timeout of its own: a session with one is handed in.
"""

from __future__ import annotations

import uuid
from typing import Any

import requests
from android_sms_gateway import APIClient, Message, ProcessState, TextMessage
from android_sms_gateway.errors import APIError
from android_sms_gateway.http import RequestsHttpClient

from gateway.config import Settings
from gateway.logging_filters import redact
from gateway.ports import SendResult

# (connect, read) seconds: a phone on a mobile network can be slow to answer.
TIMEOUT = (5.0, 15.0)


class TimeoutSession(requests.Session):
    """A session whose requests all carry a timeout unless given one."""

    def __init__(self, timeout: tuple[float, float]) -> None:
        super().__init__()
        self._timeout = timeout

    def request(self, *args: Any, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", self._timeout)
        return super().request(*args, **kwargs)


class AndroidSender:
    name = "android"

    def __init__(
        self,
        api_url: str,
        username: str,
        password: str,
        *,
        timeout: tuple[float, float] = TIMEOUT,
    ) -> None:
        http = RequestsHttpClient(TimeoutSession(timeout))
        self._client = APIClient(username, password, base_url=api_url, http=http)
        self._password = password

    @classmethod
    def from_settings(cls, settings: Settings) -> AndroidSender:
        url, user, password = (
            settings.android_api_url,
            settings.android_username,
            settings.android_password,
        )
        if not url or not user or not password:
            raise ValueError("ANDROID_API_URL, ANDROID_USERNAME and ANDROID_PASSWORD are required")
        return cls(url, user, password)

    def send(self, to_e164: str, body: str) -> SendResult:
        ours = uuid.uuid4().hex
        message = Message(
            phone_numbers=[to_e164],
            text_message=TextMessage(text=body),
            with_delivery_report=True,
            id=ours,
        )
        try:
            state = self._client.send(message)
        except requests.Timeout:
            return SendResult.retryable("timeout")
        except requests.RequestException as exc:
            return SendResult.retryable(f"connection error: {type(exc).__name__}")
        except APIError as exc:
            return error_result(exc.status_code, self._clean(str(exc)))
        except (KeyError, ValueError, TypeError):
            return SendResult.retryable("unreadable answer from the phone's API")
        if state.state == ProcessState.Failed:
            return SendResult.permanent("the phone refused the message (state Failed)")
        return SendResult.accepted(state.id or ours)

    def _clean(self, text: str) -> str:
        return redact(text.replace(self._password, "[password]"))[:200]


def error_result(status: int | None, words: str) -> SendResult:
    """A 400 is this message's fault (a number the app refuses); a refused login, a
    phone or server error (5xx) may pass later or on another channel."""
    label = f"android API HTTP {status if status is not None else '-'}: {words}"
    if status == 400:
        return SendResult.permanent(label)
    return SendResult.retryable(label)
