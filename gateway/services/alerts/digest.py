"""The weekly digest to each committee: the area's trust index and trend, incidents
of the last 7 days, open alerts. A national committee's area is the whole country."""

from __future__ import annotations

import datetime as dt
from collections import Counter

from sqlalchemy import func, select

from gateway.db import transaction
from gateway.domain.gsm7 import to_gsm7
from gateway.domain.rules import MIN_REPORTERS_FLOOR  # a digest never shows fewer
from gateway.domain.trust_index import NATIONAL, Aggregate
from gateway.gazetteer.index import Gazetteer, gazetteer
from gateway.models import Alert, AlertState, Committee, Incident
from gateway.runtime import Runtime
from gateway.services.alerts.jobstate import days
from gateway.services.alerts.messages import place_name, send_to_member
from gateway.services.alerts.recipients import members
from gateway.services.figures import measures, tables


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
        # Distinct people per area: one who rated two of its communes is one person.
        own = tables.own_people(session, gaz, question, now - days(30), now)
        people = tables.people_of(tables.parent_map(gaz), own)
        people_before = tables.people_by_pcode(
            session, gaz, question, now - days(120), now - days(30)
        )
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
        hidden = tables.hidden_of_window(gaz, own)
        for committee in session.scalars(select(Committee).where(Committee.active.is_(True))):
            loc = committee.locality_id
            area = set(gaz.pcodes) if loc is None else _area(gaz, loc)
            # An area hidden in the console (under 5, or derivable by subtraction from
            # published figures) gets no index here either.
            pcode = NATIONAL if loc is None else gaz.pcodes[loc]
            hide = pcode in hidden
            now_agg = Aggregate() if hide else _sum(current, area)
            before = _sum(baseline, area)
            for member in members(session, committee.id):
                body = digest_text(
                    texts,
                    member.language,
                    _place(texts, member.language, gaz, loc),
                    now_agg,
                    before,
                    sum(incidents[i] for i in area),
                    sum(open_alerts[i] for i in area),
                    place_kind=None if loc is None else gaz.entry(loc).kind,
                    people=(0 if hide else people.get(pcode, 0), people_before.get(pcode, 0)),
                )
                key = f"digest:{_week_key(now)}:c{committee.id}:m{member.member_id}"
                queued += send_to_member(session, rt, member, body, "digest", now, key)
    return queued


def _place(texts: dict[str, dict[str, object]], lang: str, gaz: Gazetteer, loc: int | None) -> str:
    """The committee's area as the digest names it (the country for a national one)."""
    if loc is not None:
        return gaz.name_of(loc)
    return str((texts.get(lang) or texts["fr"]).get("national") or texts["fr"]["national"])


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


def digest_text(
    texts: dict[str, dict[str, object]],
    lang: str,
    place: str,
    current: Aggregate,
    baseline: Aggregate,
    incidents: int,
    open_alerts: int,
    place_kind: str | None = None,
    people: tuple[int, int] | None = None,
) -> str:
    """The digest SMS in `lang`; the place named as an alert SMS names it, with its
    kind (`place_name`), the country without. `people`: the distinct people behind
    `current` and `baseline` (default: their counts of answers)."""
    n, n_before = people if people is not None else (current.n, baseline.n)
    catalogue = texts.get(lang) or texts["fr"]
    named = place_name(texts, lang, place, place_kind)
    values = {"place": named, "incidents": incidents, "open": open_alerts}
    if n < MIN_REPORTERS_FLOOR or current.mean is None:
        return to_gsm7(str(catalogue["digest_few"]).format(**values))
    trend = "="
    if n_before >= MIN_REPORTERS_FLOOR and baseline.mean is not None:
        delta = current.mean - baseline.mean
        trend = f"{delta:+.1f}" if abs(delta) >= 0.05 else "="
    point = str(catalogue.get("decimal") or ".")  # French and Bambara write 2,1
    values.update(
        index=f"{current.mean:.1f}/5".replace(".", point),
        trend=trend.replace(".", point),
        n=n,
    )
    return to_gsm7(str(catalogue["digest"]).format(**values))
