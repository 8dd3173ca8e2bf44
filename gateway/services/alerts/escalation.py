"""Alerts nobody acknowledged in time go one link further up the chain (see
recipients.route): the next link with an active member and a committee not told yet."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.db import transaction
from gateway.gazetteer.index import Gazetteer, gazetteer
from gateway.models import Alert, AlertState
from gateway.runtime import Runtime
from gateway.services.alerts import lifecycle
from gateway.services.alerts.jobstate import ESCALATION_LOCK, holds_lock
from gateway.services.alerts.messages import URGENT_RULE, committees_at, notify, send_round
from gateway.services.alerts.recipients import route

# How long an alert may stay unacknowledged before the committee one level up is told.
ESCALATE_AFTER = {"incident_urgent": dt.timedelta(hours=2)}
ESCALATE_AFTER_DEFAULT = dt.timedelta(hours=48)


def next_level(session: Session, gaz: Gazetteer, alert: Alert) -> int | None:
    """The next escalation level that tells somebody new; None past the top."""
    urgent = alert.rule == URGENT_RULE
    routing = route(session, gaz, alert.locality_id, urgent=urgent)
    for level in range(alert.escalation_level + 1, len(routing.links)):
        if committees_at(routing, level, urgent):
            return level
    return None


def check_escalations(rt: Runtime, now: dt.datetime) -> int:
    """Alerts still open (not acknowledged) past their escalation delay go to the next
    committee up the chain; an open alert that reached nobody goes, as soon as a
    committee with an active member covers it, to whoever the routing tells now (a
    committee added, reactivated or given a member after it opened). Returns how many
    were sent."""
    escalated = 0
    with transaction(rt.sessions) as session:
        if not holds_lock(session, ESCALATION_LOCK):
            return escalated
        gaz = gazetteer(rt)
        waiting = session.scalars(
            select(Alert).where(Alert.state == AlertState.OPEN, Alert.notified_at.is_not(None))
        ).all()
        for alert in waiting:
            if not alert.recipients:
                escalated += _tell_at_last(session, rt, gaz, alert, now)
                continue
            since = alert.escalated_at or alert.notified_at
            delay = ESCALATE_AFTER.get(alert.rule, ESCALATE_AFTER_DEFAULT)
            if since is None or now - since < delay:
                continue
            level = next_level(session, gaz, alert)
            if level is None:
                continue  # nobody further up: the console shows it
            queued = notify(session, rt, gaz, alert, now, level=level, round_key=f"e{level}")
            alert.escalation_level, alert.escalated_at = level, now
            lifecycle.record_event(session, alert, "escalate", now, f"level {level}, {queued} SMS")
            escalated += 1
    return escalated


def _tell_at_last(
    session: Session, rt: Runtime, gaz: Gazetteer, alert: Alert, now: dt.datetime
) -> int:
    """Send an alert that reached nobody when it opened, if someone can be told now
    (1), else nothing (0: it stays red in the console). Its escalation delay starts
    from this sending."""
    if not route(session, gaz, alert.locality_id, urgent=alert.rule == URGENT_RULE).reached:
        return 0
    send_round(session, rt, gaz, alert, now)
    return 1
