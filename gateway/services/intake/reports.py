"""Recording what citizens tell us: ratings, incidents, home locality, subscriptions.

Each report carries a `source_ref` unique in the database (the USSD session, the SMS
id), so a replayed step or a redelivered SMS stores it once.
"""

from __future__ import annotations

import datetime as dt
import functools
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import Integer, Select, bindparam, delete, exists, func, select
from sqlalchemy.orm import Session

from gateway.domain import ussd_types as fx
from gateway.domain.ussd_screens import REF_ALPHABET
from gateway.gazetteer.index import gazetteer
from gateway.models import Incident, Reporter, Subscription, TrustRating
from gateway.runtime import Runtime
from gateway.upsert import insert_ignore_rows

# A burst: many submissions in one locality within an hour from very few people.
BURST_WINDOW = dt.timedelta(hours=1)
BURST_MIN_SUBMISSIONS = 6
BURST_MAX_REPORTERS = 2


class Identified(Protocol):
    """A reporter as the stores need them: their id (a Reporter, or a USSD caller whose
    ORM object is not built)."""

    @property
    def id(self) -> int: ...


class UssdCaller(Identified, Protocol):
    """The caller of a USSD step: their current language and home, how a new one is
    stored, and their ORM object, persistent in a session, built only for a
    subscription."""

    @property
    def language(self) -> str | None: ...

    @property
    def home_locality_id(self) -> int | None: ...

    def change(
        self, session: Session, *, language: str | None = None, home: int | None = None
    ) -> None: ...

    def reporter(self, session: Session) -> Reporter: ...


def new_ref_code() -> str:
    """A report reference people can read out and type: `R` and five characters."""
    return "R" + "".join(secrets.choice(REF_ALPHABET) for _ in range(5))


def _is_burst(
    session: Session,
    model: type[TrustRating] | type[Incident],
    locality_id: int,
    reporter_id: int,
    now: dt.datetime,
    question: str | None = None,
) -> bool:
    """Part of a burst: this reporter already sent something here within the hour, and
    the locality got many submissions in that hour from very few people."""
    check, count_all = _burst_statements(model, question is not None)
    params: dict[str, Any] = {"loc": locality_id, "since": now - BURST_WINDOW, "me": reporter_id}
    if question is not None:
        params["question"] = question
    mine, crowded = session.execute(check, params).one()
    if not mine or crowded:
        return False
    submissions = session.execute(count_all, params).scalar()
    return bool((submissions or 0) + 1 >= BURST_MIN_SUBMISSIONS)


@functools.cache
def _burst_statements(model: Any, by_question: bool) -> tuple[Select[Any], Select[Any]]:
    """The burst check's two statements, built once (SQLAlchemy's compiled cache then
    serves every later check). The first answers in one round trip in the common
    cases: this reporter's count here (none: their first of the hour, never a burst)
    and whether a third person sent here too (then not "very few people"); LIMIT 1
    and EXISTS stop at the first row found. The second counts every submission."""
    time_col = model.rated_at if model is TrustRating else model.reported_at
    who, me = model.reporter_id, bindparam("me", type_=Integer)
    recent = [model.locality_id == bindparam("loc"), time_col >= bindparam("since")]
    if by_question:
        recent.append(TrustRating.question == bindparam("question"))
    mine = select(func.count()).select_from(model).where(*recent, who == me).scalar_subquery()
    other = select(who).where(*recent, who != me).limit(1).scalar_subquery()
    third = exists().where(*recent, who != me, who != other)
    return select(mine, third), select(func.count()).select_from(model).where(*recent)


def record_ratings(
    session: Session,
    reporter: Identified,
    locality_id: int,
    answers: Sequence[tuple[str, int]],
    *,
    source: str,
    source_ref: str,
    now: dt.datetime,
) -> int:
    """Store a questionnaire's answers (or one SMS rating); returns how many were new."""
    if not answers:
        return 0
    # A questionnaire is stored answer by answer: its later answers share the flag
    # given to its first, whatever was stored around them since.
    first_ref = f"{source_ref}:{answers[0][0]}"[:160]
    earlier = None
    if len(answers) > 1:  # a lone answer stored before is not stored again: no flag needed
        earlier = session.scalar(
            select(TrustRating.burst).where(TrustRating.source_ref == first_ref)
        )
    if earlier is not None:
        burst = bool(earlier)
    else:
        burst = _is_burst(session, TrustRating, locality_id, reporter.id, now, answers[0][0])
    rows = []
    for question, value in answers:
        if not 1 <= value <= 5:
            raise ValueError(f"rating {value} is outside 1 to 5")
        rows.append(
            {
                "reporter_id": reporter.id,
                "locality_id": locality_id,
                "question": question,
                "value": value,
                "rated_at": now,
                "source": source,
                "source_ref": f"{source_ref}:{question}"[:160],
                "burst": burst,
            }
        )
    # One statement: a USSD step hands over every answer so far, the earlier ones
    # already stored (and skipped by their source_ref).
    return insert_ignore_rows(session, TrustRating.__table__, rows)


@dataclass(frozen=True)
class IncidentReport:
    """An incident as SMS and USSD both hand it over to be stored."""

    kind: str  # a stable incident kind code: attack, kidnapping, ...
    locality_id: int
    occurred: str  # today, yesterday, week, earlier
    danger_now: bool
    text: str | None  # free text, stored encrypted
    source: str  # sms, ussd
    source_ref: str  # unique per submission: a resent one is stored once
    ref_code: str  # the code offered to the reporter (changed only on a collision)


def record_incident(
    session: Session,
    rt: Runtime,
    reporter: Identified | None,
    report: IncidentReport,
    now: dt.datetime,
) -> str | None:
    """Store one incident; its reference code, or None if its source_ref was stored."""
    existing = session.scalar(
        select(Incident.ref_code).where(Incident.source_ref == report.source_ref[:160])
    )
    if existing is not None:
        return None
    locality_id = report.locality_id
    burst = _is_burst(session, Incident, locality_id, reporter.id, now) if reporter else False
    for attempt in range(5):
        code = report.ref_code if attempt == 0 else new_ref_code()
        taken = session.scalar(select(Incident.id).where(Incident.ref_code == code))
        if taken is None:
            break
    session.add(
        Incident(
            ref_code=code,
            kind=report.kind,
            locality_id=locality_id,
            reporter_id=reporter.id if reporter else None,
            occurred=report.occurred,
            reported_at=now,
            danger_now=report.danger_now,
            text_enc=rt.vault.encrypt(report.text) if report.text else None,
            source=report.source,
            source_ref=report.source_ref[:160],
            burst=burst,
        )
    )
    session.flush()
    return code


def subscribe(
    session: Session,
    rt: Runtime,
    reporter: Reporter,
    e164: str,
    locality_id: int,
    now: dt.datetime,
) -> None:
    """Consent to information messages for an area; the number is kept encrypted for as
    long as the subscription lasts (and erased by STOP or leaving)."""
    current = session.scalar(select(Subscription).where(Subscription.reporter_id == reporter.id))
    if current is None:
        session.add(
            Subscription(
                reporter_id=reporter.id,
                locality_id=locality_id,
                phone_enc=rt.vault.encrypt(e164),
                created_at=now,
            )
        )
    else:
        current.locality_id = locality_id
        current.phone_enc = rt.vault.encrypt(e164)
    reporter.opted_out = False
    session.flush()


def unsubscribe(session: Session, reporter: Identified) -> bool:
    result = session.execute(delete(Subscription).where(Subscription.reporter_id == reporter.id))
    return bool(result.rowcount)  # type: ignore[attr-defined]


def apply_ussd_effect(
    session: Session,
    rt: Runtime,
    caller: UssdCaller,
    e164: str,
    provider: str,
    session_id: str,
    effect: fx.Effect,
) -> None:
    """Apply what a completed USSD step asks for, once per session however often the
    step is resent. The caller's ORM object is built only for a subscription: a new
    language or home is one UPDATE, an answer needs the caller's id alone."""
    now = rt.now()
    ref = f"ussd:{provider}:{session_id}"
    places = gazetteer(rt)
    if isinstance(effect, fx.SetLanguage):
        if caller.language != effect.lang:
            caller.change(session, language=effect.lang)
    elif isinstance(effect, fx.SetHome):
        home = places.id_of(effect.pcode)
        if caller.home_locality_id != home:  # each answer of a questionnaire repeats it
            caller.change(session, home=home)
    elif isinstance(effect, fx.RecordRatings):
        record_ratings(
            session,
            caller,
            places.id_of(effect.pcode),
            effect.answers,
            source="ussd",
            source_ref=ref,
            now=now,
        )
    elif isinstance(effect, fx.RecordIncident):
        report = IncidentReport(
            kind=effect.kind,
            locality_id=places.id_of(effect.pcode),
            occurred=effect.when,
            danger_now=effect.danger_now,
            text=None,
            source="ussd",
            source_ref=ref,
            ref_code=effect.ref_code,
        )
        record_incident(session, rt, caller, report, now)
    elif isinstance(effect, fx.Subscribe):
        subscribe(session, rt, caller.reporter(session), e164, places.id_of(effect.pcode), now)
    elif isinstance(effect, fx.Unsubscribe):
        unsubscribe(session, caller)
    session.flush()
