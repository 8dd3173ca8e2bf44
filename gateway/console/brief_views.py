"""The committee's side: what a committee user lands on (their area, its open alerts
with what to do, the last weekly digest, the trend), and the monthly brief of an area
(/console/brief?area=), one A4 page for the committee's monthly meeting: index and
trend, incidents by kind, alerts and their outcomes over the last 30 days.

The figures come from the shared tables (their suppression); nothing here counts
reporters itself."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass

from flask import abort, request
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from gateway.console import glance
from gateway.console.access import area_of, current_user, runtime, with_descendants
from gateway.console.blueprint import bp
from gateway.console.i18n import language
from gateway.console.pages import render
from gateway.domain.trust_index import NATIONAL
from gateway.gazetteer.index import Gazetteer, gazetteer
from gateway.models import (
    Alert,
    AlertState,
    Committee,
    CommitteeMember,
    ConsoleUser,
    Incident,
    OutboxMessage,
    Role,
)
from gateway.services.figures.tables import CURRENT, K_MIN, figures, table, top_pcodes

BRIEF_ALERTS = 8  # rows of alerts that still fit the page
DIGEST_ROUND = dt.timedelta(hours=1)  # a digest round is queued well within this


@dataclass(frozen=True)
class Digest:
    at: dt.datetime
    body: str


def last_digest(session: Session, committee_id: int, language: str) -> Digest | None:
    """The newest weekly digest queued for a member of the committee, in `language`
    when a member got that round in it (a round is queued within minutes)."""
    mine = (
        select(OutboxMessage.created_at, OutboxMessage.body, CommitteeMember.language)
        .join(CommitteeMember, CommitteeMember.id == OutboxMessage.member_id)
        .where(CommitteeMember.committee_id == committee_id, OutboxMessage.purpose == "digest")
        .order_by(OutboxMessage.created_at.desc(), OutboxMessage.id.desc())
    )
    newest = session.execute(mine.limit(1)).first()
    if newest is None:
        return None
    same_round = mine.where(OutboxMessage.created_at >= newest[0] - DIGEST_ROUND)
    for at, body, lang in session.execute(same_round):
        if lang == language:
            return Digest(at, body)
    return Digest(newest[0], newest[1])


def committee_of(session: Session, user: ConsoleUser) -> Committee | None:
    if user.role != Role.COMMITTEE or user.committee_id is None:
        return None
    return session.get(Committee, user.committee_id)


def brief_scope(gaz: Gazetteer, area: set[int] | None) -> str:
    """?area= when allowed (404 otherwise), else the viewer's own top area or Mali."""
    raw = request.args.get("area", "").strip().upper()[:24]
    if raw:
        loc = gaz.ids.get(raw)
        if loc is None or (area is not None and loc not in area):
            abort(404)
        return raw
    tops = top_pcodes(gaz, area) if area is not None else []
    if area is not None and not tops:
        abort(404)
    return tops[0] if tops else NATIONAL


@bp.route("/brief")
def brief() -> str:
    rt = runtime()
    user = current_user()
    gaz = gazetteer(rt)
    now = rt.now()
    show_small = user.role == Role.ADMIN
    with rt.sessions() as session:
        area = area_of(user, session)
        pcode = brief_scope(gaz, area)
        places = None if pcode == NATIONAL else with_descendants(rt, [gaz.ids[pcode]])
        fig = figures(session, rt, now)
        head = table(fig, gaz, [pcode], show_small=show_small, area=area)[0]
        chart = glance.series(session, rt, [pcode], now, show_small)[pcode]
        results = glance.questions(session, rt, pcode, now, show_small, language())
        since = now - CURRENT
        kinds = Counter(dict(incident_kinds(session, places, since, now)))
        query = select(Alert).where(
            or_(Alert.opened_at >= since, Alert.state != AlertState.CLOSED),
        )
        if places is not None:
            query = query.where(Alert.locality_id.in_(places))
        alerts = list(session.scalars(query.order_by(Alert.opened_at.desc(), Alert.id.desc())))
    outcomes = Counter(
        "open" if a.state != AlertState.CLOSED else (a.outcome or "resolved") for a in alerts
    )
    return render(
        "brief.html",
        head=head,
        place=head.name,
        spark=glance.sparkline(chart, 300, 70),
        results=results,
        kinds=kinds.most_common(),
        alerts=alerts[:BRIEF_ALERTS],
        more_alerts=max(0, len(alerts) - BRIEF_ALERTS),
        outcomes=outcomes,
        names={a.locality_id: gaz.name_of(a.locality_id) for a in alerts},
        since=since,
        now=now,
        k=K_MIN,
    )


def incident_kinds(
    session: Session, places: set[int] | None, since: dt.datetime, now: dt.datetime
) -> list[tuple[str, int]]:
    query = select(Incident.kind, func.count()).where(
        Incident.reported_at >= since, Incident.reported_at < now, Incident.burst.is_(False)
    )
    if places is not None:
        query = query.where(Incident.locality_id.in_(places))
    return [(str(k), int(n)) for k, n in session.execute(query.group_by(Incident.kind))]
