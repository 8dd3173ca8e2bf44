"""`/webhooks/ussd` with a gateway that sends only the latest answer (USSD_INPUT=latest,
the `freeflow` preset's default): the gateway keeps each session's path and the same
menu replays it. Each screen is checked against Africa's Talking's webhook (the whole
path each time) answering the same answers, in the same app."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from gateway.domain.ussd_input import EXPIRY
from gateway.models import Incident, Reporter, TrustRating, UssdSession
from gateway.runtime import Runtime
from gateway.services.upkeep.purge import forget_pending
from tests.conftest import Clock
from tests.handlers.payloads import OTHER_PHONE, PHONE, at_ussd

URL = "/webhooks/ussd"
AT_URL = "/webhooks/africastalking/ussd"
DIAL = "*384*44135#"
RATING = {"fr": ["1", "1", "sevare", "1", "4", "3", "2", "5"]}
RATING["en"] = ["3", *RATING["fr"][1:]]
HOME = {"fr": ["1", "3", "menaka", "1"], "en": ["3", "3", "menaka", "1"]}
REPORT = ["2", "1", "1", "1", "1", "1"]


def send(client: FlaskClient, session: str, latest: str, **extra: str) -> str:
    """One freeflow request; the screen as `CON `/`END ` text, as the oracle's."""
    form = {"sessionId": session, "msisdn": PHONE, "ussdString": latest, **extra}
    response = client.post(URL, data=form)
    assert response.status_code == 200
    kind = {"FC": "CON", "FB": "END"}[response.headers["Freeflow"]]
    return f"{kind} {response.get_data(as_text=True)}"


def walk_latest(client: FlaskClient, answers: list[str], session: str) -> list[str]:
    """A session as a latest-input gateway sends it: the dial, then each answer."""
    return [send(client, session, latest) for latest in [DIAL, *answers]]


def walk_path(client: FlaskClient, answers: list[str], session: str) -> list[str]:
    """The same answers through Africa's Talking's webhook, by another caller."""
    screens = []
    for i in range(len(answers) + 1):
        form = at_ussd(text="*".join(answers[:i]), sessionId=session, phoneNumber=OTHER_PHONE)
        screens.append(client.post(AT_URL, data=form).get_data(as_text=True))
    return screens


def count(rt: Runtime, model: type, phone_reporter: int | None = None) -> int:
    with rt.sessions() as session:
        query = select(func.count()).select_from(model)
        if phone_reporter is not None:
            query = query.where(model.reporter_id == phone_reporter)  # type: ignore[attr-defined]
        return int(session.scalar(query) or 0)


def reporter_of(rt: Runtime, phone: str) -> int:
    with rt.sessions() as session:
        pseudonym = rt.pseudonyms.pseudonym(phone)
        return int(session.scalar(select(Reporter.id).where(Reporter.pseudonym == pseudonym)))


def kept_inputs(rt: Runtime) -> list[str | None]:
    with rt.sessions() as session:
        return list(session.scalars(select(UssdSession.kept_input).order_by(UssdSession.id)))


@pytest.fixture
def latest(make_app: Callable[..., Flask]) -> Flask:
    return make_app(USSD_PRESET="freeflow")


@pytest.fixture
def stepped(make_app: Callable[..., Flask]) -> Flask:
    return make_app(USSD_PRESET="freeflow", USSD_FIELDS="step=seq")


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_a_trust_rating_sent_answer_by_answer_ends_as_the_whole_path_does(
    latest: Flask, lang: str
) -> None:
    client, rt = latest.test_client(), latest.extensions["gateway"]
    screens = walk_latest(client, RATING[lang], "ff-rate")
    assert screens == walk_path(client, RATING[lang], "at-rate")
    assert screens[-1].startswith("END ") and screens[-2].startswith("CON ")
    assert count(rt, TrustRating, reporter_of(rt, PHONE)) == 4
    assert all("sevare" not in (kept or "").lower() for kept in kept_inputs(rt))


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_an_incident_report_sent_answer_by_answer_is_stored_once_with_its_code(
    latest: Flask, lang: str
) -> None:
    client, rt = latest.test_client(), latest.extensions["gateway"]
    assert walk_latest(client, HOME[lang], "ff-home") == walk_path(client, HOME[lang], "at-home")
    screens = walk_latest(client, REPORT, "ff-report")
    oracle = walk_path(client, REPORT, "at-report")
    assert screens[:-1] == oracle[:-1]
    assert screens[-1].startswith("END ") and oracle[-1].startswith("END ")
    with rt.sessions() as session:
        mine = session.scalars(
            select(Incident).where(Incident.reporter_id == reporter_of(rt, PHONE))
        ).one()
    assert mine.ref_code in screens[-1]
    assert mine.kind == "attack" and mine.danger_now is True


def test_with_the_step_field_a_resent_request_changes_nothing(stepped: Flask) -> None:
    client, rt = stepped.test_client(), stepped.extensions["gateway"]
    walk_path(client, HOME["fr"], "at-home")  # the oracle's caller, for the report
    for i, latest in enumerate([DIAL, *HOME["fr"]]):
        first = send(client, "s-home", latest, seq=str(i))
        assert send(client, "s-home", latest, seq=str(i)) == first  # resent at once
    screens = []
    for i, latest in enumerate([DIAL, *REPORT]):
        screens.append(send(client, "s-report", latest, seq=str(i)))
        assert send(client, "s-report", latest, seq=str(i)) == screens[-1]
        if i >= 2:  # a late resend of the request before: the current screen again
            assert send(client, "s-report", REPORT[i - 2], seq=str(i - 1)) == screens[-1]
    assert screens[:-1] == walk_path(client, REPORT, "at-report")[:-1]
    assert screens[-1].startswith("END ")
    assert count(rt, Incident, reporter_of(rt, PHONE)) == 1


def test_without_the_step_field_a_resent_answer_is_the_same_answer_typed_again(
    latest: Flask,
) -> None:
    client = latest.test_client()
    send(client, "twice", DIAL)
    send(client, "twice", "1")
    assert send(client, "twice", "1") == walk_path(client, ["1", "1"], "at-twice")[-1]
    # A resent dial is no answer: the screen is shown again.
    assert send(client, "twice", DIAL) == walk_path(client, ["1", "1"], "at-twice")[-1]


def test_a_wrong_answer_gets_the_hint_and_the_next_answer_goes_on(latest: Flask) -> None:
    client = latest.test_client()
    answers = ["1", "9", "", "1", "sevare"]
    assert walk_latest(client, answers, "bad") == walk_path(client, answers, "at-bad")


def test_a_nul_byte_in_the_input_is_refused(latest: Flask) -> None:
    client = latest.test_client()
    send(client, "nul", DIAL)
    form = {"sessionId": "nul", "msisdn": PHONE, "ussdString": "1\x00"}
    assert client.post(URL, data=form).status_code == 400


def test_a_session_id_seen_again_after_the_expiry_starts_afresh_and_its_path_is_erased(
    latest: Flask, clock: Clock
) -> None:
    client, rt = latest.test_client(), latest.extensions["gateway"]
    first = walk_latest(client, ["1", "1"], "reused")
    assert forget_pending(rt, clock()) == 0 and kept_inputs(rt) != [None]
    clock.advance(seconds=EXPIRY.total_seconds() + 1)
    assert forget_pending(rt, clock()) == 1 and kept_inputs(rt) == [None]
    assert send(client, "reused", "1") == first[0]  # opens the first screen, not "1*1*1"
    clock.advance(seconds=EXPIRY.total_seconds() + 1)  # and without the clock's erasing
    assert send(client, "reused", "1") == first[0]


def at_once(app: Flask, session: str, requests: list[dict[str, str]]) -> None:
    """Send `requests` of one session together, each from its own thread."""
    start = threading.Barrier(len(requests))

    def one(extra: dict[str, str]) -> None:
        start.wait()
        send(app.test_client(), session, **extra)

    threads = [threading.Thread(target=one, args=(r,)) for r in requests]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def test_two_answers_of_one_session_at_once_are_both_taken_in(latest: Flask) -> None:
    client = latest.test_client()
    walk_latest(client, ["1"], "race")  # French: the main menu
    at_once(latest, "race", [{"latest": "1"}, {"latest": "1"}])
    oracle = walk_path(client, ["1", "1", "1", "sevare"], "at-race")
    assert send(client, "race", "sevare") == oracle[-1]


def test_a_request_and_its_resend_at_once_are_taken_in_once(stepped: Flask) -> None:
    client = stepped.test_client()
    send(client, "race", DIAL, seq="0")
    send(client, "race", "1", seq="1")
    at_once(stepped, "race", [{"latest": "1", "seq": "2"}, {"latest": "1", "seq": "2"}])
    oracle = walk_path(client, ["1", "1", "sevare"], "at-race")
    assert send(client, "race", "sevare", seq="3") == oracle[-1]


def test_a_report_cut_off_is_offered_to_the_next_call_as_with_the_whole_path(
    latest: Flask,
) -> None:
    client, rt = latest.test_client(), latest.extensions["gateway"]
    walk_latest(client, HOME["fr"], "home")
    walk_path(client, HOME["fr"], "at-home")
    assert walk_latest(client, REPORT[:3], "cut") == walk_path(client, REPORT[:3], "at-cut")
    rest = ["1", *REPORT[3:]]  # continue, then the questions left
    screens = walk_latest(client, rest, "again")
    oracle = walk_path(client, rest, "at-again")
    assert screens[:-1] == oracle[:-1] and screens[0] != walk_latest(client, [], "new")[0]
    assert screens[-1].startswith("END ") and oracle[-1].startswith("END ")
    assert count(rt, Incident, reporter_of(rt, PHONE)) == 1


def test_what_a_caller_types_is_not_logged(latest: Flask, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG):
        walk_latest(latest.test_client(), RATING["fr"], "quiet")
    assert "sevare" not in caplog.text.lower()
    assert PHONE not in caplog.text
