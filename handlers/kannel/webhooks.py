"""Kannel callbacks: smsbox's `get-url` for each inbound SMS, and the `dlr-url` of each
delivery report. Kannel does not sign: when KANNEL_WEBHOOK_TOKEN is set (always in
production) both URLs must carry it as `?token=`.

`%b` is the message's raw bytes, url-encoded (UCS-2 holds NUL bytes), so parameters
are read from the query string and the form body byte for byte, not through Flask's
UTF-8 decoding."""

from __future__ import annotations

from urllib.parse import parse_qsl

from flask import Blueprint, Response, request

from gateway.config import provider_of
from gateway.logging_filters import redact
from gateway.models import OutboxStatus
from gateway.services.intake import sms
from handlers.common import (
    MissingField,
    delivery_answer,
    optional,
    plain,
    required,
    runtime,
    same_secret,
    webhook,
)
from handlers.kannel.coding import UndecodableText, decode_message
from handlers.kannel.status import map_status

PROVIDER = "kannel"
bp = Blueprint(PROVIDER, __name__)
_FORM = "application/x-www-form-urlencoded"


def wire_fields() -> dict[str, str]:
    """Query and form parameters, each value a latin-1 string: one character per byte
    as Kannel sent it (the form wins over the query for a name given twice)."""
    pairs = parse_qsl(request.query_string.decode("latin-1"), True, encoding="latin-1")
    if request.method == "POST" and request.mimetype == _FORM:
        body = request.get_data(cache=True).decode("latin-1")
        pairs += parse_qsl(body, True, encoding="latin-1")
    return dict(pairs)


@bp.before_request
def check_token() -> Response | None:
    settings = runtime().settings
    expected = settings.kannel_webhook_token
    if expected is None:
        if settings.is_production:
            return plain("KANNEL_WEBHOOK_TOKEN is not configured", 403)
        return None
    if not same_secret(wire_fields().get("token"), expected):
        return plain("forbidden", 403)
    return None


def inbound_channel(backend: str | None) -> str:
    """The channel an MO came in on: `kannel-<smsc-id>` when that channel is configured,
    else the first Kannel channel configured; its replies go back the same way."""
    configured = runtime().settings.channels
    named = f"{PROVIDER}-{backend.lower()}" if backend else None
    if named in configured:
        return named
    return next((c for c in configured if provider_of(c) == PROVIDER), PROVIDER)


@bp.route("/sms", methods=["GET", "POST"])
@webhook
def inbound_sms() -> Response:
    fields = wire_fields()
    f = required(fields, "sender", "id")
    if "message" not in fields:
        raise MissingField("message")
    try:
        text = decode_message(
            fields["message"].encode("latin-1"),
            optional(fields, "coding"),
            optional(fields, "charset"),
        )
    except UndecodableText as exc:
        raise MissingField(exc.field, exc.problem) from None
    if "\x00" in text:
        raise MissingField("message", "NUL byte in field")
    sms.receive_sms(
        runtime(),
        provider=PROVIDER,
        provider_id=f["id"],
        sender=f["sender"],
        text=text,
        inline_reply=False,
        channel=inbound_channel(optional(fields, "backend")),
    )
    # Empty: with `max-messages = 0` Kannel sends nothing back; replies go by the outbox.
    return plain("")


@bp.route("/status", methods=["GET", "POST"])
@webhook
def delivery_report() -> Response:
    fields = wire_fields()
    f = required(fields, "id", "status")
    channel = optional(fields, "channel") or PROVIDER
    if provider_of(channel) != PROVIDER or len(channel) > 20:
        raise MissingField("channel", "not a kannel channel")
    reply = optional(fields, "smsc_reply")
    status = map_status(f["status"])
    failed = status == OutboxStatus.FAILED
    error = f"kannel DLR {f['status'].strip()}: {redact(reply or '-')[:200]}" if failed else None
    # A report can overtake the commit of its own send (fakesmsc reports at once, an
    # SMSC's reject comes with its submit answer): 404 makes smsbox ask again later
    # (`http-request-retry`), when the row knows its id.
    return delivery_answer(channel, f["id"], f["status"], map_status, error, unknown_status=404)
