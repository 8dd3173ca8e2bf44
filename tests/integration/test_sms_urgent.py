"""People in danger now, said by SMS (URGENT): the reply to an SMS incident says how,
`URGENT <code>` (or a bare URGENT) marks the sender's own report once, and
`URGENT <place> <words>` is a new report in danger; each starts the urgent path the
USSD caller's "yes" starts. The whole chain runs as in production: the webhook stores,
a worker handles, the urgent check alerts the committees and sends their SMS."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from gateway.models import Alert, InboundMessage, Incident
from gateway.runtime import Runtime
from gateway.services.alerts.urgent import check_and_send_urgent
from gateway.services.intake.danger import FLAG_WITHIN
from gateway.services.intake.worker import handle_due
from handlers.console.sender import ConsoleSender
from tests.conftest import Clock
from tests.handlers.payloads import at_sms, at_ussd
from tests.integration.test_alert_engine import committee, locality
from tests.integration.test_urgent_dispatch import fake_sender
from tests.replies import replies_to

AT_SMS = "/webhooks/africastalking/sms"
CITIZEN = "+22376123456"
OTHER = "+22376123499"
LOCAL_MEMBER = "+22376999001"
NATIONAL_MEMBER = "+22376999002"
MENAKA = "ML070403"  # the commune
_ids = itertools.count(1)


@pytest.fixture
def app(make_app: Callable[..., Flask]) -> Flask:
    return make_app(SMS_HANDLING="queue")  # the webhook stores, a worker handles


def texted(client: FlaskClient, rt: Runtime, text: str, phone: str = CITIZEN) -> list[str]:
    """Send one SMS through the webhook, let a worker handle it; the replies it got
    (each checked to fit one GSM 7-bit segment)."""
    sms_id = f"ATXid_u{next(_ids)}"
    form = at_sms(id=sms_id, text=text, **{"from": phone})
    assert client.post(AT_SMS, data=form).status_code == 200
    handle_due(rt, rt.now())
    return [b for b in replies_to(rt, sms_id) if not b.startswith("Anonyme")]  # no notice


def incident(rt: Runtime) -> Incident:
    with rt.sessions() as s:
        return s.scalars(select(Incident).order_by(Incident.id.desc()).limit(1)).one()


def alerts(rt: Runtime) -> list[str]:
    with rt.sessions() as s:
        return list(s.scalars(select(Alert.rule)))


def committees_of_menaka(rt: Runtime, clock: Clock) -> ConsoleSender:
    committee(rt, locality(rt, MENAKA).id, [LOCAL_MEMBER], clock())
    committee(rt, None, [NATIONAL_MEMBER], clock())
    return fake_sender(rt)


def test_an_sms_incident_reply_gives_its_code_and_how_to_say_people_are_in_danger(
    client: FlaskClient, rt: Runtime
) -> None:
    reply = texted(client, rt, "INCIDENT Menaka tirs entendus")[0]
    code = incident(rt).ref_code
    assert f"URGENT {code}" in reply
    assert "tirs" not in reply  # the free text is never quoted
    texted(client, rt, "LANG EN", phone=OTHER)
    english = texted(client, rt, "INCIDENT Menaka shots fired", phone=OTHER)[0]
    assert f"People in danger now? Send URGENT {incident(rt).ref_code}" in english


def test_urgent_with_its_code_alerts_the_committees_once_through_the_whole_chain(
    client: FlaskClient, rt: Runtime, clock: Clock
) -> None:
    sender = committees_of_menaka(rt, clock)
    texted(client, rt, "INCIDENT Menaka tirs entendus")
    code = incident(rt).ref_code
    check_and_send_urgent(rt, clock.advance(seconds=5))
    assert alerts(rt) == [] and sender.sent == []  # an SMS report: not urgent by itself

    clock.advance(minutes=10)
    reply = texted(client, rt, f"urgent {code.lower()}")[0]
    assert incident(rt).danger_now is True
    assert code in reply and "comité de sécurité est prévenu" in reply and "17" in reply
    check_and_send_urgent(rt, clock.advance(seconds=5))
    assert alerts(rt) == ["incident_urgent"]
    assert sorted(to for to, _ in sender.sent) == [LOCAL_MEMBER, NATIONAL_MEMBER]
    assert all("tirs" not in body and code not in body for _, body in sender.sent)

    again = texted(client, rt, f"URGENT {code}")[0]  # sent again: changes nothing more
    assert "déjà" in again
    form = at_sms(id="ATXid_same", text=f"URGENT {code}", **{"from": CITIZEN})
    for _ in range(2):  # the same SMS delivered twice is stored once
        assert client.post(AT_SMS, data=form).status_code == 200
    handle_due(rt, rt.now())
    check_and_send_urgent(rt, clock.advance(seconds=5))
    assert len(sender.sent) == 2 and alerts(rt) == ["incident_urgent"]
    with rt.sessions() as s:
        assert len(s.scalars(select(InboundMessage.id)).all()) == 4


def test_someone_elses_code_changes_nothing_and_is_answered_as_an_unknown_one(
    client: FlaskClient, rt: Runtime, clock: Clock
) -> None:
    sender = committees_of_menaka(rt, clock)
    texted(client, rt, "INCIDENT Menaka tirs entendus")
    code = incident(rt).ref_code
    theirs = texted(client, rt, f"URGENT {code}", phone=OTHER)[0]
    unknown = texted(client, rt, "URGENT RZZZZ2", phone=OTHER)[0]
    assert theirs == unknown  # nothing says whether the code exists
    assert incident(rt).danger_now is False
    check_and_send_urgent(rt, clock.advance(seconds=5))
    assert alerts(rt) == [] and sender.sent == []


def test_a_bare_urgent_marks_the_senders_latest_report_of_the_last_hours(
    client: FlaskClient, rt: Runtime, clock: Clock
) -> None:
    sender = committees_of_menaka(rt, clock)
    assert "URGENT +" in texted(client, rt, "SOS")[0]  # no report yet: how to make one
    texted(client, rt, "INCIDENT Menaka tirs entendus")
    texted(client, rt, "DANGER")
    assert incident(rt).danger_now is True
    check_and_send_urgent(rt, clock.advance(seconds=5))
    assert len(sender.sent) == 2

    texted(client, rt, "INCIDENT Menaka vol de betail")
    clock.advance(seconds=FLAG_WITHIN.total_seconds() + 60)
    old = incident(rt).ref_code
    assert "URGENT +" in texted(client, rt, "URGENT")[0]  # too long ago: none is recent
    assert old in texted(client, rt, f"URGENT {old}")[0]  # theirs, but too old
    assert incident(rt).danger_now is False


def test_urgent_with_a_place_and_words_is_a_new_report_in_danger(
    client: FlaskClient, rt: Runtime, clock: Clock
) -> None:
    sender = committees_of_menaka(rt, clock)
    reply = texted(client, rt, "URGENT Menaka attaque en cours")[0]
    stored = incident(rt)
    assert (stored.danger_now, stored.kind, stored.source) == (True, "attack", "sms")
    assert stored.ref_code in reply and "prévenu" in reply and "attaque" not in reply
    check_and_send_urgent(rt, clock.advance(seconds=5))
    assert len(sender.sent) == 2


@pytest.mark.parametrize(
    ("text", "kind", "at_once"),
    [
        # "Armed men seen" with people in danger now is the warning before an attack.
        ("URGENT Menaka hommes armés", "threat", True),
        # As for a USSD report: `banditry` is not an urgent kind unless an admin marks
        # it, so the committee hears of it as of any report (the weekly digest).
        ("URGENT Menaka voleurs de betail", "banditry", False),
    ],
)
def test_which_kinds_in_danger_alert_at_once(
    client: FlaskClient, rt: Runtime, clock: Clock, text: str, kind: str, at_once: bool
) -> None:
    sender = committees_of_menaka(rt, clock)
    reply = texted(client, rt, text)[0]
    assert incident(rt).danger_now is True and incident(rt).kind == kind
    assert ("prévenu" in reply, "sera informé" in reply, "17" in reply) == (
        at_once,
        not at_once,
        True,
    )
    check_and_send_urgent(rt, clock.advance(seconds=5))
    assert len(sender.sent) == (2 if at_once else 0)


def test_where_no_committee_hears_the_reply_promises_none(
    client: FlaskClient, rt: Runtime, clock: Clock
) -> None:
    reply = texted(client, rt, "URGENT Menaka attaque en cours")[0]
    assert incident(rt).danger_now is True
    assert "comit" not in reply.lower() and "équipe du service" in reply and "17" in reply


def test_urgent_while_a_report_waits_for_its_place_puts_it_in_danger(
    client: FlaskClient, rt: Runtime, clock: Clock
) -> None:
    sender = committees_of_menaka(rt, clock)
    texted(client, rt, "INCIDENT tirs entendus")  # no place, no home: asked
    assert "17" in texted(client, rt, "URGENT")[0]  # still asked, with the number
    done = texted(client, rt, "Menaka")[0]
    assert incident(rt).danger_now is True and "prévenu" in done
    check_and_send_urgent(rt, clock.advance(seconds=5))
    assert len(sender.sent) == 2


def test_urgent_takes_an_offered_report_with_people_in_danger(
    client: FlaskClient, rt: Runtime, clock: Clock
) -> None:
    assert "OUI" in texted(client, rt, "Il y a des tirs a Menaka maintenant")[0]
    texted(client, rt, "urgent")
    stored = incident(rt)
    assert (stored.danger_now, stored.kind) == (True, "attack")


def test_a_ussd_report_without_danger_can_be_marked_urgent_by_sms(
    client: FlaskClient, rt: Runtime, clock: Clock
) -> None:
    sender = committees_of_menaka(rt, clock)
    for step in ("", "1", "1*3", "1*3*menaka", "1*3*menaka*1"):  # French, home Ménaka
        client.post("/webhooks/africastalking/ussd", data=at_ussd(text=step, phoneNumber=CITIZEN))
    path = "2*1*1*1*2*1"  # an attack, at home, today, nobody in danger now, send
    for n in range(1, 7):
        step = "*".join(path.split("*")[:n])
        data = at_ussd(text=step, sessionId="report", phoneNumber=CITIZEN)
        client.post("/webhooks/africastalking/ussd", data=data)
    assert incident(rt).danger_now is False
    code = incident(rt).ref_code  # a USSD code may be all letters (RECDAN)
    assert code in texted(client, rt, f"URGENT {code}")[0]
    assert incident(rt).danger_now is True
    check_and_send_urgent(rt, clock.advance(seconds=5))
    assert len(sender.sent) == 2
