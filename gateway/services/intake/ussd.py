"""A USSD step: the whole `text` path in, one screen out, effects applied once.

The menu is a pure function of the path (gateway.domain.ussd_menu), so a resent step
gives the same screen; the effects it asks for are keyed by the session, so a resent
last step stores its report once.
"""

from __future__ import annotations

import logging

from sqlalchemy import select, update
from sqlalchemy import text as sql
from sqlalchemy.orm import Session

from gateway.db import DB_UNAVAILABLE, transaction
from gateway.domain.ussd_menu import respond
from gateway.domain.ussd_types import Place, Screen, UssdContext
from gateway.gazetteer.index import gazetteer
from gateway.models import Reporter, Subscription, UssdSession
from gateway.phones import normalize_phone
from gateway.runtime import Runtime
from gateway.services.intake import reports
from gateway.services.intake.reporters import identify_reporter
from gateway.upsert import insert_ignore

log = logging.getLogger(__name__)
MAX_PATH = 2000
LANGUAGE_MEMORY = 50_000


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
            start_language = _touch_session(session, rt, provider, session_id, reporter)
            language = start_language or language
            context = _context(session, rt, reporter, session_id, start_language)
            screen = respond(text[:MAX_PATH], context, rt.reference.menu)
            if not screen.effects and session.get_bind().dialect.name == "postgresql":
                # Only the step counter changes: it may be lost in a crash, so this
                # commit need not wait for the disk (reports keep the durable commit).
                session.execute(sql("SET LOCAL synchronous_commit TO OFF"))
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


def _context(
    session: Session, rt: Runtime, reporter: Reporter, session_id: str, language: str | None
) -> UssdContext:
    places = gazetteer(rt)
    home = places.place(reporter.home_locality_id) if reporter.home_locality_id else None
    subscribed = session.scalar(
        select(Subscription.id).where(Subscription.reporter_id == reporter.id)
    )
    return UssdContext(
        session_id=session_id,
        language=language,
        home=home,
        subscribed=subscribed is not None,
        search=lambda typed: places.search(typed, limit=4),
        children=places.children,
        default_language=rt.settings.default_language,
    )


def _touch_session(
    session: Session, rt: Runtime, provider: str, session_id: str, reporter: Reporter
) -> str | None:
    """Record the step; the language the caller had when this session began."""
    now = rt.now()
    insert_ignore(
        session,
        UssdSession.__table__,
        {
            "provider": provider,
            "session_id": session_id[:100],
            "reporter_id": reporter.id,
            "start_language": reporter.language,
            "started_at": now,
            "last_step_at": now,
            "steps": 0,
        },
    )
    return session.execute(
        update(UssdSession)
        .where(UssdSession.provider == provider, UssdSession.session_id == session_id[:100])
        .values(steps=UssdSession.steps + 1, last_step_at=now)
        .returning(UssdSession.start_language)
    ).scalar()


def record_session_end(
    rt: Runtime, *, provider: str, session_id: str, status: str, cause: str | None
) -> None:
    """Africa's Talking's end-of-session event: kept on the session for monitoring
    (how many sessions time out or fail on a network)."""
    with transaction(rt.sessions) as session:
        session.execute(
            update(UssdSession)
            .where(UssdSession.provider == provider, UssdSession.session_id == session_id[:100])
            .values(status=(status[:20] + (f": {cause[:8]}" if cause else ""))[:30])
        )


__all__ = ["Place", "Screen", "answer_ussd", "record_session_end"]
