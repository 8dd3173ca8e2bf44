"""Acting on an alert from the console: acknowledge, close with an outcome, reopen
with a comment. Admins anywhere, committee users in their area, analysts never."""

from __future__ import annotations

from collections.abc import Callable

from flask import redirect as go
from flask import request, url_for
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from gateway.console.access import actor, current_user, require, runtime
from gateway.console.alert_views import visible_alert
from gateway.console.blueprint import bp
from gateway.console.pages import notify
from gateway.db import transaction
from gateway.models import Role
from gateway.services.alerts import lifecycle as alert_actions
from gateway.services.alerts.lifecycle import AlertActionError, CloseOutcome

Action = Callable[[Session, int, str], object]


def _act(alert_id: int, action: Action, done: str) -> Response:
    rt = runtime()
    try:
        with transaction(rt.sessions) as session:
            visible_alert(session, alert_id)
            action(session, alert_id, actor(current_user()))
    except AlertActionError as exc:
        notify(f"alerts.error.{exc.reason}", "error")
    else:
        notify(done)
    return go(url_for("console.alert_detail", alert_id=alert_id))


def _comment() -> str | None:
    return request.form.get("comment", "").strip()[:500] or None


@bp.route("/alerts/<int:alert_id>/acknowledge", methods=["POST"])
@require(Role.ADMIN, Role.COMMITTEE)
def alert_acknowledge(alert_id: int) -> Response:
    now, comment = runtime().now(), _comment()
    return _act(
        alert_id,
        lambda s, i, who: alert_actions.acknowledge(s, i, who, now, comment),
        "alerts.done.acknowledge",
    )


@bp.route("/alerts/<int:alert_id>/close", methods=["POST"])
@require(Role.ADMIN, Role.COMMITTEE)
def alert_close(alert_id: int) -> Response:
    now, comment = runtime().now(), _comment()
    outcome = request.form.get("outcome", "")
    if outcome not in alert_actions.OUTCOMES:
        notify("alerts.error.bad_outcome", "error")
        return go(url_for("console.alert_detail", alert_id=alert_id))
    chosen: CloseOutcome = outcome  # type: ignore[assignment]
    return _act(
        alert_id,
        lambda s, i, who: alert_actions.close(s, i, who, chosen, now, comment),
        "alerts.done.close",
    )


@bp.route("/alerts/<int:alert_id>/reopen", methods=["POST"])
@require(Role.ADMIN, Role.COMMITTEE)
def alert_reopen(alert_id: int) -> Response:
    now, comment = runtime().now(), _comment() or ""
    return _act(
        alert_id,
        lambda s, i, who: alert_actions.reopen(s, i, who, now, comment),
        "alerts.done.reopen",
    )
