"""A USSD questionnaire's answers stored by one statement on PostgreSQL
(gateway.services.intake.ussd_answers) are the rows the session's path stores."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import event, select

from gateway.models import Locality, Reporter, TrustRating
from gateway.runtime import Runtime
from gateway.services.intake import reports, ussd, ussd_answers
from tests.integration.test_ussd_flow import dial, statements_sent, walk

QUESTIONNAIRE = ["1", "1", "sevare", "1", "4", "3", "2", "5"]
ROW = ("question", "value", "source", "rated_at", "burst", "rolled")


def ratings(rt: Runtime, reporter_id: int | None = None) -> list[tuple[Any, ...]]:
    """The stored ratings, without what names their session or caller."""
    with rt.sessions() as session:
        query = select(TrustRating).order_by(TrustRating.question)
        if reporter_id is not None:
            query = query.where(TrustRating.reporter_id == reporter_id)
        found = session.scalars(query).all()
        return [(*(getattr(r, c) for c in ROW), r.source_ref.rsplit(":", 1)[1]) for r in found]


def callers(rt: Runtime) -> list[tuple[Any, ...]]:
    with rt.sessions() as session:
        found = session.scalars(select(Reporter).order_by(Reporter.id)).all()
        return [(r.id, r.language, r.home_locality_id, r.pending is None) for r in found]


def session_path_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every effect through the session, as before ussd_answers."""
    monkeypatch.setattr(ussd, "_caller_changes", lambda *args: None)


def test_a_questionnaire_stores_the_rows_the_session_path_stores(
    client: FlaskClient, rt: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    walk(client, QUESTIONNAIRE[:6], session="cut", phone="+22376000001")  # hung up after 2
    walk(client, QUESTIONNAIRE, session="whole", phone="+22376000001")
    fast = ratings(rt)
    first = callers(rt)[0]
    with monkeypatch.context() as patched:
        session_path_only(patched)
        walk(client, QUESTIONNAIRE[:6], session="cut2", phone="+22376000002")
        walk(client, QUESTIONNAIRE, session="whole2", phone="+22376000002")
    second = callers(rt)[1]
    assert len(fast) == 6 and ratings(rt, second[0]) == ratings(rt, first[0])
    assert first[1:] == second[1:]  # language, home, nothing pending: the same


def test_a_resent_answer_is_stored_once(client: FlaskClient, rt: Runtime) -> None:
    walk(client, QUESTIONNAIRE[:5], session="again")
    for _ in range(3):
        dial(client, "*".join(QUESTIONNAIRE[:5]), session="again")
    walk(client, QUESTIONNAIRE, session="again")
    dial(client, "*".join(QUESTIONNAIRE), session="again")
    assert [r[0] for r in ratings(rt)] == sorted({r[0] for r in ratings(rt)})
    assert len(ratings(rt)) == 4


@pytest.mark.postgres
def test_an_answer_is_one_statement_after_the_count_with_no_transaction(
    client: FlaskClient, rt: Runtime
) -> None:
    walk(client, QUESTIONNAIRE[:4], session="lean")
    begun: list[object] = []

    def began(conn: object) -> None:
        begun.append(conn)

    event.listen(rt.engine, "begin", began)
    try:
        with statements_sent(rt.engine) as statements:
            dial(client, "*".join(QUESTIONNAIRE[:5]), session="lean")
    finally:
        event.remove(rt.engine, "begin", began)
    assert statements == ["WITH", "WITH"] and begun == []


@pytest.mark.postgres
def test_the_callers_home_and_pending_state_are_stored_with_the_answers_or_left(
    rt: Runtime,
) -> None:
    with rt.sessions() as session:
        place = session.scalars(select(Locality.id).limit(1)).one()
        caller = Reporter(pseudonym="p", key_version=1, created_at=NOW, language="fr")
        session.add(caller)
        session.commit()
        caller_id = caller.id
    until = NOW + dt.timedelta(minutes=15)
    ussd_answers.store_answers(
        rt.engine, caller_id, place, [("q1", 2)], source_ref="s", now=NOW,
        home=place, pending=({"ussd": "sealed"}, until),
    )  # fmt: skip
    assert callers(rt) == [(caller_id, "fr", place, False)]
    ussd_answers.store_answers(rt.engine, caller_id, place, [("q2", 2)], source_ref="s", now=NOW)
    with rt.sessions() as session:
        stored = session.get(Reporter, caller_id)
        assert stored is not None and stored.pending == {"ussd": "sealed"}
        assert (stored.pending_until, stored.home_locality_id) == (until, place)
    ussd_answers.store_answers(
        rt.engine, caller_id, place, [("q3", 2)], source_ref="s", now=NOW, pending=(None, None)
    )
    assert callers(rt) == [(caller_id, "fr", place, True)] and len(ratings(rt)) == 3


NOW = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)
ME, B, C = ("me", "q1"), ("b", "q1"), ("c", "q1")
# (label, ratings stored here in the last hour as (reporter, question), answers, burst)
HISTORIES: list[tuple[str, list[tuple[str, str]], list[tuple[str, int]], bool]] = [
    ("a first answer", [], [("q1", 4)], False),
    ("the same person again and again", [ME] * 5, [("q1", 2), ("q2", 5)], True),
    ("two people are still very few", [ME] * 3 + [B] * 2, [("q1", 1)], True),
    ("a third person: not a burst", [ME] * 3 + [B, C], [("q1", 1)], False),
    ("another question does not count", [("me", "q2")] * 6, [("q1", 3)], False),
    ("too few submissions", [ME] * 4, [("q1", 3)], False),
]


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("label", "history", "answers", "burst"), HISTORIES, ids=[h[0] for h in HISTORIES]
)
def test_the_statement_flags_a_burst_as_the_session_path_does(
    rt: Runtime,
    label: str,
    history: list[tuple[str, str]],
    answers: list[tuple[str, int]],
    burst: bool,
) -> None:
    with rt.sessions() as session:
        places = session.scalars(select(Locality.id).order_by(Locality.id).limit(2)).all()
        people = {}
        for n, name in enumerate(["me", "b", "c", "me2", "b2", "c2"]):
            people[name] = Reporter(pseudonym=f"p{n}", key_version=1, created_at=NOW)
            session.add(people[name])
        session.flush()
        for place, suffix in zip(places, ["", "2"], strict=True):
            for n, (who, question) in enumerate(history):
                person = people[who + suffix]
                reports.record_ratings(
                    session, person, place, [(question, 3)], source="sms",
                    source_ref=f"seed{suffix}:{n}", now=NOW - dt.timedelta(minutes=30),
                )  # fmt: skip
        ids = {name: person.id for name, person in people.items()}
        reports.record_ratings(
            session, people["me"], places[0], answers, source="ussd", source_ref="orm", now=NOW
        )
        session.commit()
    # A questionnaire's first answer, then all of them (its later answers share its flag).
    for given in (answers[:1], answers):
        ussd_answers.store_answers(
            rt.engine, ids["me2"], places[1], given, source_ref="one", now=NOW
        )
    by_session = [r for r in ratings(rt, ids["me"]) if r[2] == "ussd"]
    assert [r for r in ratings(rt, ids["me2"]) if r[2] == "ussd"] == by_session
    assert len(by_session) == len(answers) and {r[4] for r in by_session} == {burst}
