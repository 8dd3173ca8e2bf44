"""SMS conversations as a citizen or a committee member lives them (issue 10, points
4, 6, 7, 8 and 9): follow the prompt and keep the report, choices told apart, words
without a keyword acknowledged honestly, replies that promise only what is true."""

from __future__ import annotations

import itertools

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from gateway.db import transaction
from gateway.models import (
    Alert,
    AlertState,
    Committee,
    CommitteeMember,
    InboundMessage,
    Incident,
    Locality,
    Reporter,
    TrustRating,
)
from gateway.runtime import Runtime
from tests.committees import add_to, seat
from tests.handlers.payloads import at_sms
from tests.replies import replies_to

CITIZEN = "+22376123456"
MEMBER = "+22370000011"
_ids = itertools.count(1)


def texted(client: FlaskClient, rt: Runtime, text: str, phone: str = CITIZEN) -> list[str]:
    """Send one SMS; the replies it got (each checked to fit one GSM 7-bit segment)."""
    n = next(_ids)
    response = client.post(
        "/webhooks/africastalking/sms", data=at_sms(id=f"s{n}", text=text, **{"from": phone})
    )
    assert response.status_code == 200
    return replies_to(rt, f"s{n}")


def ratings(rt: Runtime) -> list[tuple[str, int]]:
    with rt.sessions() as s:
        rows = s.execute(
            select(Locality.name, TrustRating.value).join(
                Locality, Locality.id == TrustRating.locality_id
            )
        ).all()
    return [(name, value) for name, value in rows]


def incidents(rt: Runtime) -> list[tuple[str, str, str | None]]:
    with rt.sessions() as s:
        rows = s.execute(
            select(Locality.name, Incident.kind, Incident.text_enc).join(
                Locality, Locality.id == Incident.locality_id
            )
        ).all()
    return [(name, kind, rt.vault.decrypt(enc) if enc else None) for name, kind, enc in rows]


def locality(rt: Runtime, name: str, kind: str = "commune") -> Locality:
    with rt.sessions() as s:
        return s.scalars(select(Locality).where(Locality.name == name, Locality.kind == kind)).one()


def add_committee(rt: Runtime, place: Locality, phone: str = MEMBER) -> None:
    seat(rt, place.id, phone, name=f"CCS {place.name}")


# --- point 4: follow the prompt, keep the report ------------------------------------


@pytest.mark.parametrize("answer", ["LIEU Mopti", "Mopti", "lieu mopti svp"])
def test_a_rating_waiting_for_its_place_is_completed_however_the_place_comes(
    client: FlaskClient, rt: Runtime, answer: str
) -> None:
    asked = texted(client, rt, "confiance 3")
    assert "LIEU" in asked[0]
    done = texted(client, rt, answer)
    assert ratings(rt) == [("Mopti", 3)]
    assert "3/5" in done[0] and "Mopti" in done[0]


def test_an_incident_waiting_for_its_place_keeps_its_text_when_the_place_comes_with_lieu(
    client: FlaskClient, rt: Runtime
) -> None:
    texted(client, rt, "INCIDENT tirs entendus")
    texted(client, rt, "LIEU Menaka")
    assert incidents(rt) == [("Ménaka", "attack", "tirs entendus")]


def test_a_choice_number_completes_the_rating_on_the_commune_chosen(
    client: FlaskClient, rt: Runtime
) -> None:
    listed = texted(client, rt, "confiance 2 Benkadi")[0]
    assert "1. " in listed and "2. " in listed and "3. " in listed
    texted(client, rt, "2")
    assert len(ratings(rt)) == 1 and ratings(rt)[0][0] in ("Benkadi", "Ben Kadi")


# --- point 6: choices a person can tell apart, landing on a commune -----------------


def test_ambiguous_choices_say_what_each_is_and_confirmation_names_the_cercle(
    client: FlaskClient, rt: Runtime
) -> None:
    listed = texted(client, rt, "confiance 4 Benkadi")[0]
    lines = [line for line in listed.splitlines() if line[:2] in ("1.", "2.", "3.")]
    assert len(set(lines)) == 3
    assert all("(" in line for line in lines)
    assert "renvoyez le nom" in listed
    number = next(line[0] for line in lines if "Dioila" in line)
    done = texted(client, rt, number)[0]
    assert "Benkadi (Dioila)" in done


def test_a_region_given_for_a_rating_asks_for_the_commune(client: FlaskClient, rt: Runtime) -> None:
    asked = texted(client, rt, "confiance 4 region de Mopti")[0]
    assert ratings(rt) == []
    assert "commune" in asked
    texted(client, rt, "Sevare")
    assert ratings(rt) == [("Mopti", 4)]


def test_a_name_that_matches_nothing_well_gets_no_unrelated_choices(
    client: FlaskClient, rt: Runtime
) -> None:
    reply = texted(client, rt, "LIEU Intahaka")[0]
    assert "1. " not in reply
    assert "introuvable" in reply


# --- point 7: words without a keyword ------------------------------------------------


def test_words_that_look_like_a_report_are_offered_as_an_incident_and_oui_makes_it_one(
    client: FlaskClient, rt: Runtime
) -> None:
    words = "Il y a des hommes armes a Menaka, ils menacent les gens"
    offer = texted(client, rt, words)[0]
    assert "Signaler un incident" in offer and "Ménaka" in offer and "OUI" in offer
    assert incidents(rt) == []
    done = texted(client, rt, "oui")[0]
    assert "code R" in done
    [(place, kind, text)] = incidents(rt)
    assert place == "Ménaka" and kind == "threat" and text == words


def test_an_offered_incident_declined_records_nothing(client: FlaskClient, rt: Runtime) -> None:
    texted(client, rt, "des tirs ce matin pres du marche")
    reply = texted(client, rt, "non")[0]
    assert "aucun incident" in reply
    assert incidents(rt) == []


def test_words_that_look_like_nothing_are_answered_not_understood_and_kept(
    client: FlaskClient, rt: Runtime
) -> None:
    reply = texted(client, rt, "bonjour comment allez vous")[0]
    assert "non compris" in reply and "relecture" in reply
    with rt.sessions() as s:
        assert s.scalars(select(InboundMessage.outcome)).one() == "help"


@pytest.mark.parametrize(
    ("text", "phone", "lang"),
    [
        ("bonjour", CITIZEN, "fr"),
        ("Merci !", CITIZEN, "fr"),
        ("salut", CITIZEN, "fr"),
        ("hello", "+22376123400", "en"),
        ("i ni ce", "+22376123401", "bm"),
    ],
)
def test_a_greeting_alone_gets_the_short_help_in_her_language_and_is_kept(
    client: FlaskClient, rt: Runtime, text: str, phone: str, lang: str
) -> None:
    """ "bonjour" and "merci" alone were answered "non compris"."""
    reply = texted(client, rt, text, phone=phone)[0]
    assert reply == rt.reference.catalogues.render(lang, "help_short")
    assert incidents(rt) == [] and ratings(rt) == []
    with rt.sessions() as s:  # kept for review as the other messages without a keyword
        row = s.scalars(select(InboundMessage)).one()
        assert (row.outcome, row.intent) == ("help", "greeting")
        assert row.payload_enc is not None


def test_a_greeting_keeps_her_language_and_answers_no_question(
    client: FlaskClient, rt: Runtime
) -> None:
    texted(client, rt, "LANG EN")
    assert texted(client, rt, "bonjour")[0] == rt.reference.catalogues.render("en", "help_short")
    texted(client, rt, "CONFIANCE 4")  # asked where
    texted(client, rt, "merci")
    texted(client, rt, "Sevare")
    assert ratings(rt) == [("Mopti", 4)]


def test_the_readme_incident_example_keeps_its_free_text(client: FlaskClient, rt: Runtime) -> None:
    texted(client, rt, "INCIDENT Sevare tirs entendus")
    assert incidents(rt) == [("Mopti", "attack", "tirs entendus")]


# --- point 8: honest replies ----------------------------------------------------------


def test_an_incident_reply_promises_the_committee_only_when_one_will_hear(
    client: FlaskClient, rt: Runtime
) -> None:
    nobody = texted(client, rt, "INCIDENT Gao tirs entendus")[0]
    assert "comit" not in nobody.lower()
    add_committee(rt, locality(rt, "Mopti", "cercle"))
    told = texted(client, rt, "INCIDENT Sevare tirs entendus", phone="+22376123457")[0]
    assert "comité de sécurité sera informé" in told


def test_a_committee_without_an_active_member_is_not_promised(
    client: FlaskClient, rt: Runtime
) -> None:
    with transaction(rt.sessions) as s:
        s.add(Committee(name="CCS vide", locality_id=locality(rt, "Gao").id, created_at=rt.now()))
    reply = texted(client, rt, "INCIDENT Gao tirs entendus")[0]
    assert "comit" not in reply.lower()


# --- point 9: committee members are not citizens ---------------------------------------


@pytest.fixture
def member_with_alert(rt: Runtime) -> str:
    add_committee(rt, locality(rt, "Mopti", "cercle"))
    with transaction(rt.sessions) as s:
        s.add(
            Alert(
                code="A456",
                rule="trust_drop",
                locality_id=locality(rt, "Mopti").id,
                severity=2,
                state=AlertState.OPEN,
                opened_at=rt.now(),
                figures={},
                last_seen_at=rt.now(),
            )
        )
    return "A456"


@pytest.mark.parametrize("text", ["OK", "AIDE", "bonjour, que faire?"])
def test_a_member_gets_the_committee_help_with_their_open_codes_and_no_privacy_notice(
    client: FlaskClient, rt: Runtime, member_with_alert: str, text: str
) -> None:
    replies = texted(client, rt, text, phone=MEMBER)
    assert len(replies) == 1  # no citizen privacy notice
    assert "A456" in replies[0] and "CLOS" in replies[0]
    with rt.sessions() as s:
        assert s.scalars(select(Reporter.notice_sent)).one() is False


def test_a_members_words_that_look_like_a_report_are_offered_as_an_incident_too(
    client: FlaskClient, rt: Runtime, member_with_alert: str
) -> None:
    # A member lives in a locality too: "tirs a Menaka" without a keyword is not lost
    # behind the committee help.
    words = "bonjour il y a des tirs a Menaka"
    offer = texted(client, rt, words, phone=MEMBER)[0]
    assert "Signaler un incident" in offer and "Ménaka" in offer and "OUI" in offer
    assert incidents(rt) == []
    done = texted(client, rt, "oui", phone=MEMBER)[0]
    assert "code R" in done
    [(place, kind, text)] = incidents(rt)
    assert place == "Ménaka" and kind == "attack" and text == words


def test_a_member_declining_an_offered_incident_records_nothing_and_ok_stays_the_help(
    client: FlaskClient, rt: Runtime, member_with_alert: str
) -> None:
    texted(client, rt, "des tirs ce matin pres du marche", phone=MEMBER)
    assert "aucun incident" in texted(client, rt, "non", phone=MEMBER)[0]
    texted(client, rt, "des tirs ce matin pres du marche", phone=MEMBER)
    assert "A456" in texted(client, rt, "OK", phone=MEMBER)[0]
    assert incidents(rt) == []


def test_a_member_asked_where_an_incident_was_can_answer_with_the_bare_name(
    client: FlaskClient, rt: Runtime, member_with_alert: str
) -> None:
    asked = texted(client, rt, "INCIDENT tirs entendus", phone=MEMBER)[0]
    assert "LIEU" in asked
    done = texted(client, rt, "Gossi", phone=MEMBER)[0]
    assert "code R" in done
    assert incidents(rt) == [("Gossi", "attack", "tirs entendus")]


def test_a_member_hears_the_citizen_replies_in_their_memberships_language(
    client: FlaskClient, rt: Runtime
) -> None:
    with transaction(rt.sessions) as s:
        add_to(s, rt, locality(rt, "Mopti", "cercle").id, {MEMBER: "bm"})
    asked = texted(client, rt, "INCIDENT tirs entendus", phone=MEMBER)[0]
    bambara = rt.reference.catalogues.render("bm", "locality_ask")
    assert asked == bambara != rt.reference.catalogues.render("fr", "locality_ask")


def test_a_member_who_changes_language_hears_it_everywhere_alerts_included(
    client: FlaskClient, rt: Runtime, member_with_alert: str
) -> None:
    assert "English" in texted(client, rt, "LANG EN", phone=MEMBER)[0]
    assert texted(client, rt, "INCIDENT tirs entendus", phone=MEMBER)[0] == (
        rt.reference.catalogues.render("en", "locality_ask")
    )
    assert "open alerts A456" in texted(client, rt, "HELP", phone=MEMBER)[0]
    with rt.sessions() as s:
        assert s.scalars(select(CommitteeMember.language)).all() == ["en"]


def test_an_unknown_code_from_a_member_is_answered_with_their_open_codes(
    client: FlaskClient, rt: Runtime, member_with_alert: str
) -> None:
    reply = texted(client, rt, "OK A999", phone=MEMBER)[0]
    assert "A999" in reply and "A456" in reply
