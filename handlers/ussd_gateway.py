"""An operator's or aggregator's USSD gateway at `/webhooks/ussd`: the field names and
the continue/end convention come from settings (USSD_PRESET, USSD_FIELDS,
USSD_ANSWER), the menu machine behind it is the same as for Africa's Talking.

Conventions: `prefix` answers `CON text` / `END text` in the body; `freeflow` answers
the bare text with a `Freeflow: FC` (continue) or `Freeflow: FB` (break) header, as
Huawei-based operator gateways do. The input is the session's whole path joined by
`*` (USSD_INPUT=path), or only the latest answer (`latest`: the path is kept by the
gateway, and the optional `step` field of USSD_FIELDS, the request's sequence number,
makes a resend idempotent). When USSD_WEBHOOK_TOKEN is set (required in production)
the URL must carry it as `?token=`."""

from __future__ import annotations

from collections.abc import Mapping

from flask import Blueprint, Response, request

from gateway.config import Settings
from gateway.domain.ussd_types import Screen
from gateway.runtime import Runtime
from gateway.services.intake import ussd
from gateway.web.lean import LeanRequest
from handlers.common import optional, plain, required, runtime, same_secret, webhook

PROVIDER = "ussd"
bp = Blueprint("ussd_gateway", __name__)


@bp.before_request
def check_token() -> Response | None:
    return token_refusal(runtime().settings, request.args)


def token_refusal(settings: Settings, args: Mapping[str, str]) -> Response | None:
    """403 unless the query carries USSD_WEBHOOK_TOKEN (or none is set, outside
    production); None when the request may go on."""
    expected = settings.ussd_webhook_token
    if expected is None:
        if settings.is_production:
            return plain("USSD_WEBHOOK_TOKEN is not configured", 403)
        return None
    if not same_secret(args.get("token"), expected):
        return plain("forbidden", 403)
    return None


def answer(screen: Screen, convention: str) -> Response:
    """The menu's screen in the gateway's convention."""
    if convention == "prefix":
        return plain(f"{screen.kind} {screen.body}")
    response = plain(screen.body)
    response.headers["Freeflow"] = "FC" if screen.kind == "CON" else "FB"
    return response


@bp.route("", methods=["GET", "POST"])
def ussd_step() -> Response:
    return ussd_reply(runtime(), request.values)


def lean_ussd_step(rt: Runtime, lean: LeanRequest) -> Response:
    """A POST served without Flask's request machinery (gateway.web.lean): the
    blueprint's token check, then the same view."""
    return token_refusal(rt.settings, lean.args) or ussd_reply(rt, lean.values)


@webhook
def ussd_reply(rt: Runtime, values: Mapping[str, str]) -> Response:
    """The step's answer; `values` are the query's and the form's fields (the
    query's first, as Werkzeug's `request.values`)."""
    settings = rt.settings
    session_field, phone_field, text_field = settings.ussd_fields
    f = required(values, session_field, phone_field, text_field)
    screen = ussd.answer_ussd(
        rt,
        provider=PROVIDER,
        session_id=f[session_field],
        phone=f[phone_field],
        text=f[text_field],
        latest=settings.ussd_input == "latest",
        step=optional(values, settings.ussd_step_field) if settings.ussd_step_field else None,
    )
    return answer(screen, settings.ussd_answer)
