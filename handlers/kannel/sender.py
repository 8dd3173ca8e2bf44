"""Sending SMS through Kannel's smsbox `sendsms` (GET, form parameters).

GSM 7-bit text goes as coding 0, anything else as UCS-2 (coding 2); both are passed
as UTF-8 (`charset=utf-8`) and smsbox converts. Each SMS carries an id of ours in its
`dlr-url`, because smsbox's answer names none: the delivery reports that come back
to /webhooks/kannel/status find their outbox row by it.
"""

from __future__ import annotations

import uuid
from urllib.parse import urlencode

import requests

from gateway.config import Settings, variant_of
from gateway.domain.gsm7 import is_gsm7
from gateway.logging_filters import redact
from gateway.ports import SendResult

# (connect, read) seconds: smsbox answers once bearerbox has queued the message.
TIMEOUT = (3.05, 10.0)
STATUS_PATH = "/webhooks/kannel/status"
# Delivered (1), failed (2), buffered (4), rejected by the SMSC (16). Not 8 (submitted
# to the SMSC): smsbox's own answer says as much, and a report per message that comes
# back within milliseconds, before the send is recorded, would only queue retries.
DLR_MASK = "23"


class KannelSender:
    def __init__(
        self,
        send_url: str,
        username: str,
        password: str,
        *,
        from_: str | None = None,
        smsc: str | None = None,
        dlr_base: str | None = None,
        webhook_token: str | None = None,
        name: str = "kannel",
        timeout: tuple[float, float] = TIMEOUT,
        session: requests.Session | None = None,
    ) -> None:
        self.name = name
        self._url = send_url
        self._account = {"username": username, "password": password}
        self._from = from_
        self._smsc = smsc
        self._dlr_base = dlr_base
        self._token = webhook_token
        self._timeout = timeout
        self._http = session or requests.Session()

    @classmethod
    def from_settings(cls, settings: Settings, channel: str = "kannel") -> KannelSender:
        """The sender of `channel`: `kannel`, or `kannel-<smsc-id>` for that SMSC."""
        url, user, password = (
            settings.kannel_send_url,
            settings.kannel_username,
            settings.kannel_password,
        )
        if not url or not user or not password:
            raise ValueError("KANNEL_SEND_URL, KANNEL_USERNAME and KANNEL_PASSWORD are required")
        return cls(
            url,
            user,
            password,
            from_=settings.kannel_from,
            smsc=variant_of(channel) or settings.kannel_smsc,
            dlr_base=settings.kannel_dlr_base_url or settings.public_base_url,
            webhook_token=settings.kannel_webhook_token,
            name=channel,
        )

    def params(self, to_e164: str, body: str, ours: str) -> dict[str, str]:
        """The sendsms parameters of one SMS whose report id is `ours`."""
        params = {
            **self._account,
            "to": to_e164,
            "text": body,
            "charset": "utf-8",
            "coding": "0" if is_gsm7(body) else "2",
        }
        if self._from:
            params["from"] = self._from
        if self._smsc:
            params["smsc"] = self._smsc
        if self._dlr_base:
            params["dlr-mask"] = DLR_MASK
            params["dlr-url"] = self.dlr_url(ours)
        return params

    def dlr_url(self, ours: str) -> str:
        """Our status webhook for one SMS; Kannel fills in `%d` (the report type) and
        `%A` (the SMSC's words)."""
        query = {"id": ours, "channel": self.name}
        if self._token:
            query["token"] = self._token
        return f"{self._dlr_base}{STATUS_PATH}?{urlencode(query)}&status=%d&smsc_reply=%A"

    def send(self, to_e164: str, body: str) -> SendResult:
        ours = uuid.uuid4().hex
        try:
            answer = self._http.get(
                self._url, params=self.params(to_e164, body, ours), timeout=self._timeout
            )
        except requests.Timeout:
            return SendResult.retryable("timeout")
        except requests.RequestException as exc:
            return SendResult.retryable(f"connection error: {type(exc).__name__}")
        return answer_result(answer.status_code, answer.text, ours)


def answer_result(status: int, text: str, ours: str) -> SendResult:
    """What smsbox's answer means: `0: Accepted for delivery` and `3: Queued for later
    delivery` (bearerbox keeps it until an SMSC takes it) are sent; `Not routable` and
    other 4xx are this message's fault; a refused login (our account) and 5xx
    (bearerbox down: `Temporal failure, try again later.`) may pass later."""
    words = redact(text.strip().splitlines()[0] if text.strip() else "")[:120]
    label = f"kannel HTTP {status}: {words}"
    if status in (200, 202) and words[:2] in ("0:", "3:"):
        return SendResult.accepted(ours)
    if status in (401, 403) and "authorization" in words.lower():
        return SendResult.retryable(label)
    if 400 <= status < 500:
        return SendResult.permanent(label)
    return SendResult.retryable(label)
