"""The one place where an alert changes state, whoever asks (console, SMS, clock).

    (none) ──open──▶ open ──acknowledge──▶ acknowledged ──close──▶ closed ──reopen──▶ open
                      └──────────close / autoclose (the clock)────▶ ┘

Each change adds an AlertEvent (who, when, new state, comment); a person's change also
an audit row. What the clock notes without changing the state (a notification, a
higher severity, an escalation) goes through `record_event` too.
Acknowledging an alert already acknowledged changes nothing and is not an error, so
a member's `OK A123` sent twice gets the same answer. Anything else that does not
follow the arrows raises AlertActionError with a message saying why.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal, get_args

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gateway.models import Alert, AlertEvent, AlertState
from gateway.services import audit
from gateway.upsert import insert_ignore

CloseOutcome = Literal["confirmed", "false_alarm", "resolved"]
OUTCOMES: tuple[str, ...] = get_args(CloseOutcome)
MAX_COMMENT = 500


class AlertActionError(Exception):
    """The action is not allowed on this alert now; the message says why and `reason`
    is a stable code (for the console's catalogue): not_found, closed, already_closed,
    not_closed, comment_needed, other_open, bad_outcome."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


class AlertNotFound(AlertActionError):
    def __init__(self, alert_id: int) -> None:
        super().__init__(f"no alert with id {alert_id}", "not_found")


SYSTEM = "system"


def record_event(
    session: Session, alert: Alert, action: str, now: dt.datetime, comment: str | None = None
) -> None:
    """Note in the alert's history what the clock did (actor `system`)."""
    session.add(
        AlertEvent(
            alert_id=alert.id,
            at=now,
            actor=SYSTEM,
            action=action,
            state=str(alert.state),
            comment=comment,
        )
    )


def next_code(session: Session) -> str:
    """`A` and the next number: short to read out and type on a basic phone."""
    codes = session.scalars(select(Alert.code)).all()
    numbers = [int(c[1:]) for c in codes if c[1:].isdigit()]
    return f"A{max(numbers, default=100) + 1}"


def open_alert(
    session: Session,
    loc: int,
    rule: str,
    severity: int,
    figures: dict[str, Any],
    verified: bool,
    now: dt.datetime,
) -> Alert | None:
    """(none) → open. None when one is already open for this locality and rule (a
    second clock opened it a moment ago: the partial unique index decides)."""
    for _ in range(5):
        new_id = insert_ignore(
            session,
            Alert.__table__,
            {
                "code": next_code(session),
                "rule": rule,
                "locality_id": loc,
                "severity": severity,
                "state": AlertState.OPEN,
                "verified": verified,
                "opened_at": now,
                "figures": figures,
                "last_seen_at": now,
                "escalation_level": 0,
                "recipients": 0,
            },
        )
        if new_id is not None:
            alert = session.get_one(Alert, new_id)
            record_event(session, alert, "open", now, f"severity {severity}")
            return alert
        already = session.scalar(
            select(func.count())
            .select_from(Alert)
            .where(Alert.locality_id == loc, Alert.rule == rule, Alert.state != AlertState.CLOSED)
        )
        if already:
            return None
    raise RuntimeError("could not allocate an alert code")


def autoclose(session: Session, alert: Alert, now: dt.datetime, reason: str) -> None:
    """open or acknowledged → closed by the clock, outcome `resolved` (its condition
    has been clear long enough)."""
    if alert.state == AlertState.CLOSED:
        return
    alert.state, alert.closed_at, alert.outcome = AlertState.CLOSED, now, "resolved"
    record_event(session, alert, "autoclose", now, reason)


def acknowledge(
    session: Session,
    alert_id: int,
    actor: str,
    now: dt.datetime,
    comment: str | None = None,
) -> Alert:
    """open → acknowledged. Already acknowledged: returned unchanged."""
    alert = _locked(session, alert_id)
    if alert.state == AlertState.ACKNOWLEDGED:
        return alert
    if alert.state != AlertState.OPEN:
        raise AlertActionError(f"alert {alert.code} is closed; reopen it first", "closed")
    alert.state = AlertState.ACKNOWLEDGED
    alert.acknowledged_at = now
    _log(session, alert, actor, "acknowledge", now, comment)
    return alert


def close(
    session: Session,
    alert_id: int,
    actor: str,
    outcome: CloseOutcome,
    now: dt.datetime,
    comment: str | None = None,
) -> Alert:
    """open or acknowledged → closed, with how it ended."""
    if outcome not in OUTCOMES:
        raise AlertActionError(
            f"outcome must be one of {', '.join(OUTCOMES)}, not {outcome!r}", "bad_outcome"
        )
    alert = _locked(session, alert_id)
    if alert.state == AlertState.CLOSED:
        raise AlertActionError(f"alert {alert.code} is already closed", "already_closed")
    alert.state = AlertState.CLOSED
    alert.closed_at = now
    alert.outcome = outcome
    _log(session, alert, actor, "close", now, comment, outcome=outcome)
    return alert


def reopen(
    session: Session,
    alert_id: int,
    actor: str,
    now: dt.datetime,
    comment: str,
) -> Alert:
    """closed → open, with a comment saying why. Refused while another alert of the
    same rule is open for the locality (at most one is, by a unique index)."""
    if not (comment or "").strip():
        raise AlertActionError("reopening an alert needs a comment saying why", "comment_needed")
    alert = _locked(session, alert_id)
    if alert.state != AlertState.CLOSED:
        raise AlertActionError(f"alert {alert.code} is not closed", "not_closed")
    other = session.scalar(
        select(Alert.code).where(
            Alert.locality_id == alert.locality_id,
            Alert.rule == alert.rule,
            Alert.state != AlertState.CLOSED,
            Alert.id != alert.id,
        )
    )
    if other is not None:
        raise AlertActionError(
            f"alert {other} is already open for this locality and rule", "other_open"
        )
    try:  # the check above cannot see an alert another transaction is opening now
        with session.begin_nested():  # flushed as the savepoint ends
            alert.state = AlertState.OPEN
            alert.closed_at = None
            alert.acknowledged_at = None
            alert.outcome = None
            alert.clear_since = None
    except IntegrityError:
        raise AlertActionError(
            f"an alert of this rule was just opened for the locality of {alert.code}",
            "other_open",
        ) from None
    _log(session, alert, actor, "reopen", now, comment)
    return alert


def _locked(session: Session, alert_id: int) -> Alert:
    """The alert, locked for this transaction on PostgreSQL so two members acting at
    once are serialised (SQLite serialises writers anyway)."""
    alert = session.scalar(select(Alert).where(Alert.id == alert_id).with_for_update())
    if alert is None:
        raise AlertNotFound(alert_id)
    return alert


def _log(
    session: Session,
    alert: Alert,
    actor: str,
    action: str,
    now: dt.datetime,
    comment: str | None,
    outcome: str | None = None,
) -> None:
    text = (comment or "").strip()[:MAX_COMMENT] or None
    session.add(
        AlertEvent(
            alert_id=alert.id,
            at=now,
            actor=actor[:120],
            action=action,
            state=alert.state.value,
            comment=text,
        )
    )
    details: dict[str, str] = {"state": alert.state.value}
    if outcome:
        details["outcome"] = outcome
    if text:
        details["comment"] = text
    audit.record(session, actor, f"alert.{action}", f"alert:{alert.code}", details, now)
