"""Twilio callbacks: inbound SMS (answered with TwiML: empty when a worker handles the
message later, the default; the reply with SMS_HANDLING=inline) and status callbacks.
Every request is checked with the SDK's RequestValidator whenever TWILIO_AUTH_TOKEN is
set, against PUBLIC_BASE_URL when the gateway sits behind a proxy."""

from __future__ import annotations

from collections.abc import Mapping

from flask import Blueprint, Response, request
from twilio.request_validator import (
    HMAC_SHA1,
    SIGNATURE_HEADER,
    SIGNATURE_SETTINGS_HEADER,
    RequestValidator,
    get_signature_algorithm,
)
from twilio.twiml.messaging_response import MessagingResponse

from gateway.domain.sms_grammar import Intent
from gateway.phones import PhoneError, normalize_phone
from gateway.services.intake import sms
from gateway.services.outbox import delivery
from handlers.common import (
    MissingField,
    delivery_answer,
    optional,
    plain,
    required,
    runtime,
    webhook,
)
from handlers.twilio.sender import UNSUBSCRIBED
from handlers.twilio.status import map_status

PROVIDER = "twilio"
# Twilio's Advanced Opt-Out says which of its keyword lists a message matched,
# whatever the words configured there.
OPT_OUT_TYPES = {"STOP": Intent.STOP, "HELP": Intent.HELP}
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
    signature = request.headers.get(SIGNATURE_HEADER, "")
    # HMAC-SHA1 with the Auth Token, or the algorithm (HMAC-SHA256) named by the
    # header of a webhook signed with a shared key. The whole multi-valued form is
    # signed: a flattened dict would drop repeated fields.
    algorithm = get_signature_algorithm(request.headers.get(SIGNATURE_SETTINGS_HEADER))
    key = runtime().settings.twilio_webhook_key if algorithm != HMAC_SHA1 else None
    validator = RequestValidator(key or token)
    if not signature or not validator.validate(public_url(), request.form, signature, algorithm):
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
    f = required(request.form, "MessageSid", "From")
    media = _count(request.form, "NumMedia")
    body = optional(request.form, "Body")
    if body is None and media == 0 and "Body" not in request.form:
        raise MissingField("Body")
    receipt = sms.receive_sms(
        runtime(),
        provider=PROVIDER,
        provider_id=f["MessageSid"],
        sender=f["From"],
        text=body or "",  # a picture alone is stored (as empty text) and answered
        inline_reply=True,
        opt_out=OPT_OUT_TYPES.get((optional(request.form, "OptOutType") or "").upper()),
        media=media,
    )
    return twiml(receipt.reply)


def _count(form: Mapping[str, str], name: str) -> int:
    raw = optional(form, name)
    if raw is None:
        return 0
    if not raw.isdigit() or len(raw) > 3:
        raise MissingField(name, "not a count")
    return int(raw)


@bp.post("/status")
@webhook
def status_callback() -> Response:
    f = required(request.form, "MessageSid", "MessageStatus")
    error = optional(request.form, "ErrorCode")
    failure = f"Twilio error {error}" if error else None
    to = optional(request.form, "To")
    if error == str(UNSUBSCRIBED) and to is not None:
        try:
            e164 = normalize_phone(to, runtime().settings.phone_regions)
        except PhoneError:
            e164 = None  # not one of our reporters' numbers
        if e164 is not None:
            delivery.record_provider_opt_out(runtime(), e164)
    return delivery_answer(PROVIDER, f["MessageSid"], f["MessageStatus"], map_status, failure)
