"""A USSD questionnaire's answers stored by one statement, committed on its own.

On PostgreSQL a counted step (`ussd_steps.known_caller_step`) whose effects are its
answers so far, with the caller's new home or language, stores them by one
INSERT ... SELECT in autocommit: the rows `reports.record_ratings` stores through the
session (the same burst flag, each answer keyed by session and question, an answer
stored before skipped), the caller's row updated by a data-modifying CTE of the same
statement, with what is kept for the next call (`pending`). One statement commits all
of it or nothing, and with the default (durable) commit: the session's BEGIN, its
three to four round trips and its COMMIT cost a rating step more CPU than its answer
(callgrind, BENCHMARKS.md).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import (
    ARRAY,
    Boolean,
    Engine,
    Insert,
    Integer,
    String,
    Table,
    bindparam,
    case,
    exists,
    false,
    func,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql

from gateway.db import dbapi_autocommit
from gateway.models import Reporter, TrustRating
from gateway.prepared import prepared_write
from gateway.services.intake.reports import BURST_MIN_SUBMISSIONS, BURST_WINDOW

Pending = tuple[dict[str, Any] | None, dt.datetime | None]


def store_answers(
    engine: Engine,
    caller_id: int,
    locality_id: int,
    answers: Sequence[tuple[str, int]],
    *,
    source_ref: str,
    now: dt.datetime,
    language: str | None = None,
    home: int | None = None,
    pending: Pending | None = None,
) -> None:
    """PostgreSQL: store `answers` as `reports.record_ratings` does (source "ussd"),
    and the caller's new `language`, `home` and `pending` (None: unchanged), in one
    statement committed on its own."""
    if not answers:
        raise ValueError("no answers to store")
    for _, value in answers:
        if not 1 <= value <= 5:
            raise ValueError(f"rating {value} is outside 1 to 5")
    kept, until = pending if pending is not None else (None, None)
    values = {
        "caller_id": caller_id,
        "loc": locality_id,
        "now": now,
        "since": now - BURST_WINDOW,
        "first_question": answers[0][0],
        "first_ref": f"{source_ref}:{answers[0][0]}"[:160],
        "questions": [question for question, _ in answers],
        "answers": [value for _, value in answers],
        "refs": [f"{source_ref}:{question}"[:160] for question, _ in answers],
        "change_caller": language is not None or home is not None or pending is not None,
        "new_language": language,
        "new_home": home,
        "set_pending": pending is not None,
        "new_pending": kept,
        "new_pending_until": until,
    }
    with dbapi_autocommit(engine) as cursor:
        prepared_write(_statement(), engine.dialect).run(cursor, values)


def _burst() -> Any:
    """`reports._is_burst` for this caller's first question, as one expression: the
    flag a questionnaire's first answer was stored with, else whether this caller
    already rated here within the hour and the locality's submissions in that hour
    (with this one) reach BURST_MIN_SUBMISSIONS from at most two people."""
    ratings = cast(Table, TrustRating.__table__)
    who, me = ratings.c.reporter_id, bindparam("caller_id", type_=Integer)
    recent = [
        ratings.c.locality_id == bindparam("loc", type_=Integer),
        ratings.c.rated_at >= bindparam("since", type_=ratings.c.rated_at.type),
        ratings.c.question == bindparam("first_question", type_=ratings.c.question.type),
    ]
    mine = select(func.count()).where(*recent, who == me).scalar_subquery()
    other = select(who).where(*recent, who != me).limit(1).scalar_subquery()
    third = exists().where(*recent, who != me, who != other)
    submissions = select(func.count()).where(*recent).scalar_subquery()
    fresh = case((or_(mine == 0, third), false()), else_=submissions + 1 >= BURST_MIN_SUBMISSIONS)
    first_ref = bindparam("first_ref", type_=ratings.c.source_ref.type)
    earlier = select(ratings.c.burst).where(ratings.c.source_ref == first_ref).scalar_subquery()
    return func.coalesce(earlier, fresh)


def _caller_update() -> Any:
    """UPDATE reporters SET language, home (kept when NULL), pending (when asked)
    WHERE id, only when something changes (else it matches no row); a CTE."""
    table = cast(Table, Reporter.__table__)
    set_pending = bindparam("set_pending", type_=Boolean)
    pending = bindparam("new_pending", type_=table.c.pending.type)
    until = bindparam("new_pending_until", type_=table.c.pending_until.type)
    return (
        update(table)
        .where(
            table.c.id == bindparam("caller_id", type_=Integer),
            bindparam("change_caller", type_=Boolean),
        )
        .values(
            language=func.coalesce(
                bindparam("new_language", type_=table.c.language.type), table.c.language
            ),
            home_locality_id=func.coalesce(
                bindparam("new_home", type_=Integer), table.c.home_locality_id
            ),
            pending=case((set_pending, pending), else_=table.c.pending),
            pending_until=case((set_pending, until), else_=table.c.pending_until),
        )
        .cte("caller")
    )


@functools.cache
def _statement() -> Insert:
    """WITH caller AS (UPDATE reporters ...) INSERT INTO trust_ratings SELECT ...
    FROM unnest(questions, answers, refs) ON CONFLICT (source_ref) DO NOTHING;
    built once."""
    ratings = cast(Table, TrustRating.__table__)
    given = (
        func.unnest(
            bindparam("questions", type_=ARRAY(String)),
            bindparam("answers", type_=ARRAY(Integer)),
            bindparam("refs", type_=ARRAY(String)),
        )
        .table_valued("question", "value", "source_ref")
        .render_derived()
    )
    rows = select(
        bindparam("caller_id", type_=Integer),
        bindparam("loc", type_=Integer),
        given.c.question,
        given.c.value,
        bindparam("now", type_=ratings.c.rated_at.type),
        literal("ussd", String),
        given.c.source_ref,
        _burst(),
        false(),
    ).select_from(given)
    names = [
        "reporter_id",
        "locality_id",
        "question",
        "value",
        "rated_at",
        "source",
        "source_ref",
        "burst",
        "rolled",
    ]
    insert = postgresql.insert(ratings).from_select(names, rows, include_defaults=False)
    statement = insert.on_conflict_do_nothing(index_elements=[ratings.c.source_ref])
    return cast(Insert, statement.add_cte(_caller_update()))
