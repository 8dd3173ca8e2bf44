"""A USSD caller's language and home, stored on their row by one statement."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, func, select

from gateway.models import Reporter, TrustRating
from gateway.runtime import Runtime
from tests.handlers.payloads import at_ussd
from tests.integration.test_ussd_flow import URL, dial, statements_sent, walk


def the_reporter(rt: Runtime) -> Reporter:
    with rt.sessions() as session:
        return session.scalars(select(Reporter)).one()


def test_a_new_callers_language_then_home_are_stored_and_nothing_else_changes(
    client: FlaskClient, rt: Runtime
) -> None:
    dial(client, "", session="new")
    created = the_reporter(rt)
    assert (created.language, created.home_locality_id) == (None, None)
    dial(client, "3", session="new")  # 3: English
    assert the_reporter(rt).language == "en"
    walk(client, ["3", "gao", "1"], session="home")  # 3: my home, typed
    after = the_reporter(rt)
    assert after.language == "en" and after.home_locality_id is not None
    kept = ("id", "pseudonym", "key_version", "opted_out", "notice_sent", "created_at")
    assert {k: getattr(after, k) for k in kept} == {k: getattr(created, k) for k in kept}


def test_a_first_answer_stores_the_home_with_the_answer(client: FlaskClient, rt: Runtime) -> None:
    walk(client, ["1", "1", "sevare", "1", "4"], session="rate")
    reporter = the_reporter(rt)
    with rt.sessions() as session:
        rating = session.scalars(select(TrustRating)).one()
    assert reporter.home_locality_id == rating.locality_id
    assert reporter.language == "fr"


def test_a_returning_callers_row_is_updated_in_place(client: FlaskClient, rt: Runtime) -> None:
    walk(client, ["1", "3", "menaka", "1"], session="first")  # French, home Ménaka
    first = the_reporter(rt)
    walk(client, ["5", "2"], session="second")  # 5: language, 2: Bambara
    walk(client, ["3", "gao", "1"], session="third")  # a new home
    moved = the_reporter(rt)
    assert moved.id == first.id and moved.language == "bm"
    assert moved.home_locality_id not in (None, first.home_locality_id)
    assert (moved.opted_out, moved.notice_sent) == (first.opted_out, first.notice_sent)
    with rt.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Reporter)) == 1


@pytest.mark.postgres
def test_a_step_that_only_chooses_a_language_is_two_statements_on_postgresql(
    client: FlaskClient, rt: Runtime
) -> None:
    """The step is counted (one statement), then the language stored by one UPDATE in
    autocommit: no BEGIN, no COMMIT, no ORM flush."""
    dial(client, "", session="lean")
    begun: list[object] = []

    def began(conn: object) -> None:
        begun.append(conn)

    event.listen(rt.engine, "begin", began)
    try:
        with statements_sent(rt.engine) as statements:
            dial(client, "2", session="lean")
    finally:
        event.remove(rt.engine, "begin", began)
    assert statements == ["WITH", "UPDATE"]
    assert begun == []  # no transaction: the driver's BEGIN and COMMIT are not sent
    assert the_reporter(rt).language == "bm"


@pytest.mark.postgres
def test_a_first_contact_is_counted_on_one_pooled_connection_without_a_transaction(
    client: FlaskClient, rt: Runtime
) -> None:
    """A new caller's first step: the count finds no reporter, the reporter is
    inserted, the step counted, all on one autocommit cursor."""
    dial(client, "", session="warm", phone="+22376000002")  # the gazetteer is loaded
    checkouts: list[object] = []
    begun: list[object] = []

    def checkout(*args: object) -> None:
        checkouts.append(args)

    def began(conn: object) -> None:
        begun.append(conn)

    event.listen(rt.engine, "checkout", checkout)
    event.listen(rt.engine, "begin", began)
    try:
        with statements_sent(rt.engine) as statements:
            dial(client, "", session="first")
    finally:
        event.remove(rt.engine, "checkout", checkout)
        event.remove(rt.engine, "begin", began)
    assert statements == ["WITH", "INSERT", "WITH"]
    assert (len(checkouts), begun) == (1, [])
    with rt.sessions() as session:
        versions = session.scalars(select(Reporter.key_version)).all()
    assert versions == [rt.pseudonyms.version] * 2


@pytest.mark.postgres
def test_two_first_steps_of_one_new_caller_at_once_make_one_row_and_no_error(
    app: Flask, rt: Runtime
) -> None:
    """The network resends, or two sessions start together: each request gets its
    screen; the caller is one row, with the language chosen."""
    forms = [
        at_ussd(text=t, sessionId=f"S{i}", phoneNumber="+22376000009")
        for i, t in enumerate(["1", "1", "1", "1", "", "", "", ""])
    ]
    barrier = threading.Barrier(len(forms))
    statuses: list[int] = []
    lock = threading.Lock()

    def post(form: dict[str, str]) -> None:
        client = app.test_client()
        barrier.wait()
        code = client.post(URL, data=form).status_code
        with lock:
            statuses.append(code)

    threads = [threading.Thread(target=post, args=(f,)) for f in forms]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert statuses == [200] * len(forms)
    reporter = the_reporter(rt)  # .one(): a second row would fail here
    assert reporter.language == "fr"
    assert isinstance(reporter.created_at, dt.datetime)
