"""SMS Gateway for Android webhooks: one URL for every event, JSON envelopes
`{"deviceId", "event", "id", "payload", "webhookId"}`, each signed (see signature.py).

`sms:received` is an inbound SMS, stored once by the event `id` (the payload's
`messageId` is content-based, not unique) and answered on this channel; `sms:sent`,
`sms:delivered`, `sms:failed` move the outbox row whose id we gave the message;
`system:ping` and every other event are the phone's signs of life."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from flask import Blueprint, Response, request

from gateway.db import transaction
from gateway.logging_filters import redact
from gateway.services.intake import sms
from gateway.services.outbox import health
from handlers.android import signature
from handlers.android.status import map_status
from handlers.common import MissingField, delivery_answer, plain, required, runtime, webhook

PROVIDER = "android"
bp = Blueprint(PROVIDER, __name__)


@bp.before_request
def check_signature() -> Response | None:
    settings = runtime().settings
    key = settings.android_signing_key
    if key is None:
        if settings.is_production:
            return plain("ANDROID_SIGNING_KEY is not configured", 403)
        return None
    problem = signature.check(
        key,
        request.get_data(cache=True),
        request.headers.get("X-Timestamp"),
        request.headers.get("X-Signature"),
        runtime().now(),
    )
    return plain(f"forbidden: {problem}", 403) if problem else None


def envelope() -> tuple[dict[str, str], Mapping[str, Any]]:
    """The event's name and id, and its payload; MissingField names what is wrong."""
    try:
        body = json.loads(request.get_data(cache=True))
    except (ValueError, RecursionError):  # RecursionError: nested deeper than the parser goes
        raise MissingField("body", "not JSON") from None
    if not isinstance(body, dict):
        raise MissingField("body", "not a JSON object")
    try:  # a `\ud800` escape parses to a lone surrogate, which UTF-8 cannot store
        json.dumps(body, ensure_ascii=False).encode()
    except (UnicodeEncodeError, RecursionError):
        raise MissingField("body", "lone surrogate in a string, or nested too deep") from None
    fields = {k: v for k, v in body.items() if isinstance(v, str)}
    f = required(fields, "event", "id")
    payload = body.get("payload")
    if not isinstance(payload, dict):
        raise MissingField("payload")
    return f, payload


def text_field(payload: Mapping[str, Any], name: str) -> str:
    value = payload.get(name)
    if not isinstance(value, str):
        raise MissingField(f"payload.{name}")
    return required({name: value}, name)[name]


@bp.post("/events")
@webhook
def events() -> Response:
    f, payload = envelope()
    rt = runtime()
    event = f["event"].strip().lower()
    if event == "sms:received":  # its sign of life is noted with the stored message
        receipt = sms.receive_sms(
            rt,
            provider=PROVIDER,
            provider_id=f["id"],
            sender=text_field(payload, "phoneNumber"),
            text=text_field(payload, "message"),
            inline_reply=False,
            channel=PROVIDER,
            heard_from=PROVIDER,
        )
        return plain("duplicate" if receipt.duplicate else "ok")
    with transaction(rt.sessions) as session:
        health.note_seen(session, PROVIDER, rt.now())
    if map_status(event) is not None:
        return status_event(event, payload)
    return plain("ok")  # system:ping and the events we do not use: signs of life


def status_event(event: str, payload: Mapping[str, Any]) -> Response:
    message_id = text_field(payload, "messageId")
    reason = payload.get("reason")
    error = f"android: {redact(str(reason))[:200]}" if event == "sms:failed" else None
    rt = runtime()
    with transaction(rt.sessions) as session:
        if error:
            health.note_error(session, PROVIDER, error, rt.now())
        else:
            health.note_success(session, PROVIDER, rt.now())
    return delivery_answer(PROVIDER, message_id, event, map_status, error)
