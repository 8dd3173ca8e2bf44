"""Africa's Talking callbacks: inbound SMS, USSD steps, USSD end-of-session events and
delivery reports. Africa's Talking does not sign its callbacks: when AT_WEBHOOK_TOKEN
is set (always in production) each callback URL must carry it as `?token=`."""

from __future__ import annotations

from collections.abc import Mapping

from flask import Blueprint, Response, request

from gateway.config import Settings
from gateway.logging_filters import redact
from gateway.runtime import Runtime
from gateway.services.intake import sms, ussd
from gateway.web.lean import LeanRequest
from handlers.africastalking.status import map_status
from handlers.common import (
    delivery_answer,
    optional,
    plain,
    required,
    runtime,
    same_secret,
    webhook,
)

PROVIDER = "africastalking"
bp = Blueprint(PROVIDER, __name__)


@bp.before_request
def check_token() -> Response | None:
    return token_refusal(runtime().settings, request.args)


def token_refusal(settings: Settings, args: Mapping[str, str]) -> Response | None:
    """403 unless the query carries AT_WEBHOOK_TOKEN (or none is set, outside
    production); None when the request may go on."""
    expected = settings.at_webhook_token
    if expected is None:
        return plain("AT_WEBHOOK_TOKEN is not configured", 403) if settings.is_production else None
    if not same_secret(args.get("token"), expected):
        return plain("forbidden", 403)
    return None


@bp.post("/sms")
@webhook
def inbound_sms() -> Response:
    f = required(request.form, "from", "text", "id")
    receipt = sms.receive_sms(
        runtime(),
        provider=PROVIDER,
        provider_id=f["id"],
        sender=f["from"],
        text=f["text"],
        inline_reply=False,
    )
    return plain("duplicate" if receipt.duplicate else "ok")


@bp.post("/ussd")
def ussd_step() -> Response:
    return ussd_reply(runtime(), request.form)


def lean_ussd_step(rt: Runtime, lean: LeanRequest) -> Response:
    """`/ussd` served without Flask's request machinery (gateway.web.lean): the
    blueprint's token check, then the same view."""
    return token_refusal(rt.settings, lean.args) or ussd_reply(rt, lean.form)


@webhook
def ussd_reply(rt: Runtime, form: Mapping[str, str]) -> Response:
    f = required(form, "sessionId", "phoneNumber", "text")
    screen = ussd.answer_ussd(
        rt,
        provider=PROVIDER,
        session_id=f["sessionId"],
        phone=f["phoneNumber"],
        text=f["text"],
    )
    return plain(f"{screen.kind} {screen.body}")  # Africa's Talking: `CON ...` or `END ...`


@bp.post("/ussd/events")
@webhook
def ussd_event() -> Response:
    f = required(request.form, "sessionId", "status")
    ussd.record_session_end(
        runtime(),
        provider=PROVIDER,
        session_id=f["sessionId"],
        status=f["status"],
        cause=optional(request.form, "errorMessage") or optional(request.form, "cause"),
    )
    return plain("ok")


@bp.post("/delivery")
@webhook
def delivery_report() -> Response:
    f = required(request.form, "id", "status")
    reason = optional(request.form, "failureReason")  # free text of AT's: scrubbed, short
    failure = redact(reason)[:200] if reason else None
    return delivery_answer(PROVIDER, f["id"], f["status"], map_status, failure)
