"""Urgent incidents alert at once: people in danger now, of a kind an admin marks
urgent. The nearest committee with a member and the national committees are told."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.db import transaction
from gateway.domain.findings import check_incident_urgent
from gateway.gazetteer.index import Gazetteer, gazetteer
from gateway.models import Alert, AlertState, Incident
from gateway.runtime import Runtime
from gateway.services.alerts import lifecycle
from gateway.services.alerts.jobstate import URGENT_LOCK, holds_lock, record_watermark
from gateway.services.alerts.messages import send_round
from gateway.services.alerts.thresholds import overrides, values
from gateway.services.outbox.dispatch import dispatch_all_due

# "People in danger now" is only news for a while: older reports (an import, a clock
# down for days) go to the trends, not to an urgent SMS.
URGENT_LOOKBACK = dt.timedelta(hours=24)


@dataclass
class UrgentCheck:
    """What a check did: the codes of the alerts it opened, and the ids of the alerts
    whose committees it queued an SMS for (opened, or told of another report)."""

    opened: list[str] = field(default_factory=list)
    notified: list[int] = field(default_factory=list)

    def __str__(self) -> str:
        return f"opened {self.opened or 'none'}, notified {len(self.notified)}"


def check_urgent(rt: Runtime, now: dt.datetime) -> list[str]:
    """Alert at once on incidents with people in danger now, of the kinds an admin marks
    urgent, reported within the last 24 hours and not checked yet. Each incident is
    marked when checked, so nothing alerts twice and an incident whose transaction
    committed late (after a newer one was seen) is still checked. Returns the codes
    of alerts opened."""
    return _check(rt, now).opened


def check_and_send_urgent(rt: Runtime, now: dt.datetime) -> str:
    """The clock's urgent job: `check_urgent`, then the alert SMS it queued are sent at
    once, ahead of whatever else the outbox holds (a burst's replies), not at the
    dispatcher's next pass."""
    found = _check(rt, now)
    if not found.notified:
        return str(found)
    sent = dispatch_all_due(rt, now, alert_ids=found.notified, worker_id="urgent")
    return f"{found}; {sent}"


def _check(rt: Runtime, now: dt.datetime) -> UrgentCheck:
    found = UrgentCheck()
    with transaction(rt.sessions) as session:
        if not holds_lock(session, URGENT_LOCK):
            return found  # another clock is checking the same incidents right now
        rows = session.scalars(
            select(Incident)
            .where(Incident.danger_now.is_(True), Incident.reported_at >= now - URGENT_LOOKBACK)
            .order_by(Incident.id)
        ).all()
        unchecked = [i for i in rows if not (i.details or {}).get("urgent_checked")]
        gaz, stored = gazetteer(rt), overrides(session)
        for incident in unchecked:
            incident.details = {**(incident.details or {}), "urgent_checked": True}
            p = values(rt, gaz, stored, "incident_urgent", incident.locality_id)
            finding = check_incident_urgent(incident.kind, True, incident.burst, p)
            if finding is None:
                continue
            alert, opened = _raise_urgent(
                session, rt, gaz, incident.locality_id, finding.figures, now
            )
            if alert is not None:
                found.notified.append(alert.id)
                if opened:
                    found.opened.append(alert.code)
        record_watermark(session, "urgent", now, checked=len(unchecked))
    return found


def _raise_urgent(
    session: Session,
    rt: Runtime,
    gaz: Gazetteer,
    loc: int,
    figures: Mapping[str, Any],
    now: dt.datetime,
) -> tuple[Alert | None, bool]:
    """The alert told of this report (None: none could open), and whether it is new."""
    existing = session.scalar(
        select(Alert).where(
            Alert.locality_id == loc,
            Alert.rule == "incident_urgent",
            Alert.state != AlertState.CLOSED,
        )
    )
    if existing is not None:
        # Another report of people in danger: the committee hears of it too.
        existing.last_seen_at, existing.figures = now, dict(figures)
        lifecycle.record_event(session, existing, "seen", now, "another urgent report")
        send_round(session, rt, gaz, existing, now)
        return existing, False
    alert = lifecycle.open_alert(session, loc, "incident_urgent", 3, dict(figures), False, now)
    if alert is None:
        return None, False
    send_round(session, rt, gaz, alert, now)
    return alert, True
