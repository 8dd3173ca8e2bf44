"""The outbox for admins: recent messages (masked numbers, status) and dead letters,
which an admin may send for another round of attempts; beside it the inbound queue
(stored SMS waiting for a worker) and its dead SMS, which an admin may queue again."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from flask import redirect, url_for
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from gateway.console.access import actor, current_user, require, runtime
from gateway.console.blueprint import bp
from gateway.console.pages import notify, render
from gateway.db import transaction
from gateway.models import Alert, OutboxMessage, Role
from gateway.services import audit
from gateway.services.intake.inbound_queue import backlog, dead_inbound, retry_dead_inbound
from gateway.services.outbox.health import configured_health
from gateway.services.outbox.queue import dead_letters, retry_dead

RECENT = 100


@bp.route("/outbox")
@require(Role.ADMIN)
def outbox() -> str:
    with runtime().sessions() as session:
        recent = session.execute(
            select(OutboxMessage, Alert.code)
            .outerjoin(Alert, Alert.id == OutboxMessage.alert_id)
            .order_by(OutboxMessage.created_at.desc(), OutboxMessage.id.desc())
            .limit(RECENT)
        ).all()
        dead = dead_letters(session)
        inbound, dead_in = backlog(session), dead_inbound(session)
        channels = configured_health(session, runtime().settings.channels)
    return render(
        "outbox.html",
        recent=recent,
        dead=dead,
        channels=channels,
        inbound=inbound,
        dead_inbound=dead_in,
    )


def _retry(queue: str, row_id: int, retry: Callable[[Session, int, dt.datetime], bool]) -> Response:
    """Queue dead row `row_id` of `queue` ("outbox" or "inbound") again, audited."""
    rt = runtime()
    with transaction(rt.sessions) as session:
        if retry(session, row_id, rt.now()):
            who = actor(current_user())
            audit.record(session, who, f"{queue}.retry", f"{queue}:{row_id}", None, rt.now())
            notify(f"{queue}.done.retry")
        else:
            notify(f"{queue}.error.retry", "error")
    return redirect(url_for("console.outbox"))


@bp.route("/outbox/<int:message_id>/retry", methods=["POST"])
@require(Role.ADMIN)
def outbox_retry(message_id: int) -> Response:
    return _retry("outbox", message_id, retry_dead)


@bp.route("/outbox/inbound/<int:inbound_id>/retry", methods=["POST"])
@require(Role.ADMIN)
def inbound_retry(inbound_id: int) -> Response:
    return _retry("inbound", inbound_id, retry_dead_inbound)
