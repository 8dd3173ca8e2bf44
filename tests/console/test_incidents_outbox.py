"""Incidents (free text behind an audited button) and the outbox's dead letters."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable

from flask.testing import FlaskClient
from sqlalchemy import select

from gateway.db import transaction
from gateway.models import AuditLog, ConsoleUser, Incident, OutboxMessage, OutboxStatus, Role
from gateway.runtime import Runtime
from tests.console.conftest import KAYES, MOPTI, days

AsRole = Callable[[Role], tuple[FlaskClient, ConsoleUser]]
SECRET = "tirs entendus près du puits de Bakary"


def _incident(rt: Runtime, locality_id: int, ref: str, text: str | None = SECRET) -> int:
    with transaction(rt.sessions) as session:
        incident = Incident(
            ref_code=ref,
            kind="attack",
            locality_id=locality_id,
            occurred="today",
            reported_at=rt.now(),
            danger_now=True,
            text_enc=rt.vault.encrypt(text) if text else None,
            source="sms",
            source_ref=f"test:{ref}",
        )
        session.add(incident)
        session.flush()
        return incident.id


def _text_views(rt: Runtime) -> list[AuditLog]:
    with rt.sessions() as session:
        return list(
            session.scalars(select(AuditLog).where(AuditLog.action == "incident.text_view"))
        )


def test_the_list_never_shows_free_text(as_role: AsRole, rt: Runtime, ids: dict[str, int]) -> None:
    _incident(rt, ids[MOPTI], "R100")
    for role in Role:
        client, _ = as_role(role)
        page = client.get("/console/incidents").get_data(as_text=True)
        assert "R100" in page and "attaque armée" in page and "aujourd" in page
        assert "Bakary" not in page
        assert ("Afficher le texte" in page) == (role == Role.ADMIN)
        client.post("/console/logout")


def test_an_admin_reads_the_text_and_each_reading_is_audited(
    as_role: AsRole, rt: Runtime, ids: dict[str, int]
) -> None:
    client, user = as_role(Role.ADMIN)
    incident_id = _incident(rt, ids[MOPTI], "R101")
    for _ in range(2):
        page = client.post(f"/console/incidents/{incident_id}/text").get_data(as_text=True)
        assert SECRET in page
    rows = _text_views(rt)
    assert [(r.actor, r.target) for r in rows] == [(user.email, f"incident:{incident_id}")] * 2
    assert "Bakary" not in str(rows[0].details)


def test_others_cannot_read_free_text(as_role: AsRole, rt: Runtime, ids: dict[str, int]) -> None:
    incident_id = _incident(rt, ids[MOPTI], "R102")
    for role in (Role.ANALYST, Role.COMMITTEE):
        client, _ = as_role(role)
        response = client.post(f"/console/incidents/{incident_id}/text")
        assert response.status_code == 403 and "Bakary" not in response.get_data(as_text=True)
        client.post("/console/logout")
    assert _text_views(rt) == []


def test_a_committee_user_lists_incidents_of_its_area(
    as_role: AsRole, rt: Runtime, ids: dict[str, int]
) -> None:
    _incident(rt, ids[MOPTI], "R103")
    _incident(rt, ids[KAYES], "R104")
    client, _ = as_role(Role.COMMITTEE)
    page = client.get("/console/incidents").get_data(as_text=True)
    assert "R103" in page and "R104" not in page


def _message(rt: Runtime, status: OutboxStatus) -> int:
    with transaction(rt.sessions) as session:
        row = OutboxMessage(
            created_at=rt.now() - days(1),
            purpose="alert",
            recipient_enc=rt.vault.encrypt("+22376123456"),
            recipient_hint="+223******56",
            body="ALERTE A1",
            status=status,
            attempts=6,
            next_attempt_at=rt.now() - days(1),
            last_error="provider timeout",
        )
        session.add(row)
        session.flush()
        return row.id


def test_an_admin_retries_a_dead_letter(as_role: AsRole, rt: Runtime) -> None:
    client, user = as_role(Role.ADMIN)
    message_id = _message(rt, OutboxStatus.DEAD)
    page = client.get("/console/outbox").get_data(as_text=True)
    assert "+223******56" in page and "provider timeout" in page and "Réessayer" in page
    assert client.post(f"/console/outbox/{message_id}/retry").status_code == 302
    with rt.sessions() as session:
        row = session.get(OutboxMessage, message_id)
        assert row is not None
        assert (row.status, row.next_attempt_at) == (OutboxStatus.PENDING, rt.now())
        [audit] = session.scalars(select(AuditLog).where(AuditLog.action == "outbox.retry"))
    assert (audit.actor, audit.target) == (user.email, f"outbox:{message_id}")


def test_only_dead_letters_are_retried(as_role: AsRole, rt: Runtime) -> None:
    client, _ = as_role(Role.ADMIN)
    message_id = _message(rt, OutboxStatus.SENT)
    response = client.post(f"/console/outbox/{message_id}/retry", follow_redirects=True)
    assert "ne peut pas être renvoyé" in response.get_data(as_text=True)


def test_only_admins_see_and_retry_the_outbox(as_role: AsRole, rt: Runtime) -> None:
    message_id = _message(rt, OutboxStatus.DEAD)
    client, _ = as_role(Role.ANALYST)
    assert client.get("/console/outbox").status_code == 403
    assert client.post(f"/console/outbox/{message_id}/retry").status_code == 403


def test_incidents_filter_by_kind_area_period_and_danger(
    as_role: AsRole, rt: Runtime, ids: dict[str, int]
) -> None:
    _incident(rt, ids[MOPTI], "R-MOPTI")
    _incident(rt, ids[KAYES], "R-KAYES")
    with transaction(rt.sessions) as session:
        calm = session.scalar(select(Incident).where(Incident.ref_code == "R-KAYES"))
        assert calm is not None
        calm.kind, calm.danger_now = "banditry", False
    client, _ = as_role(Role.ANALYST)

    def refs(query: str) -> set[str]:
        html = client.get(f"/console/incidents?{query}").get_data(as_text=True)
        return set(re.findall(r"<td>(R-[A-Z]+)</td>", html))

    assert refs("") == {"R-MOPTI", "R-KAYES"}
    assert refs("kind=attack") == {"R-MOPTI"}
    assert refs("danger=no") == {"R-KAYES"}
    assert refs("place=ML05") == {"R-MOPTI"}  # a region holds its communes
    today = rt.now().date()
    assert refs(f"since={today + dt.timedelta(days=1)}") == set()
    assert refs(f"until={today}&kind=banditry") == {"R-KAYES"}
    assert refs("kind=nonsense&danger=maybe") == {"R-MOPTI", "R-KAYES"}  # ignored


def test_the_outbox_page_shows_each_channel_and_a_silent_phone_alarm(
    as_role: AsRole, rt: Runtime
) -> None:
    from gateway.services.outbox.health import note_error, set_alarm

    client, _ = as_role(Role.ADMIN)
    with transaction(rt.sessions) as session:
        note_error(session, "console", "kannel HTTP 503: Temporal failure", rt.now())
    page = client.get("/console/outbox").get_data(as_text=True)
    assert "Canaux" in page and "kannel HTTP 503" in page
    assert "Un téléphone relais est muet" not in page
    with transaction(rt.sessions) as session:
        set_alarm(session, "console", rt.now(), rt.now())
    page = client.get("/console/outbox").get_data(as_text=True)
    assert "Un téléphone relais est muet" in page
