"""Who hears about an alert, and what the SMS says.

An alert goes to the active members of the committees `recipients.route` names (the
nearest link of the chain with a member, the nation too when urgent), each in their
own language, in at most two segments. It names the place, says what happened in
words and figures, gives the code and how to answer; never who reported, nor any free
text or exact time.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gateway.domain.gsm7 import to_gsm7
from gateway.gazetteer.index import Gazetteer
from gateway.models import Alert, AlertEvent
from gateway.runtime import Runtime
from gateway.services.alerts.lifecycle import record_event
from gateway.services.alerts.recipients import Recipient, Routing, members, route
from gateway.services.outbox.queue import enqueue

MAX_SEGMENTS = 2
URGENT_RULE = "incident_urgent"


def _number(value: Any, digits: int = 1) -> str:
    """`value` to `digits` decimals, without trailing decimal zeros (2.0 -> "2", but 10
    stays "10"); "?" when there is none."""
    if value is None:
        return "?"
    shown = f"{float(value):.{digits}f}"
    return shown.rstrip("0").rstrip(".") if "." in shown else shown


def place_name(
    texts: Mapping[str, Mapping[str, Any]], lang: str, place: str, place_kind: str | None
) -> str:
    """A place as an SMS to a committee names it, in `lang`: GSM 7-bit, cut to 25
    characters, with what it is when `place_kind` is a gazetteer kind (`Menaka
    (cercle)`: a commune, a cercle and a region share the name)."""
    levels = (texts.get(lang) or texts["fr"]).get("levels") or texts["fr"]["levels"]
    named = to_gsm7(place)[:25]
    return f"{named} ({to_gsm7(levels[place_kind])})" if place_kind in levels else named


def render_alert(
    texts: Mapping[str, Mapping[str, Any]],
    lang: str,
    rule: str,
    code: str,
    place: str,
    figures: Mapping[str, Any],
    escalated: bool = False,
    place_kind: str | None = None,
) -> str:
    """The alert SMS in `lang` (French when a text is missing), GSM 7-bit. The place
    is named by `place_name`."""
    catalogue = texts.get(lang) or texts["fr"]
    template = catalogue.get(rule) or texts["fr"][rule]
    kinds = catalogue.get("kinds") or texts["fr"]["kinds"]
    delta = figures.get("delta")
    usual = figures.get("usual") or figures.get("baseline_mean")
    weeks = int(figures.get("run_weeks") or 0)
    expected = None if usual is None else float(usual) * weeks  # the run's usual count
    week_words = catalogue.get("weeks") or texts["fr"]["weeks"]
    values = {
        "code": code,
        "place": place_name(texts, lang, place, place_kind),
        "index": _number(figures.get("index")),
        "delta": ("+" if (delta or 0) > 0 else "") + _number(delta),
        "days": int(figures.get("window_days") or figures.get("period_days") or 0),
        "n": int(figures.get("reporters") or 0),
        "count": _number(figures.get("count"), 0),
        "usual": _number(usual, 1),
        "weeks": week_words["one" if weeks == 1 else "other"].format(n=weeks),
        "expected": _number(expected, 0 if (expected or 0) >= 2 else 1),
        "kind": kinds.get(str(figures.get("kind")), kinds["other"]),
    }
    point = str(catalogue.get("decimal") or ".")  # French and Bambara write 2,1
    for key in ("index", "delta", "usual", "expected"):
        values[key] = str(values[key]).replace(".", point)
    prefix = (catalogue.get("escalated") or "") if escalated else ""
    return to_gsm7(prefix + template.format(**values))


def committees_at(routing: Routing, level: int, urgent: bool) -> tuple[int, ...]:
    """The committees an alert is sent to at an escalation level (0 = at once), none
    told before: an urgent alert reached the national committees at level 0."""
    if level == 0:
        return routing.told
    link = routing.link(level)
    if link is None:
        return ()
    before = set(routing.told) | {c for lk in routing.links[:level] for c in lk.committees}
    return tuple(c for c in link.committees if c not in before)


def notify(
    session: Session,
    rt: Runtime,
    gaz: Gazetteer,
    alert: Alert,
    now: dt.datetime,
    *,
    level: int = 0,
    round_key: str,
) -> int:
    """Queue the alert SMS to every active member of the committees routed at `level`
    (see recipients.route). `round_key` names this sending (a severity, a re-arm, an
    escalation), so a second clock queues nothing twice. Adds what was queued to the
    alert's count of recipients; returns it."""
    urgent = alert.rule == URGENT_RULE
    routing = route(session, gaz, alert.locality_id, urgent=urgent)
    texts = rt.reference.alert_texts
    place = gaz.entry(alert.locality_id)
    queued = 0
    for committee_id in committees_at(routing, level, urgent):
        for member in members(session, committee_id):
            body = render_alert(
                texts,
                member.language,
                alert.rule,
                alert.code,
                place.name,
                alert.figures,
                level > 0,
                place_kind=place.kind,
            )
            key = f"alert:{alert.id}:{round_key}:m{member.member_id}"
            queued += send_to_member(session, rt, member, body, "alert", now, key, alert.id)
    alert.recipients = (alert.recipients or 0) + queued
    return queued


def send_round(
    session: Session, rt: Runtime, gaz: Gazetteer, alert: Alert, now: dt.datetime
) -> int:
    """Notify the alert's committees again: round n of the alert (its count of earlier
    notifications) keys the SMS, so a second clock deciding the same round sends
    nothing more, and a later round (a higher severity, a reminder) always goes."""
    rounds = session.scalar(
        select(func.count())
        .select_from(AlertEvent)
        .where(AlertEvent.alert_id == alert.id, AlertEvent.action == "notify")
    )
    queued = notify(
        session, rt, gaz, alert, now, level=alert.escalation_level, round_key=f"n{rounds}"
    )
    alert.notified_at, alert.notified_severity = now, alert.severity
    record_event(session, alert, "notify", now, f"{queued} SMS")
    return queued


def send_to_member(
    session: Session,
    rt: Runtime,
    member: Recipient,
    body: str,
    purpose: str,
    now: dt.datetime,
    dedupe_key: str,
    alert_id: int | None = None,
) -> bool:
    """Queue one SMS to a committee member; False when that key was queued before."""
    return (
        enqueue(
            session,
            rt.vault,
            to_e164=rt.vault.decrypt(member.phone_enc),
            body=body,
            purpose=purpose,
            now=now,
            dedupe_key=dedupe_key,
            alert_id=alert_id,
            member_id=member.member_id,
        )
        is not None
    )
