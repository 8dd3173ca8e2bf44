"""Committee members answer alerts by SMS; anyone else changes nothing."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from gateway.db import transaction
from gateway.models import (
    Alert,
    AlertEvent,
    AlertState,
    Locality,
)
from gateway.runtime import Runtime
from tests.committees import add_to, seat
from tests.handlers.payloads import at_sms
from tests.replies import replies_to

MEMBER = "+22370000011"
OTHER_AREA_MEMBER = "+22370000022"
STRANGER = "+22370000033"


@pytest.fixture
def alert_code(rt: Runtime) -> str:
    """An open alert in Sévaré's commune (Mopti), a committee for Mopti cercle with one
    member, and a committee for Kidal with another."""
    now = rt.now()
    with transaction(rt.sessions) as s:
        commune = s.scalars(
            select(Locality).where(Locality.name == "Mopti", Locality.kind == "commune")
        ).one()
        cercle = s.get_one(Locality, commune.parent_id)
        kidal = s.scalars(
            select(Locality).where(Locality.name == "Kidal", Locality.kind == "region")
        ).one()
        for locality, phone, lang in ((cercle, MEMBER, "fr"), (kidal, OTHER_AREA_MEMBER, "en")):
            add_to(s, rt, locality.id, {phone: lang}, f"CCS {locality.name}", now)
        s.add(
            Alert(
                code="A123",
                rule="trust_drop",
                locality_id=commune.id,
                severity=2,
                state=AlertState.OPEN,
                opened_at=now,
                figures={},
                last_seen_at=now,
            )
        )
    return "A123"


def texted(client: FlaskClient, rt: Runtime, phone: str, text: str, n: int) -> str:
    response = client.post(
        "/webhooks/africastalking/sms", data=at_sms(id=f"c{n}", text=text, **{"from": phone})
    )
    assert response.status_code == 200
    return " ".join(replies_to(rt, f"c{n}"))


def state(rt: Runtime) -> tuple[AlertState, str | None, list[str]]:
    with rt.sessions() as s:
        alert = s.scalars(select(Alert)).one()
        actors = s.scalars(select(AlertEvent.actor).order_by(AlertEvent.id)).all()
    return alert.state, alert.outcome, list(actors)


def test_ok_from_a_member_acknowledges_and_records_who(
    client: FlaskClient, rt: Runtime, alert_code: str
) -> None:
    reply = texted(client, rt, MEMBER, f"ok {alert_code.lower()}", 1)
    assert "A123" in reply
    st, _, actors = state(rt)
    assert st is AlertState.ACKNOWLEDGED
    assert actors and actors[-1].startswith("member:")


def test_a_second_ok_says_the_alert_was_already_seen_and_changes_nothing(
    client: FlaskClient, rt: Runtime, alert_code: str
) -> None:
    first = texted(client, rt, MEMBER, f"OK {alert_code}", 1)
    assert "notée comme vue" in first and "déjà" not in first
    _, _, actors = state(rt)
    again = texted(client, rt, MEMBER, f"VU {alert_code}", 2)
    assert again.startswith("L'alerte A123 est déjà notée comme vue. Rien n'a été changé.")
    assert "Merci" not in again and "Membre" not in again and "+223" not in again
    assert state(rt) == (AlertState.ACKNOWLEDGED, None, actors)  # no second event
    assert "déjà" not in texted(client, rt, MEMBER, f"CLOS {alert_code} vrai", 3)


def test_close_with_a_word_records_the_outcome(
    client: FlaskClient, rt: Runtime, alert_code: str
) -> None:
    texted(client, rt, MEMBER, f"CLOS {alert_code} fausse alerte", 1)
    assert state(rt)[:2] == (AlertState.CLOSED, "false_alarm")
    again = texted(client, rt, MEMBER, f"CLOS {alert_code}", 2)
    assert "A123" in again
    assert state(rt)[1] == "false_alarm"


@pytest.mark.parametrize(("phone", "word"), [(STRANGER, "comit"), (OTHER_AREA_MEMBER, "committee")])
def test_ok_from_a_stranger_or_another_area_changes_nothing(
    client: FlaskClient, rt: Runtime, alert_code: str, phone: str, word: str
) -> None:
    reply = texted(client, rt, phone, f"OK {alert_code}", 1)
    assert word in reply.lower()
    assert state(rt) == (AlertState.OPEN, None, [])


@pytest.mark.parametrize("text", ["ok 123", "OK A0123", "vu a 0123"])
def test_a_code_typed_without_its_letter_or_with_a_leading_zero_is_the_alert(
    client: FlaskClient, rt: Runtime, alert_code: str, text: str
) -> None:
    """A chair on a walk typed "ok 104" for A104 and was told "Code ? inconnu"."""
    reply = texted(client, rt, MEMBER, text, 1)
    assert "A123" in reply and "?" not in reply
    assert state(rt)[0] is AlertState.ACKNOWLEDGED


@pytest.mark.parametrize("text", ["0K A123", "0k a123", "bonjour 0K A123"])
def test_zero_typed_for_o_in_ok_acknowledges(
    client: FlaskClient, rt: Runtime, alert_code: str, text: str
) -> None:
    """A member's "0K A106" got the committee help instead of acknowledging."""
    reply = texted(client, rt, MEMBER, text, 1)
    assert "notée comme vue" in reply
    assert state(rt)[0] is AlertState.ACKNOWLEDGED


@pytest.mark.parametrize(
    ("text", "answer", "outcome"),
    [
        ("CL0S A123 faux", "", "false_alarm"),
        ("CL0S A123 res0lu", "", "resolved"),
        ("cl0s a123", "c0nfirme", "confirmed"),
    ],
)
def test_zero_typed_for_o_in_a_close_and_its_outcome_closes(
    client: FlaskClient, rt: Runtime, alert_code: str, text: str, answer: str, outcome: str
) -> None:
    texted(client, rt, MEMBER, text, 1)
    if answer:
        texted(client, rt, MEMBER, answer, 2)
    assert state(rt)[:2] == (AlertState.CLOSED, outcome)


def test_an_unknown_code_is_answered_clearly(
    client: FlaskClient, rt: Runtime, alert_code: str
) -> None:
    reply = texted(client, rt, MEMBER, "VU A999", 1)
    assert "A999" in reply
    assert state(rt)[0] is AlertState.OPEN


def test_close_false_alarm_is_confirmed_in_the_reply(
    client: FlaskClient, rt: Runtime, alert_code: str
) -> None:
    reply = texted(client, rt, MEMBER, f"CLOS {alert_code} faux", 1)
    assert state(rt)[:2] == (AlertState.CLOSED, "false_alarm")
    assert "fausse alerte" in reply and alert_code in reply


def test_a_bare_close_asks_how_it_ended_and_records_nothing(
    client: FlaskClient, rt: Runtime, alert_code: str
) -> None:
    reply = texted(client, rt, MEMBER, f"CLOS {alert_code}", 1)
    assert f"CLOS {alert_code} FAUX" in reply
    assert state(rt) == (AlertState.OPEN, None, [])
    texted(client, rt, MEMBER, f"CLOS {alert_code} resolu", 2)
    assert state(rt)[:2] == (AlertState.CLOSED, "resolved")


@pytest.mark.parametrize("answer", ["vrai", "FAUX", "resolu merci"])
def test_a_bare_close_is_completed_by_the_outcome_alone(
    client: FlaskClient, rt: Runtime, alert_code: str, answer: str
) -> None:
    # Asked "how did it end?", the chair answers with the word, not the whole command.
    texted(client, rt, MEMBER, f"CLOS {alert_code}", 1)
    reply = texted(client, rt, MEMBER, answer, 2)
    outcome = {"vrai": "confirmed", "FAUX": "false_alarm", "resolu merci": "resolved"}
    assert state(rt)[:2] == (AlertState.CLOSED, outcome[answer])
    assert alert_code in reply
    # The question is answered: the same word again is only unclear.
    again = texted(client, rt, MEMBER, answer, 3)
    assert "CLOS" in again and state(rt)[:2] == (AlertState.CLOSED, outcome[answer])


def test_an_outcome_word_without_a_close_asked_closes_nothing(
    client: FlaskClient, rt: Runtime, alert_code: str
) -> None:
    texted(client, rt, MEMBER, "vrai", 1)
    assert state(rt) == (AlertState.OPEN, None, [])


def test_a_national_committee_member_can_answer_any_alert(
    client: FlaskClient, rt: Runtime, alert_code: str
) -> None:
    national = "+22370000044"
    seat(rt, None, national, name="CCS national")
    texted(client, rt, national, f"OK {alert_code}", 1)
    assert state(rt)[0] is AlertState.ACKNOWLEDGED
