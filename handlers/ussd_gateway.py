"""An operator's or aggregator's USSD gateway at `/webhooks/ussd`: the field names and
the continue/end convention come from settings (USSD_PRESET, USSD_FIELDS,
USSD_ANSWER), the menu machine behind it is the same as for Africa's Talking.

Conventions: `prefix` answers `CON text` / `END text` in the body; `freeflow` answers
the bare text with a `Freeflow: FC` (continue) or `Freeflow: FB` (break) header, as
Huawei-based operator gateways do. Either way the request must carry the session's
whole path joined by `*`. When USSD_WEBHOOK_TOKEN is set (required in production) the
URL must carry it as `?token=`."""

from __future__ import annotations

from flask import Blueprint, Response, request

from gateway.domain.ussd_types import Screen
from gateway.services.intake import ussd
from handlers.common import plain, required, runtime, same_secret, webhook

PROVIDER = "ussd"
bp = Blueprint("ussd_gateway", __name__)


@bp.before_request
def check_token() -> Response | None:
    settings = runtime().settings
    expected = settings.ussd_webhook_token
    if expected is None:
        if settings.is_production:
            return plain("USSD_WEBHOOK_TOKEN is not configured", 403)
        return None
    if not same_secret(request.args.get("token"), expected):
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
@webhook
def ussd_step() -> Response:
    settings = runtime().settings
    session_field, phone_field, text_field = settings.ussd_fields
    f = required(request.values, session_field, phone_field, text_field)
    screen = ussd.answer_ussd(
        runtime(),
        provider=PROVIDER,
        session_id=f[session_field],
        phone=f[phone_field],
        text=f[text_field],
    )
    return answer(screen, settings.ussd_answer)
