"""A USSD step: the whole `text` path in, one screen out, effects applied once.

The menu is a pure function of the path (gateway.domain.ussd_menu), so a resent step
gives the same screen; the effects it asks for are keyed by the session, so a resent
last step stores its report once.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Insert, Table, bindparam, func, select, update
from sqlalchemy import text as sql
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from gateway.db import DB_UNAVAILABLE, transaction
from gateway.domain.ussd_menu import respond
from gateway.domain.ussd_types import Place, Screen, UssdContext
from gateway.gazetteer.index import Gazetteer, gazetteer
from gateway.logging_filters import redact
from gateway.models import Reporter, Subscription, UssdSession
from gateway.phones import normalize_phone
from gateway.runtime import Runtime
from gateway.services.intake import reports
from gateway.services.intake.places import offered, parent_name
from gateway.services.intake.reporters import identify_reporter
from gateway.services.intake.routing import is_urgent, someone_will_be_told

log = logging.getLogger(__name__)
MAX_PATH = 2000
LANGUAGE_MEMORY = 50_000
SEARCH_LIMIT = 3  # candidates listed for a typed name, with "none of these" after


def answer_ussd(rt: Runtime, *, provider: str, session_id: str, phone: str, text: str) -> Screen:
    """The screen answering one USSD request (the handler writes it in its provider's
    wire format). Raises PhoneError for a
    number outside PHONE_REGIONS; a database outage ends the session politely."""
    e164 = normalize_phone(phone, rt.settings.phone_regions)
    known = _languages(rt)
    pseudonym = rt.pseudonyms.pseudonym(e164)
    language = known.get(pseudonym) or rt.settings.default_language
    try:
        with transaction(rt.sessions) as session:
            reporter = identify_reporter(session, rt.pseudonyms, e164, rt.now())
            start = _touch_session(session, rt, provider, session_id, reporter)
            language = start.language or language
            context = _context(session, rt, session_id, start)
            screen = respond(text[:MAX_PATH], context, rt.reference.menu)
            if screen.effects and session.get_bind().dialect.name == "postgresql":
                # A step that only counts itself may be lost in a crash, so its commit
                # does not wait for the disk (_touch_session); a report does.
                session.execute(sql("SET LOCAL synchronous_commit TO ON"))
            if reporter.language:
                _remember(known, pseudonym, reporter.language)
            for effect in screen.effects:
                reports.apply_ussd_effect(session, rt, reporter, e164, provider, session_id, effect)
        return screen
    except DB_UNAVAILABLE:
        log.warning("database unavailable during a USSD step")
        return Screen("END", rt.reference.catalogues.render(language, "service_unavailable"))


def _languages(rt: Runtime) -> dict[str, str]:
    """Callers' languages seen by this process, so the apology during a database
    outage is in the caller's language (keyed by pseudonym, never by number)."""
    return rt.cached("ussd_languages", dict)


def _remember(known: dict[str, str], pseudonym: str, language: str) -> None:
    if len(known) >= LANGUAGE_MEMORY:
        known.clear()  # a crude bound: forgetting only costs a French apology
    known[pseudonym] = language


@dataclass(frozen=True)
class _Start:
    """What the caller had when the session began: the menu replays the whole path
    from it, so a resent step does what it did the first time (a resent "subscribe"
    does not unsubscribe, a resent "leave" does not subscribe again)."""

    language: str | None
    home_id: int | None
    subscribed: bool


def _context(session: Session, rt: Runtime, session_id: str, start: _Start) -> UssdContext:
    places = gazetteer(rt)
    home = _place(places, places.pcodes[start.home_id]) if start.home_id else None

    def reaches(pcode: str, kind: str, danger: bool) -> bool:
        locality_id = places.id_of(pcode)
        urgent = danger and is_urgent(rt, session, places, kind, locality_id)
        return someone_will_be_told(session, places, locality_id, urgent=urgent)

    return UssdContext(
        session_id=session_id,
        language=start.language,
        home=home,
        subscribed=start.subscribed,
        search=lambda typed: _search(places, typed),
        children=lambda pcode: [_place(places, p.pcode) for p in places.children(pcode)],
        default_language=rt.settings.default_language,
        reaches=reaches,
        emergency_number=rt.reference.emergency.for_locality,
    )


def _place(places: Gazetteer, pcode: str) -> Place:
    entry = places.index.by_pcode(pcode)
    if entry is None:
        return Place(pcode, pcode)
    return Place(pcode, entry.name, entry.kind, parent_name(places, pcode))


def _search(places: Gazetteer, typed: str) -> list[Place]:
    """Candidates worth showing for a typed name (none when nothing matches well)."""
    return [_place(places, c.pcode) for c in offered(places.resolve(typed), SEARCH_LIMIT)]


def _touch_session(
    session: Session, rt: Runtime, provider: str, session_id: str, reporter: Reporter
) -> _Start:
    """Record the step; what the caller had when this session began. One statement:
    the first step inserts the session (with whether the caller is subscribed), every
    later one counts itself on it; both return what the session began with. On
    PostgreSQL it also lets this commit skip the wait for the disk (`answer_ussd`
    asks for it again when the step records something)."""
    now = rt.now()
    pg = session.get_bind().dialect.name == "postgresql"
    row = (
        session.connection()
        .execute(
            _step_statement(pg),
            {
                "provider": provider,
                "session_id": session_id,
                "reporter_id": reporter.id,
                "start_language": reporter.language,
                "start_home_id": reporter.home_locality_id,
                "started_at": now,
                "last_step_at": now,
                "steps": 1,
                "subscriber": reporter.id,
            },
        )
        .one()
    )
    if row.start_subscribed is None:  # a session begun before these were recorded
        subscribed = session.scalar(
            select(Subscription.id).where(Subscription.reporter_id == reporter.id)
        )
        return _Start(row.start_language, reporter.home_locality_id, subscribed is not None)
    return _Start(row.start_language, row.start_home_id, bool(row.start_subscribed))


@functools.cache
def _step_statement(pg: bool) -> Insert:
    """INSERT ... ON CONFLICT DO UPDATE counting the step, built once per backend."""
    table = cast(Table, UssdSession.__table__)
    subscribed = (
        select(Subscription.id).where(Subscription.reporter_id == bindparam("subscriber")).exists()
    )
    insert = (postgresql.insert if pg else sqlite.insert)(table).values(start_subscribed=subscribed)
    upsert = insert.on_conflict_do_update(
        index_elements=[table.c.provider, table.c.session_id],
        set_={"steps": table.c.steps + 1, "last_step_at": insert.excluded.last_step_at},
    )
    columns: list[ColumnElement[Any]] = [
        table.c.start_language,
        table.c.start_home_id,
        table.c.start_subscribed,
    ]
    if pg:  # SET LOCAL, riding on this round trip
        columns.append(func.set_config("synchronous_commit", "off", True))
    return upsert.returning(*columns)


def record_session_end(
    rt: Runtime, *, provider: str, session_id: str, status: str, cause: str | None
) -> None:
    """Africa's Talking's end-of-session event: kept on the session for monitoring
    (how many sessions time out or fail on a network)."""
    with transaction(rt.sessions) as session:
        session.execute(
            update(UssdSession)
            .where(UssdSession.provider == provider, UssdSession.session_id == session_id)
            .values(status=status[:30], end_cause=redact(cause)[:300] if cause else None)
        )


__all__ = ["Place", "Screen", "answer_ussd", "record_session_end"]
