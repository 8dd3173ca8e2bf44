"""A USSD step: the whole `text` path in, one screen out, effects applied once.

The menu is a pure function of the path (gateway.domain.ussd_menu), so a resent step
gives the same screen; the effects it asks for are keyed by the session, so a resent
last step stores its report once. For a gateway that sends only the latest answer,
the path is kept on the session's row and the latest answer appended (ussd_input).
"""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import text as sql
from sqlalchemy import update
from sqlalchemy.orm import Session

from gateway.db import DB_UNAVAILABLE, transaction
from gateway.domain import ussd_resume as resumes
from gateway.domain.ussd_menu import Replays, respond
from gateway.domain.ussd_types import Effect, Place, Screen, SetHome, SetLanguage, UssdContext
from gateway.gazetteer.index import Gazetteer, gazetteer
from gateway.logging_filters import redact
from gateway.models import UssdSession
from gateway.phones import normalize_phone
from gateway.runtime import Runtime
from gateway.services.intake import reports, ussd_input, ussd_resume
from gateway.services.intake.places import offered, parent_name
from gateway.services.intake.reporters import identify_reporter
from gateway.services.intake.routing import is_urgent, someone_will_be_told
from gateway.services.intake.ussd_steps import (
    Caller,
    Start,
    count_step,
    known_caller_step,
    store_caller,
    store_pending,
)

log = logging.getLogger(__name__)
MAX_PATH = 2000
LANGUAGE_MEMORY = 50_000
REPLAY_MEMORY = 20_000  # paths' stacks kept: a few states each, mostly shared
REPLAY_PATH = 200  # longer paths (no menu needs one) are replayed whole, never kept
SEARCH_LIMIT = 3  # candidates listed for a typed name, with "none of these" after


def answer_ussd(
    rt: Runtime,
    *,
    provider: str,
    session_id: str,
    phone: str,
    text: str,
    latest: bool = False,
    step: str | None = None,
) -> Screen:
    """The screen answering one USSD request (the handler writes it in its provider's
    wire format). `text` is the session's whole path, or with `latest` only the
    latest answer (`step`: the request's sequence value, when the gateway sends one).
    Raises PhoneError for a number outside PHONE_REGIONS; a database outage ends the
    session politely."""
    e164 = normalize_phone(phone, rt.settings.phone_regions)
    known = _languages(rt)
    pseudonym = rt.pseudonyms.pseudonym(e164)
    language = known.get(pseudonym) or rt.settings.default_language
    try:
        # The session connects only when the menu or the effects need the database.
        with rt.sessions() as session:
            caller, start, counted = _count_step(session, rt, provider, session_id, e164, pseudonym)
            language = start.language or language
            now = rt.now()
            if latest:
                text = ussd_input.session_path(
                    session,
                    rt,
                    provider=provider,
                    session_id=session_id,
                    latest=text,
                    step=step,
                    now=now,
                )
            resume = ussd_resume.kept(rt, caller, now)
            planned = resumes.plan(resume, session_id, text[:MAX_PATH])
            screen = _screen(session, rt, planned, session_id, start)
            if caller.language:
                _remember(known, pseudonym, caller.language)
            kept = resumes.after(
                planned, screen, provider=provider, session=session_id, start=_start_tuple(start)
            )
            changed = kept != resume and ussd_resume.enabled(rt)
            pending = ussd_resume.part(rt, kept, now) if changed else None
            # A continued report is keyed by the session it began in: stored once.
            left = planned.left
            key = (left.provider, left.origin) if left else (provider, session_id)
            _store(session, rt, caller, e164, key, screen, counted, pending, now)
            if latest and session.in_transaction():  # the kept path, and its row lock
                session.commit()
        return screen
    except DB_UNAVAILABLE:
        log.warning("database unavailable during a USSD step")
        return Screen("END", rt.reference.catalogues.render(language, "service_unavailable"))


def _screen(
    session: Session, rt: Runtime, planned: resumes.Plan, session_id: str, start: Start
) -> Screen:
    """The menu's answer to the path `planned` gives, from the start of the session it
    continues; or the offer to continue a report, or the goodbye of `0` there; or the
    end the continued one had."""
    if planned.end:
        return Screen("END", planned.end)
    if planned.path is None:
        menu = rt.reference.menu
        lang = (start.language if start.language in menu.languages else None) or (
            rt.settings.default_language
        )
        return (
            resumes.goodbye(lang, menu)
            if planned.leave
            else resumes.offer(lang, menu, planned.hint)
        )
    left = planned.left
    if left is not None:
        session_id, start = left.origin, Start(*left.start)
    context = _context(session, rt, session_id, start)
    path = planned.path[:MAX_PATH]
    replays = _replays(rt) if len(path) <= REPLAY_PATH else None
    return respond(path, context, rt.reference.menu, replays)


def _start_tuple(start: Start) -> tuple[str | None, int | None, bool]:
    return (start.language, start.home_id, start.subscribed)


def _store(
    session: Session,
    rt: Runtime,
    caller: Caller,
    e164: str,
    key: tuple[str, str],
    screen: Screen,
    counted: bool,
    pending: ussd_resume.Part | None,
    now: dt.datetime,
) -> None:
    """Apply the step's effects under `key` (provider, session) and store what is kept
    for the next call (`pending`, None when unchanged), in one transaction with them."""
    own = _caller_changes(rt, caller, screen.effects) if counted else None
    if own is not None:  # a language or home alone: one statement, no session
        if own != (None, None):
            store_caller(rt.engine, caller.id, *own)
        if pending is not None:
            store_pending(rt.engine, caller, *pending, now)
        return
    if screen.effects:
        # A step counted on its own (known_caller_step) leaves the effects a
        # transaction of their own, with the default durable commit.
        if not counted and session.get_bind().dialect.name == "postgresql":
            # A step that only counts itself may be lost in a crash, so its
            # commit does not wait for the disk (ussd_steps); a report does.
            session.execute(sql("SET LOCAL synchronous_commit TO ON"))
        for effect in screen.effects:
            reports.apply_ussd_effect(session, rt, caller, e164, *key, effect)
    if pending is not None:
        caller.set_pending(session, *pending, now)
    if session.in_transaction():  # else nothing to commit (a step counted alone)
        session.commit()


def _caller_changes(
    rt: Runtime, caller: Caller, effects: tuple[Effect, ...]
) -> tuple[str | None, int | None] | None:
    """The caller's new language and home (None where unchanged) when every effect of
    the step is one of these, else None: the effects then go through the session."""
    language = home = None
    for effect in effects:
        if isinstance(effect, SetLanguage):
            language = effect.lang if effect.lang != caller.language else language
        elif isinstance(effect, SetHome):
            place = gazetteer(rt).id_of(effect.pcode)
            home = place if place != caller.home_locality_id else home
        else:
            return None
    return language, home


def _languages(rt: Runtime) -> dict[str, str]:
    """Callers' languages seen by this process, so the apology during a database
    outage is in the caller's language (keyed by pseudonym, never by number)."""
    return rt.cached("ussd_languages", dict)


class _Replays:
    """The menu's replays (`ussd_menu.respond`) for one gazetteer: emptied when the
    gazetteer is rebuilt, and when full (a crude bound: forgetting costs a replay)."""

    def __init__(self) -> None:
        self.places: Gazetteer | None = None
        self.stacks: Replays = {}

    def of(self, places: Gazetteer) -> Replays:
        if places is not self.places or len(self.stacks) >= REPLAY_MEMORY:
            self.places, self.stacks = places, {}
        return self.stacks


def _replays(rt: Runtime) -> Replays:
    return rt.cached("ussd_replays", _Replays).of(gazetteer(rt))


def _remember(known: dict[str, str], pseudonym: str, language: str) -> None:
    if len(known) >= LANGUAGE_MEMORY:
        known.clear()  # a crude bound: forgetting only costs a French apology
    known[pseudonym] = language


def _context(session: Session, rt: Runtime, session_id: str, start: Start) -> UssdContext:
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


def _count_step(
    session: Session, rt: Runtime, provider: str, session_id: str, e164: str, pseudonym: str
) -> tuple[Caller, Start, bool]:
    """The caller (created on first contact), what the session began with, and whether
    the step's count is already committed: on PostgreSQL a known caller's step is one
    round trip, committed on its own; else the caller and the count are two statements
    in `session`'s transaction."""
    now = rt.now()
    if session.get_bind().dialect.name == "postgresql":
        ids = {"provider": provider, "session_id": session_id, "pseudonym": pseudonym}
        # First contact adds the caller, unless one may be known under a rotated key
        # (re-keyed below).
        version = None if rt.pseudonyms.previous_key else rt.pseudonyms.version
        known = known_caller_step(rt.engine, **ids, now=now, key_version=version)
        if known is not None:
            return known[0], known[1], True
    reporter = identify_reporter(session, rt.pseudonyms, e164, now)
    start = count_step(
        session, provider=provider, session_id=session_id, reporter=reporter, now=now
    )
    return Caller(reporter.language, loaded=reporter), start, False


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
