"""Twilio callbacks: inbound SMS (answered with TwiML) and status callbacks. Every
request is checked with the SDK's RequestValidator whenever TWILIO_AUTH_TOKEN is set,
against PUBLIC_BASE_URL when the gateway sits behind a proxy."""

from __future__ import annotations

from flask import Blueprint, Response, request
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

from gateway.db import DB_UNAVAILABLE
from gateway.phones import PhoneError
from gateway.services import delivery, sms
from handlers.common import MissingField, missing, optional, plain, required, runtime
from handlers.twilio.status import map_status

PROVIDER = "twilio"
bp = Blueprint(PROVIDER, __name__)


def public_url() -> str:
    base = runtime().settings.public_base_url
    if not base:
        return request.url
    query = request.query_string.decode("latin-1")
    return base + request.path + (f"?{query}" if query else "")


@bp.before_request
def check_signature() -> Response | None:
    token = runtime().settings.twilio_auth_token
    if token is None:
        return (
            plain("TWILIO_AUTH_TOKEN is not configured", 403)
            if runtime().settings.is_production
            else None
        )
    signature = request.headers.get("X-Twilio-Signature", "")
    params = request.form.to_dict(flat=True)
    if not signature or not RequestValidator(token).validate(public_url(), params, signature):
        return plain("forbidden", 403)
    return None


def twiml(reply: str | None) -> Response:
    response = MessagingResponse()
    if reply:
        response.message(reply)
    return Response(str(response), mimetype="application/xml")


@bp.post("/sms")
def inbound_sms() -> Response:
    try:
        f = required(request.form, "MessageSid", "From", "Body")
        receipt = sms.receive_sms(
            runtime(),
            provider=PROVIDER,
            provider_id=f["MessageSid"],
            sender=f["From"],
            text=f["Body"],
            inline_reply=True,
        )
    except MissingField as exc:
        return missing(exc)
    except PhoneError as exc:
        return plain(f"bad phone number: {exc}", 400)
    except DB_UNAVAILABLE:
        return plain("temporarily unavailable, retry", 503)
    return twiml(receipt.reply)


@bp.post("/status")
def status_callback() -> Response:
    try:
        f = required(request.form, "MessageSid", "MessageStatus")
        error = optional(request.form, "ErrorCode")
    except MissingField as exc:
        return missing(exc)
    status = map_status(f["MessageStatus"])
    if status is None:
        return plain(f"unknown status: {f['MessageStatus'][:40]}", 400)
    try:
        found = delivery.record_delivery(
            runtime(),
            provider=PROVIDER,
            provider_message_id=f["MessageSid"],
            status=status,
            error=f"Twilio error {error}" if error else None,
        )
    except DB_UNAVAILABLE:
        return plain("temporarily unavailable, retry", 503)
    return plain("ok" if found else "unknown message")
