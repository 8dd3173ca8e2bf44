"""The clock's other alert jobs: urgent incidents at once, escalation of alerts nobody
acknowledged, and the weekly digest to each committee."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Mapping
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gateway.db import transaction
from gateway.domain.findings import check_incident_urgent
from gateway.domain.gsm7 import to_gsm7
from gateway.domain.rules import MIN_REPORTERS_FLOOR
from gateway.domain.trust_index import Aggregate
from gateway.gazetteer.index import Gazetteer, gazetteer
from gateway.models import Alert, AlertState, Committee, Incident
from gateway.runtime import Runtime
from gateway.services.alerts.engine import _event, _locked, _send, _watermark, days, open_alert
from gateway.services.alerts.messages import (
    committees_in_chain,
    members,
    notify,
    send_to_member,
)
from gateway.services.alerts.thresholds import overrides, values
from gateway.services.figures import measures

# How long an alert may stay unacknowledged before the committee one level up is told.
ESCALATE_AFTER = {"incident_urgent": dt.timedelta(hours=2)}
ESCALATE_AFTER_DEFAULT = dt.timedelta(hours=48)
URGENT_LOCK = 727_274_002  # pg advisory lock keys: a second clock skips these jobs
ESCALATION_LOCK = 727_274_003
# "People in danger now" is only news for a while: older reports (an import, a clock
# down for days) go to the trends, not to an urgent SMS.
URGENT_LOOKBACK = dt.timedelta(hours=24)  # a digest never shows an index from fewer people


def check_urgent(rt: Runtime, now: dt.datetime) -> list[str]:
    """Alert at once on incidents with people in danger now, of the kinds an admin marks
    urgent, reported within the last 24 hours and not checked yet. Each incident is
    marked when checked, so nothing alerts twice and an incident whose transaction
    committed late (after a newer one was seen) is still checked. Returns the codes
    of alerts opened."""
    opened: list[str] = []
    with transaction(rt.sessions) as session:
        if not _locked(session, URGENT_LOCK):
            return opened  # another clock is checking the same incidents right now
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
            found = check_incident_urgent(incident.kind, True, incident.burst, p)
            if found is None:
                continue
            code = _raise_urgent(session, rt, gaz, incident.locality_id, found.figures, now)
            if code:
                opened.append(code)
        _watermark(session, "urgent", now, checked=len(unchecked))
    return opened


def _raise_urgent(
    session: Session,
    rt: Runtime,
    gaz: Gazetteer,
    loc: int,
    figures: Mapping[str, Any],
    now: dt.datetime,
) -> str | None:
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
        _event(session, existing, "seen", now, "another urgent report")
        _send(session, rt, gaz, existing, now)
        return None
    alert = open_alert(session, loc, "incident_urgent", 3, dict(figures), False, now)
    if alert is None:
        return None
    _send(session, rt, gaz, alert, now)
    return alert.code


def check_escalations(rt: Runtime, now: dt.datetime) -> int:
    """Alerts still open (not acknowledged) past their escalation delay go to the next
    committee up the chain. Returns how many escalated."""
    escalated = 0
    with transaction(rt.sessions) as session:
        if not _locked(session, ESCALATION_LOCK):
            return escalated
        gaz = gazetteer(rt)
        waiting = session.scalars(
            select(Alert).where(Alert.state == AlertState.OPEN, Alert.notified_at.is_not(None))
        ).all()
        for alert in waiting:
            since = alert.escalated_at or alert.notified_at
            delay = ESCALATE_AFTER.get(alert.rule, ESCALATE_AFTER_DEFAULT)
            if since is None or now - since < delay:
                continue
            level = alert.escalation_level + 1
            if level >= len(committees_in_chain(session, gaz, alert.locality_id)):
                continue  # nobody further up: the console shows it
            notify(session, rt, gaz, alert, now, level=level, round_key=f"e{level}")
            alert.escalation_level, alert.escalated_at = level, now
            _event(session, alert, "escalate", now, f"level {level}")
            escalated += 1
    return escalated


def _week_key(now: dt.datetime) -> str:
    year, week, _ = now.isocalendar()
    return f"{year}w{week:02d}"


def send_digests(rt: Runtime, now: dt.datetime) -> int:
    """The weekly SMS to every member of every committee: the area's trust index and its
    trend, incidents of the last 7 days, open alerts. Once per ISO week (dedupe keys),
    from Monday 07:00 UTC. Returns the SMS queued."""
    if now.weekday() == 0 and now.hour < 7:
        return 0
    queued = 0
    with transaction(rt.sessions) as session:
        gaz = gazetteer(rt)
        question = rt.reference.primary_question
        current = measures.trust_aggregates(session, question, now - days(30), now)
        baseline = measures.trust_aggregates(session, question, now - days(120), now - days(30))
        incidents = Counter(
            dict(
                session.execute(
                    select(Incident.locality_id, func.count())
                    .where(Incident.reported_at >= now - days(7))
                    .group_by(Incident.locality_id)
                ).all()
            )
        )
        open_alerts = Counter(
            dict(
                session.execute(
                    select(Alert.locality_id, func.count())
                    .where(Alert.state != AlertState.CLOSED)
                    .group_by(Alert.locality_id)
                ).all()
            )
        )
        texts = rt.reference.alert_texts
        for committee in session.scalars(select(Committee).where(Committee.active.is_(True))):
            area = _area(gaz, committee.locality_id)
            now_agg = _sum(current, area)
            before = _sum(baseline, area)
            for member in members(session, committee.id):
                body = _digest(
                    texts,
                    member.language,
                    gaz.name_of(committee.locality_id),
                    now_agg,
                    before,
                    sum(incidents[i] for i in area),
                    sum(open_alerts[i] for i in area),
                )
                key = f"digest:{_week_key(now)}:c{committee.id}:m{member.member_id}"
                queued += send_to_member(session, rt, member, body, "digest", now, key)
    return queued


def _area(gaz: Gazetteer, locality_id: int) -> set[int]:
    """The locality and every locality under it."""
    out, todo = set(), [gaz.pcodes[locality_id]]
    while todo:
        pcode = todo.pop()
        out.add(gaz.ids[pcode])
        todo.extend(e.pcode for e in gaz.index.children(pcode))
    return out


def _sum(aggs: dict[int, Aggregate], area: set[int]) -> Aggregate:
    total = Aggregate()
    for loc in area & aggs.keys():
        total = total + aggs[loc]
    return total


def _digest(
    texts: dict[str, dict[str, object]],
    lang: str,
    place: str,
    current: Aggregate,
    baseline: Aggregate,
    incidents: int,
    open_alerts: int,
) -> str:
    catalogue = texts.get(lang) or texts["fr"]
    values = {"place": to_gsm7(place)[:25], "incidents": incidents, "open": open_alerts}
    if current.n < MIN_REPORTERS_FLOOR or current.mean is None:
        return to_gsm7(str(catalogue["digest_few"]).format(**values))
    trend = "="
    if baseline.n >= MIN_REPORTERS_FLOOR and baseline.mean is not None:
        delta = current.mean - baseline.mean
        trend = f"{delta:+.1f}" if abs(delta) >= 0.05 else "="
    values.update(index=f"{current.mean:.1f}/5", trend=trend, n=current.n)
    return to_gsm7(str(catalogue["digest"]).format(**values))
