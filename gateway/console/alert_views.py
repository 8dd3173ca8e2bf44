"""The alerts inbox and each alert's page: why it fired, where, who was told, what
happened since. The actions (acknowledge, close, reopen) are in alert_action_views."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from flask import abort, redirect, request, url_for
from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session
from werkzeug.wrappers import Response

from gateway.console.access import area_of, area_page, current_user, runtime, with_descendants
from gateway.console.blueprint import bp
from gateway.console.i18n import language
from gateway.console.pages import day_start, parse_day, render
from gateway.console.wording import alert_figures, member_names
from gateway.gazetteer.index import gazetteer
from gateway.models import (
    Alert,
    AlertEvent,
    AlertState,
    Committee,
    CommitteeMember,
    Locality,
    OutboxMessage,
    Role,
)
from gateway.runtime import Runtime
from gateway.services.alerts.lifecycle import OUTCOMES
from gateway.services.alerts.messages import render_alert


@dataclass(frozen=True)
class Filters:
    state: str
    rule: str
    place: str
    since: dt.date | None
    until: dt.date | None

    @classmethod
    def from_request(cls) -> Filters:
        args = request.args
        state = args.get("state", "")
        return cls(
            state=state if state in {s.value for s in AlertState} else "",
            rule=args.get("rule", "").strip()[:30],
            place=args.get("place", "").strip()[:120],
            since=parse_day(args.get("since")),
            until=parse_day(args.get("until")),
        )


def places_matching(session: Session, rt: Runtime, text: str) -> set[int]:
    """Localities whose P-code is `text` or whose name contains it, with all under them."""
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    ids = session.scalars(
        select(Locality.id).where(
            or_(
                Locality.pcode == text.upper(),
                func.lower(Locality.name).like(f"%{escaped}%", escape="\\"),
            )
        )
    ).all()
    return with_descendants(rt, ids)


def place_and_days(
    query: Select[Any],
    where: tuple[Session, Runtime, str],
    locality: InstrumentedAttribute[Any],
    days: tuple[InstrumentedAttribute[Any], dt.date | None, dt.date | None],
) -> Select[Any]:
    """`query` kept to rows whose `locality` is in (or under) the places matching the
    typed text, and whose time column falls on the days since..until, both included;
    an empty text or day sets no bound."""
    session, rt, text = where
    column, since, until = days
    if text:
        query = query.where(locality.in_(places_matching(session, rt, text)))
    if since:
        query = query.where(column >= day_start(since))
    if until and until < dt.date.max:  # the last day there is bounds nothing (no day after it)
        query = query.where(column < day_start(until + dt.timedelta(days=1)))
    return query


def _filtered(query: Select[Any], f: Filters, session: Session, rt: Runtime) -> Select[Any]:
    if f.state:
        query = query.where(Alert.state == AlertState(f.state))
    if f.rule:
        query = query.where(Alert.rule == f.rule)
    days = (Alert.opened_at, f.since, f.until)
    return place_and_days(query, (session, rt, f.place), Alert.locality_id, days)


@bp.route("/alerts")
def alerts() -> str:
    rt = runtime()
    f = Filters.from_request()
    with rt.sessions() as session:
        query = _filtered(select(Alert), f, session, rt)
        page = area_page(session, query, Alert.locality_id, Alert.opened_at.desc(), Alert.id.desc())
    places = gazetteer(rt)
    return render(
        "alerts.html",
        alerts=page.rows,
        names={a.locality_id: places.name_of(a.locality_id) for a in page.rows},
        filters=f,
        rules=sorted(rt.reference.rules),
        states=[s.value for s in AlertState],
        page=page.number,
        more=page.more,
    )


def visible_alert(session: Session, alert_id: int) -> Alert:
    """The alert, or 404 when it does not exist or is outside the user's area (the
    same answer, so a committee user learns nothing of other areas)."""
    alert = session.get(Alert, alert_id)
    if alert is None:
        abort(404)
    area = area_of(current_user(), session)
    if area is not None and alert.locality_id not in area:
        abort(404)
    return alert


@bp.route("/alerts/<code>")
def alert_by_code(code: str) -> Response:
    """The alert whose SMS carries `code` (A123, any case): a chair types what they read."""
    with runtime().sessions() as session:
        alert_id = session.scalar(select(Alert.id).where(Alert.code == code.upper()[:12]))
        alert = visible_alert(session, alert_id if alert_id is not None else 0)
    return redirect(url_for("console.alert_detail", alert_id=alert.id))


@bp.route("/alerts/<int:alert_id>")
def alert_detail(alert_id: int) -> str:
    rt = runtime()
    with rt.sessions() as session:
        alert = visible_alert(session, alert_id)
        notified = session.execute(
            select(OutboxMessage, CommitteeMember.name, Committee.name)
            .outerjoin(CommitteeMember, CommitteeMember.id == OutboxMessage.member_id)
            .outerjoin(Committee, Committee.id == CommitteeMember.committee_id)
            .where(OutboxMessage.alert_id == alert.id)
            .order_by(OutboxMessage.created_at, OutboxMessage.id)
        ).all()
        events = session.scalars(
            select(AlertEvent)
            .where(AlertEvent.alert_id == alert.id)
            .order_by(AlertEvent.at, AlertEvent.id)
        ).all()
        members = member_names(session, (e.actor for e in events))
    places = gazetteer(rt)
    spec = rt.reference.rules.get(alert.rule)
    figures = alert_figures(alert.figures or {}, spec.params if spec else {})
    said = render_alert(
        rt.reference.alert_texts,
        language(),
        alert.rule,
        alert.code,
        places.name_of(alert.locality_id),
        alert.figures or {},
        place_kind=places.entry(alert.locality_id).kind,
    )
    return render(
        "alert.html",
        alert=alert,
        chain=[
            (places.pcodes[i], places.name_of(i), places.entry(i).kind)
            for i in places.chain(alert.locality_id)
        ],
        figures=figures,
        said=said,
        notified=notified,
        events=events,
        members=members,
        outcomes=OUTCOMES,
        can_act=current_user().role != Role.ANALYST,
    )
