"""The phone simulator plays USSD and SMS through the real Africa's Talking webhooks."""

from __future__ import annotations

import html
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from gateway.models import AuditLog, ConsoleUser, OutboxMessage, Role, UssdSession
from gateway.runtime import Runtime
from tests.console.conftest import add_user, login

AsRole = Callable[[Role], tuple[FlaskClient, ConsoleUser]]
PHONE = "+22370000001"


def play(client: FlaskClient, channel: str, text: str = "", action: str = "send") -> str:
    form = {"phone": PHONE, "channel": channel, "text": text, "action": action}
    response = client.post("/console/simulator", data=form)
    assert response.status_code == 200
    return html.unescape(response.get_data(as_text=True))


def test_ussd_shows_the_first_screen_then_one_answer_at_a_time(
    as_role: AsRole, rt: Runtime
) -> None:
    client, _ = as_role(Role.ADMIN)
    page = play(client, "ussd", action="dial")
    assert "Langue / Kan / Language" in page and "1. Francais" in page
    page = play(client, "ussd", "1")
    assert "Bienvenue" in page and "Signaler un incident" in page
    assert "Réponses de la session : 1" in page
    page = play(client, "ussd", "0")  # Quitter ends the session
    assert "session terminée" in page and "Raccrocher" not in page
    with rt.sessions() as session:
        assert session.scalars(select(UssdSession.provider)).all() == ["africastalking"]
    # Dialling again starts a new session; the language chosen is remembered.
    page = play(client, "ussd", action="dial")
    assert "Bienvenue" in page and "Réponses de la session : —" in page


def test_an_sms_shows_the_gateway_replies(as_role: AsRole, rt: Runtime) -> None:
    client, _ = as_role(Role.ADMIN)
    page = play(client, "sms", "AIDE")
    assert "Réponses SMS" in page and "CONFIANCE 1 à 5" in page
    with rt.sessions() as session:
        keys = session.scalars(select(OutboxMessage.dedupe_key)).all()
    assert keys and all(k and k.startswith("reply:africastalking:sim-") for k in keys)
    with rt.sessions() as session:
        played = session.scalars(select(AuditLog).where(AuditLog.action == "simulator.play")).one()
    assert played.details == {"channel": "sms", "phone": "+223******01"}


def test_a_refused_request_is_shown_with_the_webhook_answer(as_role: AsRole) -> None:
    client, _ = as_role(Role.ADMIN)
    form = {"phone": "12", "channel": "sms", "text": "AIDE", "action": "send"}
    page = html.unescape(client.post("/console/simulator", data=form).get_data(as_text=True))
    assert "Le webhook a répondu 400" in page and "bad phone number" in page
    assert "Saisissez un texte" in play(client, "sms", "  ")


@pytest.mark.parametrize("role", [Role.ANALYST, Role.COMMITTEE])
def test_only_admins_play_a_phone(as_role: AsRole, role: Role) -> None:
    client, _ = as_role(role)
    assert client.get("/console/simulator").status_code == 403
    form = {"phone": PHONE, "channel": "sms", "text": "AIDE"}
    assert client.post("/console/simulator", data=form).status_code == 403


def test_the_webhook_token_is_used_when_configured(make_app: Callable[..., Flask]) -> None:
    app = make_app(AT_WEBHOOK_TOKEN="sim-token-123")
    rt: Runtime = app.extensions["gateway"]
    admin = add_user(rt, Role.ADMIN)
    client = app.test_client()
    login(client, admin.email)
    assert "Langue / Kan / Language" in play(client, "ussd", action="dial")
    form = {"sessionId": "x", "phoneNumber": PHONE, "text": ""}
    assert client.post("/webhooks/africastalking/ussd", data=form).status_code == 403
