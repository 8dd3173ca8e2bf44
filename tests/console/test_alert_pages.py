"""The alerts inbox (filters) and an alert's page."""

from __future__ import annotations

import re
from collections.abc import Callable

from flask import Flask
from flask.testing import FlaskClient

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
from tests.console.conftest import KAYES, MOPTI, SOCOURA, add_alert, add_committee, days

AsRole = Callable[[Role], tuple[FlaskClient, ConsoleUser]]


def _codes(client: FlaskClient, query: str) -> set[str]:
    html = client.get(f"/console/alerts?{query}").get_data(as_text=True)
    return {word for word in html.replace("<", " ").replace(">", " ").split() if word[:2] == "Z-"}


def test_the_inbox_filters_by_state_rule_place_and_dates(
    as_role: AsRole, rt: Runtime, ids: dict[str, int]
) -> None:
    client, _ = as_role(Role.ANALYST)
    now = rt.now()
    add_alert(rt, ids[MOPTI], code="Z-1", opened_at=now - days(40))
    add_alert(rt, ids[SOCOURA], code="Z-2", rule="incident_spike", opened_at=now - days(3))
    add_alert(rt, ids[KAYES], code="Z-3", state=AlertState.CLOSED, opened_at=now)
    assert _codes(client, "") == {"Z-1", "Z-2", "Z-3"}
    assert _codes(client, "state=closed") == {"Z-3"}
    assert _codes(client, "rule=incident_spike") == {"Z-2"}
    assert _codes(client, "place=socoura") == {"Z-2"}
    assert _codes(client, "place=ML05") == {"Z-1", "Z-2"}  # the Mopti region
    assert _codes(client, "place=ML050") == set()  # a P-code must be whole
    assert _codes(client, "place=ml05&rule=incident_spike") == {"Z-2"}
    assert _codes(client, "place=mopti") == {"Z-1", "Z-2"}  # the region and all under it
    since = (now - days(5)).date().isoformat()
    assert _codes(client, f"since={since}") == {"Z-2", "Z-3"}
    assert _codes(client, f"until={since}") == {"Z-1"}
    assert _codes(client, "since=garbage&place=%25") == set()  # % is a letter, not a wildcard


def test_an_alert_page_says_why_where_who_and_what_happened(
    as_role: AsRole, rt: Runtime, ids: dict[str, int]
) -> None:
    client, _ = as_role(Role.ADMIN)
    alert = add_alert(rt, ids[SOCOURA], code="Z-9")
    with transaction(rt.sessions) as session:
        session.add(
            OutboxMessage(
                created_at=rt.now(),
                purpose="alert",
                recipient_hint="+223******56",
                body="ALERTE",
                status=OutboxStatus.SENT,
                attempts=2,
                next_attempt_at=rt.now(),
                alert_id=alert.id,
                last_error="busy",
            )
        )
        session.add(
            AlertEvent(alert_id=alert.id, at=rt.now(), actor="clock", action="open", state="open")
        )
    html = client.get(f"/console/alerts/{alert.id}").get_data(as_text=True)
    for expected in (
        "Indice de confiance",  # a figure's label
        "2,10",  # numbers in French
        "paramètre de la règle",  # level is a rule value
        "mesurée",
        "Socoura",
        "Mopti",  # the cercle and the region above
        "ML05",
        "+223******56",
        "busy",
        "envoyé",
        "clock",
        "Prendre en compte",
        "Ouverture",  # the history's action by its label
    ):
        assert expected in html, expected
    assert "min_reporters" not in html and ">open<" not in html
    # Each place of the chain says what it is: "Mopti" alone is a commune, a cercle or a region.
    place = re.search(r"<dd>([^\n]*Socoura.*?)</dd>", html)
    assert place is not None
    words = re.sub(r"<[^>]+>", " ", place.group(1)).split()
    assert words[:2] == ["Socoura", "commune"] and "cercle" in words and "région" in words


def test_an_unknown_alert_is_not_found(as_role: AsRole) -> None:
    client, _ = as_role(Role.ADMIN)
    assert client.get("/console/alerts/999999").status_code == 404
    assert client.post("/console/alerts/999999/acknowledge").status_code == 404


def test_an_alert_is_found_by_the_code_its_sms_carries(
    as_role: AsRole, rt: Runtime, ids: dict[str, int]
) -> None:
    """A chair who read "ALERTE A101" in an SMS types /console/alerts/A101 (or a101)."""
    mine = add_alert(rt, ids[SOCOURA], code="A101")
    other = add_alert(rt, ids[KAYES], code="A102")
    client, _ = as_role(Role.COMMITTEE)
    for typed in ("A101", "a101"):
        response = client.get(f"/console/alerts/{typed}")
        assert response.status_code == 302
        assert response.headers["Location"].endswith(f"/console/alerts/{mine.id}")
    for hidden in ("A102", "A999", "R4MHVH", "%27%3B--"):  # another area's, unknown, junk
        page = client.get(f"/console/alerts/{hidden}")
        assert page.status_code == 404 and "Introuvable." in page.get_data(as_text=True)
    assert other.id != mine.id


def test_an_unknown_console_address_gets_the_console_page_in_its_language(
    as_role: AsRole, app: Flask
) -> None:
    """Flask's bare English "Not Found" page was served for any address under /console/
    that no view matched; a logged-in reader gets the console's page, with its menu."""
    client, _ = as_role(Role.ADMIN)
    for path in ("/console/nope", "/console/alerts/A1/B2", "/console/static-nope/x"):
        page = client.get(path)
        html = page.get_data(as_text=True)
        assert page.status_code == 404, path
        assert "Introuvable." in html and "Vue d&#39;ensemble" in html, path
        assert "requested URL" not in html
    assert client.post("/console/nope").status_code in (400, 404)
    anonymous = app.test_client().get("/console/nope")
    assert anonymous.status_code == 302 and "/console/login" in anonymous.headers["Location"]


def test_an_alert_that_reached_nobody_is_shown_red_in_the_inbox_page_and_overview(
    as_role: AsRole, rt: Runtime, ids: dict[str, int]
) -> None:
    lost = add_alert(rt, ids[KAYES], recipients=0)
    told = add_alert(rt, ids[MOPTI], rule="trust_drop", recipients=2)
    client, _ = as_role(Role.ADMIN)
    badge = 'class="tag unreached"'
    inbox = client.get("/console/alerts").get_data(as_text=True)
    assert inbox.count(badge) == 1
    row = next(line for line in inbox.splitlines() if f">{lost.code}</a>" in line)
    assert badge in row and "prévenu" in row
    page = client.get(f"/console/alerts/{lost.id}").get_data(as_text=True)
    assert badge in page and "aucun comité avec un membre actif" in page
    assert "personne ne l&#39;a encore reçu" in page  # not "SMS aux membres"
    told_page = client.get(f"/console/alerts/{told.id}").get_data(as_text=True)
    assert badge not in told_page and "SMS aux membres" in told_page
    overview = client.get("/console/").get_data(as_text=True)
    assert badge in overview and "1 alerte ouverte n&#39;a prévenu personne" in overview
    add_alert(rt, ids[MOPTI], recipients=0)
    overview = client.get("/console/").get_data(as_text=True)
    assert "2 alertes ouvertes n&#39;ont prévenu personne" in overview


def test_a_trust_shift_alert_says_in_words_which_chart_saw_the_fall(
    as_role: AsRole, rt: Runtime, ids: dict[str, int]
) -> None:
    client, _ = as_role(Role.ANALYST)
    figures = {"chart": "residuals", "index": -0.41, "run_weeks": 2, "reporters": 9}
    alert = add_alert(rt, ids[MOPTI], rule="trust_shift", figures=figures)
    html = client.get(f"/console/alerts/{alert.id}").get_data(as_text=True)
    assert "Comparaison" in html and "chaque personne à ses réponses précédentes" in html
    assert "residuals" not in html


def test_an_alert_page_says_first_what_the_members_read_then_what_was_measured(
    as_role: AsRole, rt: Runtime, ids: dict[str, int]
) -> None:
    """A walk read a rising-incidents alert as a table of 21 rows starting with ten rule
    parameters, the weeks its baseline really had labelled a rule value, and numbers
    without units. The page now says first, in words, what the members' SMS said;
    then the measured figures, with units; then the rule's values."""
    client, _ = as_role(Role.ANALYST)
    figures = {
        "baseline_weeks": 52,  # the rule's value, as the engine stores it first
        "arl_weeks": 160,
        "count": 13,
        "run_weeks": 17,
        "usual": 0.45,
        "weeks_in_baseline": 21,  # measured: the locality's history was shorter
        "window_days": 119,
    }
    alert = add_alert(rt, ids[SOCOURA], rule="incident_cusum", code="A104", figures=figures)
    html = client.get(f"/console/alerts/{alert.id}").get_data(as_text=True)
    said = html.index("13 en 17 semaines, contre 8 d&#39;habitude")
    rows = re.findall(r"<tr><td>([^<]+)</td><td class=\"num\">([^<]+)</td><td>([^<]+)</td>", html)
    assert said < html.index(rows[0][0])
    kinds = [kind for _, _, kind in rows]
    assert kinds == sorted(kinds, key=lambda k: k != "mesurée"), kinds  # measured first
    shown = {label: (value, kind) for label, value, kind in rows}
    assert shown["Semaines de référence disponibles"] == ("21 semaines", "mesurée")
    assert shown["Semaines de référence"] == ("52 semaines", "paramètre de la règle")
    assert shown["Semaines de la série"] == ("17 semaines", "mesurée")
    assert shown["Fenêtre"][0] == "119 jours"


def test_who_was_notified_is_named_with_their_committee(
    as_role: AsRole, rt: Runtime, ids: dict[str, int]
) -> None:
    # Where the local committee has no member the national one is told: the page
    # showed only the members' names, not which committee they sit on.
    committee_id = add_committee(rt, ids[MOPTI], name="CCS de Mopti-ville")
    alert = add_alert(rt, ids[SOCOURA], code="Z-8")
    with transaction(rt.sessions) as session:
        member = CommitteeMember(
            committee_id=committee_id,
            name="Awa Diarra",
            phone_hash="h-awa",
            phone_enc="x",
            phone_hint="+223******56",
        )
        session.add(member)
        session.flush()
        session.add(
            OutboxMessage(
                created_at=rt.now(),
                purpose="alert",
                recipient_hint="+223******56",
                body="ALERTE",
                status=OutboxStatus.SENT,
                attempts=1,
                next_attempt_at=rt.now(),
                alert_id=alert.id,
                member_id=member.id,
            )
        )
    client, _ = as_role(Role.ADMIN)
    page = client.get(f"/console/alerts/{alert.id}").get_data(as_text=True)
    row = re.search(r"<tr><td>[^\n]*Awa Diarra.*?</tr>", page, re.S)
    assert row is not None
    assert "CCS de Mopti-ville" in row.group(0)
    assert "<th>Comité</th>" in page


def test_a_tiny_probability_reads_as_under_a_thousandth_not_zero(
    as_role: AsRole, rt: Runtime, ids: dict[str, int]
) -> None:
    # "Probabilité sans changement (p) 0,00" read as "impossible by chance".
    tiny = add_alert(rt, ids[SOCOURA], figures={"index": 2.1, "p": 3.2e-7, "reporters": 35})
    small = add_alert(rt, ids[MOPTI], figures={"index": 2.1, "p": 0.0123, "reporters": 35})
    client, _ = as_role(Role.ANALYST)

    def p_shown(alert_id: int) -> str:
        page = client.get(f"/console/alerts/{alert_id}").get_data(as_text=True)
        row = re.search(r"\(p\)</td>\s*<td[^>]*>([^<]*)</td>", page)
        assert row is not None, page
        return row.group(1).strip()

    assert p_shown(tiny.id) == "&lt; 0,001"
    assert p_shown(small.id) == "0,012"
