"""The phone simulator: an admin plays a phone through the real Africa's Talking
webhooks (the same requests the provider makes), so what is stored and answered is
exactly what a citizen would cause. Admins only: it writes real reports and enqueues
real replies. A USSD session keeps its path in the console session, so the admin
types one answer at a time, as on a handset."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from flask import current_app, request
from flask import session as web_session

from gateway.console.access import actor, current_user, require, runtime
from gateway.console.blueprint import bp
from gateway.console.pages import render
from gateway.crypto import mask_phone
from gateway.db import transaction
from gateway.models import Role
from gateway.services import audit
from gateway.services.intake.simulated import replies_once_handled, sms_form, webhook_url

CHANNELS = ("sms", "ussd")
SERVICE_CODE = "*384*123#"
SESSION_KEY = "simulator_ussd"
MAX_TEXT = 480
MAX_ANSWERS = 40


@dataclass
class Played:
    """What the simulated phone saw: the webhook's status, a USSD screen, SMS replies."""

    channel: str
    sent: str
    status: int = 200
    error: str = ""
    screen: str = ""
    ended: bool = False
    replies: list[str] = field(default_factory=list)


def _post(path: str, form: dict[str, str]) -> tuple[int, str]:
    # The app's own test client runs the request through the whole WSGI stack.
    response = current_app.test_client().post(webhook_url(runtime(), path), data=form)
    return response.status_code, response.get_data(as_text=True)


def play_sms(phone: str, text: str) -> Played:
    rt = runtime()
    message_id = f"sim-{uuid.uuid4()}"
    status, body = _post("sms", sms_form(rt, phone, text, message_id))
    played = Played("sms", text, status, "" if status == 200 else body)
    if status == 200:
        played.replies = replies_once_handled(rt, message_id, worker_id="simulator")
    return played


def play_ussd(phone: str, text: str, dial: bool) -> Played:
    """One USSD step: a new session when dialling (or when the phone changed), else
    the answer `text` added to the session's path."""
    state: dict[str, Any] | None = web_session.get(SESSION_KEY)
    if dial or state is None or state.get("phone") != phone:
        state = {"id": f"sim-{uuid.uuid4()}", "phone": phone, "answers": []}
        text = ""
    else:
        state["answers"] = [*state["answers"], text][-MAX_ANSWERS:]
    form = {"sessionId": state["id"], "serviceCode": SERVICE_CODE, "phoneNumber": phone}
    form |= {"networkCode": "61001", "text": "*".join(state["answers"])}
    status, body = _post("ussd", form)
    played = Played("ussd", text, status)
    if status != 200:
        played.error, played.ended = body, True
    else:
        played.screen, played.ended = body[4:], body.startswith("END")
    if played.ended:
        web_session.pop(SESSION_KEY, None)
    else:
        web_session[SESSION_KEY] = state
    return played


def _audit(played: Played, phone: str) -> None:
    """The simulator writes real data: who played which phone is on record."""
    rt = runtime()
    details = {"channel": played.channel, "phone": mask_phone(phone)}
    with transaction(rt.sessions) as session:
        who = actor(current_user())
        audit.record(session, who, "simulator.play", None, details, rt.now())


@bp.route("/simulator")
@require(Role.ADMIN)
def simulator() -> str:
    state = web_session.get(SESSION_KEY)
    return render("simulator.html", played=None, channels=CHANNELS, ussd=state, form={})


@bp.route("/simulator", methods=["POST"])
@require(Role.ADMIN)
def simulator_play() -> str:
    form = request.form
    phone = form.get("phone", "").strip()[:32]
    channel = form.get("channel", "sms")
    text = form.get("text", "")[:MAX_TEXT]
    action = form.get("action", "")
    played: Played | None = None
    if action == "hangup":
        web_session.pop(SESSION_KEY, None)
    elif channel == "ussd" or action == "dial":
        played = play_ussd(phone, text.strip(), dial=action == "dial")
    elif channel == "sms" and text.strip():
        played = play_sms(phone, text)
    else:
        played = Played(channel, text, 400, "empty")
    if played is not None and not played.error:
        _audit(played, phone)
    return render(
        "simulator.html",
        played=played,
        channels=CHANNELS,
        ussd=web_session.get(SESSION_KEY),
        form={"phone": phone, "channel": channel},
    )
