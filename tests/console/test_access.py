"""Who sees what: roles, areas, headers, and no full number anywhere."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from gateway.console.access import area_of
from gateway.console.security import CSP
from gateway.crypto import mask_phone
from gateway.db import transaction
from gateway.models import (
    AlertEvent,
    AlertState,
    CommitteeMember,
    ConsoleUser,
    OutboxMessage,
    OutboxStatus,
    Role,
)
from gateway.runtime import Runtime
from tests.console.conftest import KAYES, MOPTI, MOPTI_CERCLE, SOCOURA, add_alert, add_committee

AsRole = Callable[[Role], tuple[FlaskClient, ConsoleUser]]
PAGES = [
    "/console/",
    "/console/map",
    "/console/alerts",
    "/console/thresholds",
    "/console/incidents",
    "/console/committees",
    "/console/messages",
    "/console/outbox",
    "/console/simulator",
    "/console/audit",
]
ADMIN_ONLY = {"/console/outbox", "/console/audit", "/console/simulator"}


@pytest.mark.parametrize("role", list(Role))
def test_each_role_gets_the_pages_it_may_see(as_role: AsRole, role: Role) -> None:
    client, _ = as_role(role)
    for path in PAGES:
        expected = 403 if path in ADMIN_ONLY and role != Role.ADMIN else 200
        assert client.get(path).status_code == expected, path


def test_console_responses_carry_the_security_headers(as_role: AsRole) -> None:
    client, _ = as_role(Role.ADMIN)
    for path in ("/console/alerts", "/console/login", "/console/static/console/console.css"):
        headers = client.get(path).headers
        assert headers["Content-Security-Policy"] == CSP
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "no-referrer"
        assert headers["X-Frame-Options"] == "DENY"
    assert "http" not in CSP and "unsafe" not in CSP


def test_pages_load_nothing_from_outside_and_run_no_inline_script(as_role: AsRole) -> None:
    client, _ = as_role(Role.ADMIN)
    for path in PAGES:
        html = client.get(path).get_data(as_text=True)
        assert not re.search(r"""(src|href|action)=["']?(https?:)?//""", html), path
        assert "style=" not in html, path
        for tag in re.findall(r"<script[^>]*>", html):  # our own files only, nothing inline
            assert re.search(r'src="/console/static/|type="application/json"', tag), path


def test_the_webhooks_get_no_console_headers(client: FlaskClient) -> None:
    assert "Content-Security-Policy" not in client.get("/healthz").headers


def test_a_committee_user_sees_its_area_only(
    as_role: AsRole, rt: Runtime, ids: dict[str, int]
) -> None:
    client, user = as_role(Role.COMMITTEE)
    area = area_of(user, rt=rt)
    assert area is not None and {ids[MOPTI_CERCLE], ids[MOPTI], ids[SOCOURA]} <= area
    assert ids[KAYES] not in area
    own = add_alert(rt, ids[SOCOURA])
    other = add_alert(rt, ids[KAYES])
    listing = client.get("/console/alerts").get_data(as_text=True)
    assert own.code in listing and other.code not in listing
    assert client.get(f"/console/alerts/{own.id}").status_code == 200
    assert client.get(f"/console/alerts/{other.id}").status_code == 404
    response = client.post(f"/console/alerts/{other.id}/acknowledge")
    assert response.status_code == 404
    with rt.sessions() as session:
        assert session.scalars(select(AlertEvent)).all() == []


def test_a_committee_user_acknowledges_and_closes_its_own_alert(
    as_role: AsRole, rt: Runtime, ids: dict[str, int]
) -> None:
    client, user = as_role(Role.COMMITTEE)
    alert = add_alert(rt, ids[MOPTI])
    assert client.post(f"/console/alerts/{alert.id}/acknowledge").status_code == 302
    data = {"outcome": "confirmed", "comment": "patrol sent"}
    assert client.post(f"/console/alerts/{alert.id}/close", data=data).status_code == 302
    with rt.sessions() as session:
        events = session.scalars(select(AlertEvent).order_by(AlertEvent.id)).all()
    assert [(e.actor, e.action, e.comment) for e in events] == [
        (user.email, "acknowledge", None),
        (user.email, "close", "patrol sent"),
    ]
    page = client.get(f"/console/alerts/{alert.id}").get_data(as_text=True)
    assert "patrol sent" in page and user.email in page


def test_analysts_read_alerts_but_cannot_act_on_them(
    as_role: AsRole, rt: Runtime, ids: dict[str, int]
) -> None:
    client, _ = as_role(Role.ANALYST)
    alert = add_alert(rt, ids[KAYES])
    page = client.get(f"/console/alerts/{alert.id}").get_data(as_text=True)
    assert alert.code in page and "/acknowledge" not in page
    assert client.post(f"/console/alerts/{alert.id}/acknowledge").status_code == 403


def test_an_invalid_action_says_why_and_changes_nothing(
    as_role: AsRole, rt: Runtime, ids: dict[str, int]
) -> None:
    client, _ = as_role(Role.ADMIN)
    alert = add_alert(rt, ids[KAYES], state=AlertState.CLOSED, outcome="resolved")
    response = client.post(f"/console/alerts/{alert.id}/reopen", data={"comment": ""})
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Dites pourquoi vous rouvrez" in page
    client.post(f"/console/alerts/{alert.id}/close", data={"outcome": "resolved"})
    assert "déjà clôturée" in client.get(f"/console/alerts/{alert.id}").get_data(as_text=True)


def test_no_page_shows_a_full_phone_number(
    as_role: AsRole, rt: Runtime, ids: dict[str, int]
) -> None:
    client, _ = as_role(Role.ADMIN)
    e164 = "+22376123456"
    committee_id = add_committee(rt, ids[MOPTI])
    alert = add_alert(rt, ids[MOPTI])
    with transaction(rt.sessions) as session:
        member = CommitteeMember(
            committee_id=committee_id,
            name="Awa",
            phone_hash=rt.pseudonyms.pseudonym(e164),
            phone_enc=rt.vault.encrypt(e164),
            phone_hint=mask_phone(e164),
        )
        session.add(member)
        session.flush()
        session.add(
            OutboxMessage(
                created_at=rt.now(),
                purpose="alert",
                recipient_enc=rt.vault.encrypt(e164),
                recipient_hint=mask_phone(e164),
                body="ALERTE",
                status=OutboxStatus.DEAD,
                next_attempt_at=rt.now(),
                alert_id=alert.id,
                member_id=member.id,
                last_error="timeout",
            )
        )
    paths = [*PAGES, f"/console/alerts/{alert.id}"]
    for path in paths:
        html = client.get(path).get_data(as_text=True)
        assert "76123456" not in html and "76 12 34 56" not in html, path
    detail = client.get(f"/console/alerts/{alert.id}").get_data(as_text=True)
    assert "Awa" in detail and mask_phone(e164) in detail and "timeout" in detail


def test_english_on_request_and_kept_for_the_session(as_role: AsRole) -> None:
    client, _ = as_role(Role.ADMIN)
    assert "Alertes" in client.get("/console/alerts").get_data(as_text=True)
    assert "Alerts" in client.get("/console/alerts?lang=en").get_data(as_text=True)
    assert "Committees" in client.get("/console/committees").get_data(as_text=True)


def test_a_user_language_setting_is_used(as_role: AsRole, rt: Runtime) -> None:
    client, user = as_role(Role.ANALYST)
    with rt.sessions.begin() as session:
        row = session.get(ConsoleUser, user.id)
        assert row is not None
        row.language = "en"
    assert "Incidents" in client.get("/console/incidents").get_data(as_text=True)
    assert "Log out" in client.get("/console/incidents").get_data(as_text=True)


def test_lists_page_within_the_users_area(
    as_role: AsRole, rt: Runtime, ids: dict[str, int]
) -> None:
    from gateway.console.access import PAGE_SIZE

    client, _ = as_role(Role.COMMITTEE)
    closed = {"state": AlertState.CLOSED, "closed_at": rt.now()}  # one open per rule
    own = [add_alert(rt, ids[SOCOURA], **closed) for _ in range(PAGE_SIZE + 1)]
    other = add_alert(rt, ids[KAYES])  # outside the area: never counted nor shown
    first = client.get("/console/alerts").get_data(as_text=True)
    second = client.get("/console/alerts?page=2").get_data(as_text=True)
    shown = [a.code for a in own if re.search(rf"\b{a.code}\b", first)]
    assert len(shown) == PAGE_SIZE and "page=2" in second + first
    assert [a.code for a in own if re.search(rf"\b{a.code}\b", second)] == [
        a.code for a in own if a.code not in shown
    ]
    assert "page=3" not in second and other.code not in first + second
    assert client.get("/console/alerts?page=x").status_code == 200
