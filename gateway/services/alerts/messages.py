"""Who hears about an alert, and what the SMS says.

An alert goes to the active members of the committee nearest to its locality (the
commune's, else its cercle's, else its region's), each in their own language, in at
most two segments. It names the place, says what happened in words and figures, gives
the code and how to answer; never who reported, nor any free text or exact time.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.domain.gsm7 import to_gsm7
from gateway.gazetteer.index import Gazetteer
from gateway.models import Alert, Committee, CommitteeMember
from gateway.runtime import Runtime
from gateway.services.outbox.queue import enqueue

MAX_SEGMENTS = 2


def _number(value: Any, digits: int = 1) -> str:
    return f"{float(value):.{digits}f}".rstrip("0").rstrip(".") if value is not None else "?"


def render_alert(
    texts: Mapping[str, Mapping[str, Any]],
    lang: str,
    rule: str,
    code: str,
    place: str,
    figures: Mapping[str, Any],
    escalated: bool = False,
) -> str:
    """The alert SMS in `lang` (French when a text is missing), GSM 7-bit."""
    catalogue = texts.get(lang) or texts["fr"]
    template = catalogue.get(rule) or texts["fr"][rule]
    kinds = catalogue.get("kinds") or texts["fr"]["kinds"]
    delta = figures.get("delta")
    values = {
        "code": code,
        "place": to_gsm7(place)[:25],
        "index": _number(figures.get("index")),
        "delta": ("+" if (delta or 0) > 0 else "") + _number(delta),
        "days": int(figures.get("window_days") or figures.get("period_days") or 0),
        "n": int(figures.get("reporters") or 0),
        "count": _number(figures.get("count"), 0),
        "usual": _number(figures.get("usual") or figures.get("baseline_mean"), 1),
        "kind": kinds.get(str(figures.get("kind")), kinds["other"]),
    }
    prefix = (catalogue.get("escalated") or "") if escalated else ""
    return to_gsm7(prefix + template.format(**values))


@dataclass(frozen=True)
class Recipient:
    member_id: int
    committee_id: int
    language: str
    phone_enc: str


def committees_in_chain(session: Session, gaz: Gazetteer, locality_id: int) -> list[int]:
    """Committees covering the locality, nearest first (one per level that has one)."""
    chain = gaz.chain(locality_id)
    rows = session.execute(
        select(Committee.id, Committee.locality_id).where(
            Committee.locality_id.in_(chain), Committee.active.is_(True)
        )
    ).all()
    by_level = {loc: cid for cid, loc in sorted(rows)}
    return [by_level[loc] for loc in chain if loc in by_level]


def members(session: Session, committee_id: int) -> Sequence[Recipient]:
    rows = session.execute(
        select(CommitteeMember.id, CommitteeMember.language, CommitteeMember.phone_enc).where(
            CommitteeMember.committee_id == committee_id, CommitteeMember.active.is_(True)
        )
    ).all()
    return [Recipient(mid, committee_id, lang, enc) for mid, lang, enc in rows]


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
    """Queue the alert SMS to every member of the committee at `level` of the chain
    (0 = nearest). `round_key` names this sending (a severity, a re-arm, an
    escalation), so a second clock queues nothing twice. Returns messages queued."""
    committees = committees_in_chain(session, gaz, alert.locality_id)
    if level >= len(committees):
        return 0
    texts = rt.reference.alert_texts
    place = gaz.name_of(alert.locality_id)
    queued = 0
    for member in members(session, committees[level]):
        body = render_alert(
            texts, member.language, alert.rule, alert.code, place, alert.figures, level > 0
        )
        key = f"alert:{alert.id}:{round_key}:m{member.member_id}"
        queued += send_to_member(session, rt, member, body, "alert", now, key, alert.id)
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
