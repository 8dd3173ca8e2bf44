"""SMS that matched nothing. Their sender was told "not understood, kept for review":
an admin lists them (the day only) and asks for one text with a POST, each
reading audited, as for an incident's free text. The number is never shown."""

from __future__ import annotations

import json

from flask import abort
from sqlalchemy import select

from gateway.console.access import actor, current_user, require, runtime
from gateway.console.blueprint import bp
from gateway.console.pages import render
from gateway.crypto import DecryptionError
from gateway.db import transaction
from gateway.models import InboundMessage, Outcome, Role
from gateway.services import audit

SHOWN = 200  # the newest; older ones are purged with their payload after 30 days


@bp.route("/unparsed")
@require(Role.ADMIN)
def unparsed() -> str:
    rt = runtime()
    with rt.sessions() as session:
        rows = session.execute(
            select(InboundMessage.id, InboundMessage.received_at)
            .where(InboundMessage.outcome == Outcome.HELP, InboundMessage.payload_enc.is_not(None))
            .order_by(InboundMessage.id.desc())
            .limit(SHOWN)
        ).all()
    return render("unparsed.html", rows=rows, shown=SHOWN)


@bp.route("/unparsed/<int:inbound_id>/text", methods=["POST"])
@require(Role.ADMIN)
def unparsed_text(inbound_id: int) -> str:
    rt = runtime()
    with transaction(rt.sessions) as session:
        row = session.get(InboundMessage, inbound_id)
        if row is None or row.outcome != Outcome.HELP or row.payload_enc is None:
            abort(404)
        try:
            text: str | None = str(json.loads(rt.vault.decrypt(row.payload_enc)).get("text", ""))
        except (DecryptionError, ValueError):
            text = None
        target = f"inbound:{inbound_id}"
        audit.record(session, actor(current_user()), "inbound.text_view", target, None, rt.now())
        received = row.received_at
    return render("unparsed_text.html", inbound_id=inbound_id, received=received, text=text)
