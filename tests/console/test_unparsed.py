"""SMS that matched nothing: the reply says "kept for review", so an admin can read
them, text only (never the number), each reading audited."""

from __future__ import annotations

import html
import json
from collections.abc import Callable

from flask.testing import FlaskClient
from sqlalchemy import select

from gateway.db import transaction
from gateway.models import AuditLog, Channel, ConsoleUser, InboundMessage, Outcome, Role
from gateway.runtime import Runtime

AsRole = Callable[[Role], tuple[FlaskClient, ConsoleUser]]
NUMBER = "+22376123456"


def store(rt: Runtime, text: str, outcome: Outcome, provider_id: str) -> int:
    payload = {"from": NUMBER, "text": text, "to": "36000"}
    with transaction(rt.sessions) as session:
        row = InboundMessage(
            provider="africastalking",
            provider_id=provider_id,
            channel=Channel.SMS,
            received_at=rt.now(),
            payload_enc=rt.vault.encrypt(json.dumps(payload)),
            intent="unknown",
            outcome=outcome,
        )
        session.add(row)
        session.flush()
        return row.id


def test_an_admin_reads_the_sms_kept_for_review_without_their_number(
    as_role: AsRole, rt: Runtime
) -> None:
    kept = store(rt, "Ils sont venus au puits ce matin", Outcome.HELP, "p1")
    store(rt, "CONFIANCE 4 Mopti", Outcome.PROCESSED, "p2")
    client, user = as_role(Role.ADMIN)
    listing = html.unescape(client.get("/console/unparsed").get_data(as_text=True))
    assert "SMS non compris" in listing
    assert f"/console/unparsed/{kept}/text" in listing
    assert "/console/unparsed/" + str(kept + 1) not in listing  # understood: not listed
    assert "Ils sont venus" not in listing  # the text only on asking, as for incidents
    response = client.post(f"/console/unparsed/{kept}/text")
    page = html.unescape(response.get_data(as_text=True))
    assert "Ils sont venus au puits ce matin" in page
    assert NUMBER not in page and NUMBER[4:] not in page
    with rt.sessions() as session:
        audited = session.scalars(select(AuditLog.action).where(AuditLog.actor == user.email)).all()
    assert "inbound.text_view" in audited


def test_only_admins_read_them(as_role: AsRole, rt: Runtime) -> None:
    kept = store(rt, "texte", Outcome.HELP, "p3")
    for role in (Role.ANALYST, Role.COMMITTEE):
        client, _ = as_role(role)
        assert client.get("/console/unparsed").status_code == 403
        assert client.post(f"/console/unparsed/{kept}/text").status_code == 403
