"""USSD sessions through the real webhook, as a caller on a basic phone lives them."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine, event, func, select

from gateway.db import transaction
from gateway.models import (
    Incident,
    Locality,
    Reporter,
    Subscription,
    TrustRating,
    UssdSession,
)
from gateway.runtime import Runtime
from tests.committees import add_to, seat
from tests.handlers.payloads import at_ussd

URL = "/webhooks/africastalking/ussd"


def dial(
    client: FlaskClient, text: str, session: str = "ATUid_1", phone: str = "+22376000001"
) -> str:
    response = client.post(URL, data=at_ussd(text=text, sessionId=session, phoneNumber=phone))
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert body.startswith(("CON ", "END "))
    return body


def walk(client: FlaskClient, answers: list[str], **kw: str) -> list[str]:
    """Every screen of a session, sending the whole path each time as the network does."""
    return [dial(client, "*".join(answers[:i]), **kw) for i in range(len(answers) + 1)]


def scalar(rt: Runtime, query: object) -> int:
    with rt.sessions() as session:
        return int(session.scalar(query) or 0)  # type: ignore[call-overload]


def test_a_first_call_rates_trust_by_typing_a_village_and_is_stored_once(
    client: FlaskClient, rt: Runtime
) -> None:
    screens = walk(client, ["1", "1", "sevare", "1", "4", "3", "2", "5"])
    assert "Langue" in screens[0]
    assert "Tapez le nom" in screens[2]
    assert "Sevare" in screens[3] or "Mopti" in screens[3]
    assert screens[-1].startswith("END ")
    dial(client, "1*1*sevare*1*4*3*2*5")  # the last step resent by the network
    assert scalar(rt, select(func.count()).select_from(TrustRating)) == 4
    with rt.sessions() as session:
        reporter = session.scalars(select(Reporter)).one()
        values = dict(session.execute(select(TrustRating.question, TrustRating.value)).all())
    assert reporter.language == "fr"
    assert reporter.home_locality_id is not None
    assert values["trust_dsf"] == 4


def test_a_known_caller_changes_language_and_home_and_their_answers_keep_their_home(
    client: FlaskClient, rt: Runtime
) -> None:
    """The caller's row changes only when an answer changes it: a new language, a new
    home; a questionnaire of a caller with a home leaves it as it was."""

    def reporter() -> Reporter:
        with rt.sessions() as session:
            return session.scalars(select(Reporter)).one()

    walk(client, ["1", "1", "sevare", "1", "4", "3", "2", "5"], session="rate")
    first_home = reporter().home_locality_id
    walk(client, ["5", "3"], session="lang")  # main menu, 5: language, 3: English
    assert reporter().language == "en"
    walk(client, ["3", "gao", "1"], session="home")  # 3: my home, typed
    moved = reporter()
    assert moved.home_locality_id not in (None, first_home) and moved.language == "en"
    walk(client, ["1", "1", "4", "3", "2", "5"], session="again")  # 1: my home again
    assert reporter().home_locality_id == moved.home_locality_id
    assert scalar(rt, select(func.count()).select_from(TrustRating)) == 8


def test_the_language_chosen_once_is_remembered_for_the_next_call(client: FlaskClient) -> None:
    walk(client, ["3", "0"], session="first")
    again = dial(client, "", session="second")
    assert "Rate" in again or "trust" in again.lower()
    assert "Langue / Kan" not in again


def test_an_incident_report_ends_with_a_code_and_is_stored_once_however_often_resent(
    client: FlaskClient, rt: Runtime
) -> None:
    walk(client, ["1", "3", "menaka", "1"])  # French, and a home: Ménaka
    path = ["2", "1", "1", "1", "1", "1"]
    screens = walk(client, path, session="report")
    end = screens[-1]
    assert end.startswith("END ")
    for _ in range(3):
        assert dial(client, "*".join(path), session="report") == end
    with rt.sessions() as session:
        incident = session.scalars(select(Incident)).one()
    assert incident.ref_code in end
    assert incident.danger_now is True
    assert incident.kind == "attack"
    assert incident.occurred == "today"


def test_a_wrong_answer_repeats_the_question_with_a_hint(client: FlaskClient) -> None:
    menu = dial(client, "1")
    wrong = dial(client, "1*9")
    assert wrong.startswith("CON ")
    assert wrong != menu
    assert menu.splitlines()[1] in wrong


def test_browsing_lists_regions_first_and_pages_through_them(client: FlaskClient) -> None:
    screens = walk(client, ["1", "3", "1"])
    regions = screens[-1]
    assert "Bamako" in regions and "Abala" not in regions.splitlines()[1]
    assert "98." in regions


def test_subscribe_then_leave(client: FlaskClient, rt: Runtime) -> None:
    walk(client, ["1", "4", "mopti", "1"], session="join")
    assert scalar(rt, select(func.count()).select_from(Subscription)) == 1
    walk(client, ["4", "1"], session="leave")
    assert scalar(rt, select(func.count()).select_from(Subscription)) == 0


def test_sessions_are_counted_per_step(client: FlaskClient, rt: Runtime) -> None:
    walk(client, ["1", "1"], session="counted")
    assert scalar(rt, select(UssdSession.steps).where(UssdSession.session_id == "counted")) == 3


def test_thousands_of_stars_get_a_screen_not_an_error(client: FlaskClient) -> None:
    body = dial(client, "*" * 5000)
    assert len(body) <= 164


# --- issue 10: points 5, 6, 8 and 10 ---------------------------------------------------


def test_a_questionnaire_dropped_part_way_keeps_each_answer_once(
    client: FlaskClient, rt: Runtime
) -> None:
    walk(client, ["1", "1", "sevare", "1", "4"], session="dropped")  # then hangs up
    dial(client, "1*1*sevare*1*4", session="dropped")  # the step resent by the network
    with rt.sessions() as session:
        stored = session.execute(select(TrustRating.question, TrustRating.value)).all()
        reporter = session.scalars(select(Reporter)).one()
    assert [tuple(r) for r in stored] == [("trust_dsf", 4)]
    assert reporter.home_locality_id is not None
    walk(client, ["1", "1", "sevare", "1", "4", "2"], session="dropped")
    assert scalar(rt, select(func.count()).select_from(TrustRating)) == 2


def test_same_named_places_are_told_apart_and_a_region_leads_on_to_communes(
    client: FlaskClient, rt: Runtime
) -> None:
    screens = walk(client, ["1", "1", "Menakka"])
    picks = screens[-1]
    lines = [line for line in picks.splitlines() if line[:1] in "123456789" and line[1:2] == "."]
    assert len(lines) == len(set(lines)) >= 3
    assert any("(commune, Menaka)" in line for line in lines)
    assert any("(cercle)" in line for line in lines)
    assert any("(region)" in line for line in lines)
    assert "Aucun" in lines[-1]
    region = next(line[0] for line in lines if "(region)" in line)
    cercles = dial(client, f"1*1*Menakka*{region}")
    assert cercles.startswith("CON Cercle:")
    path = f"1*1*Menakka*{region}*1*1*4"
    dial(client, path.rsplit("*", 2)[0])
    dial(client, path.rsplit("*", 1)[0])
    dial(client, path)
    with rt.sessions() as session:
        kinds = session.scalars(
            select(Locality.kind).join(TrustRating, TrustRating.locality_id == Locality.id)
        ).all()
    assert kinds == ["commune"]


def test_none_of_these_types_again_and_a_poor_match_offers_nothing(client: FlaskClient) -> None:
    picks = walk(client, ["1", "3", "Menakka"])[-1]
    none = next(line[0] for line in picks.splitlines() if "Aucun" in line)
    assert "Tapez le nom" in dial(client, f"1*3*Menakka*{none}")
    poor = dial(client, "1*3*Intahaka")
    assert "Lieu introuvable" in poor and "1. " in poor and "2. " not in poor


def add_member(rt: Runtime, locality_name: str, kind: str) -> None:
    with transaction(rt.sessions) as s:
        place = s.scalars(
            select(Locality).where(Locality.name == locality_name, Locality.kind == kind)
        ).one()
        add_to(s, rt, place.id, {"+22370000011": "fr"})


def test_an_urgent_ussd_report_gives_the_number_and_names_the_committee_only_if_reached(
    client: FlaskClient, rt: Runtime
) -> None:
    walk(client, ["1", "3", "menaka", "1"])  # French, home Menaka
    nobody = dial(client, "2*1*1*1*1*1", session="urgent1")
    assert nobody.startswith("END ") and "17" in nobody and "comite" not in nobody
    add_member(rt, "Ménaka", "cercle")
    told = dial(client, "2*1*1*1*1*1", session="urgent2")
    assert "17" in told and "comite" in told
    calm = dial(client, "2*1*1*1*2*1", session="calm")
    assert "appelez" not in calm and "comite" in calm


def test_a_camp_report_in_danger_gives_that_countrys_number(client: FlaskClient) -> None:
    walk(client, ["1", "3", "Mbera"])
    dial(client, "1*3*Mbera*1")
    end = dial(client, "2*1*1*1*1*1", session="camp")
    assert "117" in end


def test_resending_the_last_step_of_subscribe_or_leave_repeats_it(
    client: FlaskClient, rt: Runtime
) -> None:
    walk(client, ["1", "4", "mopti", "1"], session="join")
    for _ in range(2):
        assert "Vous recevrez" in dial(client, "1*4*mopti*1", session="join")
    assert scalar(rt, select(func.count()).select_from(Subscription)) == 1
    walk(client, ["4", "1"], session="leave")
    for _ in range(2):
        dial(client, "4*1", session="leave")
    assert scalar(rt, select(func.count()).select_from(Subscription)) == 0


def test_the_confirmation_names_the_cercle_of_the_commune_chosen(client: FlaskClient) -> None:
    picks = walk(client, ["1", "3", "Benkadi"])[-1]
    dioila = next(line[0] for line in picks.splitlines() if "Dioila" in line)
    end = dial(client, f"1*3*Benkadi*{dioila}")
    assert end.startswith("END ") and "Benkadi (Dioila)" in end


def test_an_urgent_report_where_only_the_nation_has_a_committee_says_it_is_told(
    client: FlaskClient, rt: Runtime
) -> None:
    seat(rt, None, "+22370000012", name="CCS national")
    walk(client, ["1", "3", "gao", "1"])
    assert "comite" in dial(client, "2*1*1*1*1*1", session="urgent")


@contextlib.contextmanager
def statements_sent(engine: Engine) -> Iterator[list[str]]:
    """The first word of each statement handed to the driver, through SQLAlchemy or on
    a bare DBAPI cursor (psycopg: a recording cursor on every connection checked out)."""
    seen: list[str] = []

    def sent(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        seen.append(statement.split()[0].upper())

    if engine.dialect.name != "postgresql":
        event.listen(engine, "before_cursor_execute", sent)
        try:
            yield seen
        finally:
            event.remove(engine, "before_cursor_execute", sent)
        return
    import psycopg

    class Recording(psycopg.Cursor[Any]):
        def execute(self, query: Any, *args: Any, **kwargs: Any) -> Any:
            seen.append(str(query).split()[0].upper())
            return super().execute(query, *args, **kwargs)

    def checkout(dbapi_connection: Any, *_args: object) -> None:
        dbapi_connection.cursor_factory = Recording

    def checkin(dbapi_connection: Any, *_args: object) -> None:
        if dbapi_connection is not None:
            dbapi_connection.cursor_factory = psycopg.Cursor

    event.listen(engine, "checkout", checkout)
    event.listen(engine, "checkin", checkin)
    try:
        yield seen
    finally:
        event.remove(engine, "checkout", checkout)
        event.remove(engine, "checkin", checkin)


def test_a_step_that_records_nothing_is_one_statement_on_postgresql(
    client: FlaskClient, rt: Runtime
) -> None:
    """A known caller's menu step waits on one round trip on PostgreSQL (a CTE reads the
    caller and counts the step, giving what the session began with), and on two
    statements on SQLite (the caller, then the session's upsert)."""
    walk(client, ["1", "1"], session="lean")
    with statements_sent(rt.engine) as statements:
        dial(client, "1*1*mopti", session="lean")
    expected = ["WITH"] if rt.engine.dialect.name == "postgresql" else ["SELECT", "INSERT"]
    assert statements == expected
    assert scalar(rt, select(UssdSession.steps).where(UssdSession.session_id == "lean")) == 4


@pytest.mark.postgres
def test_a_step_that_records_nothing_begins_no_session_transaction_on_postgresql(
    client: FlaskClient, rt: Runtime
) -> None:
    """Its one statement runs on a DBAPI cursor: the ORM session is not committed
    (an empty commit still built and ended a session transaction)."""
    walk(client, ["1", "1"], session="lean")
    begun: list[object] = []

    def created(session: object, transaction: object) -> None:
        begun.append(transaction)

    event.listen(rt.sessions, "after_transaction_create", created)
    try:
        dial(client, "1*1*mopti", session="lean")
    finally:
        event.remove(rt.sessions, "after_transaction_create", created)
    assert begun == []


def test_a_session_begun_before_its_start_was_recorded_uses_the_current_subscription(
    client: FlaskClient, rt: Runtime
) -> None:
    walk(client, ["1", "4", "mopti", "1"], session="join-old")
    dial(client, "", session="old")
    with transaction(rt.sessions) as session:
        row = session.scalars(select(UssdSession).where(UssdSession.session_id == "old")).one()
        row.start_subscribed = None  # as in a session stored before the column existed
    screens = [dial(client, "4", session="old"), dial(client, "4*1", session="old")]
    assert screens[-1].startswith("END ")
    assert scalar(rt, select(func.count()).select_from(Subscription)) == 0  # it was a leave


def test_the_kept_replays_are_emptied_for_a_new_gazetteer_and_when_full(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from gateway.services.intake import ussd

    replays, old, new = ussd._Replays(), object(), object()
    replays.of(old)[("start", "1")] = ()  # type: ignore[arg-type]
    assert replays.of(old) and not replays.of(new)  # type: ignore[arg-type]
    monkeypatch.setattr(ussd, "REPLAY_MEMORY", 2)
    kept = replays.of(new)  # type: ignore[arg-type]
    kept.update({("s", "1"): (), ("s", "2"): ()})
    assert not replays.of(new)  # type: ignore[arg-type]


def test_only_short_paths_are_kept_for_the_next_step(client: FlaskClient, rt: Runtime) -> None:
    from gateway.services.intake import ussd

    dial(client, "1*" + "9" * 300, session="long")
    dial(client, "1*1", session="short")
    kept = rt.cached("ussd_replays", ussd._Replays).stacks
    assert [path for _start, path in kept] == ["1*1"]
