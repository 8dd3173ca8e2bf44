"""Twilio callbacks: inbound SMS (answered with TwiML: empty when a worker handles the
message later, the default; the reply with SMS_HANDLING=inline) and status callbacks.
Every request is checked with the SDK's RequestValidator whenever TWILIO_AUTH_TOKEN is
set, against PUBLIC_BASE_URL when the gateway sits behind a proxy."""

from __future__ import annotations

from flask import Blueprint, Response, request
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

from gateway.services.intake import sms
from handlers.common import delivery_answer, optional, plain, required, runtime, webhook
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


EMPTY_TWIML = str(MessagingResponse())  # the common answer: the reply comes later


def twiml(reply: str | None) -> Response:
    if not reply:
        return Response(EMPTY_TWIML, mimetype="application/xml")
    response = MessagingResponse()
    response.message(reply)
    return Response(str(response), mimetype="application/xml")


@bp.post("/sms")
@webhook
def inbound_sms() -> Response:
    f = required(request.form, "MessageSid", "From", "Body")
    receipt = sms.receive_sms(
        runtime(),
        provider=PROVIDER,
        provider_id=f["MessageSid"],
        sender=f["From"],
        text=f["Body"],
        inline_reply=True,
    )
    return twiml(receipt.reply)


@bp.post("/status")
@webhook
def status_callback() -> Response:
    f = required(request.form, "MessageSid", "MessageStatus")
    error = optional(request.form, "ErrorCode")
    failure = f"Twilio error {error}" if error else None
    return delivery_answer(PROVIDER, f["MessageSid"], f["MessageStatus"], map_status, failure)
