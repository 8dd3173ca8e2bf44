"""alert_actions: the one place an alert changes state."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import insert, select, text

from gateway.db import transaction
from gateway.models import Alert, AlertEvent, AlertState, AuditLog, ConsoleUser, Role
from gateway.runtime import Runtime
from gateway.services.alerts import lifecycle as alert_actions
from gateway.services.alerts.lifecycle import AlertActionError
from tests.console.conftest import KAYES, MOPTI, add_alert

AsRole = Callable[[Role], tuple[FlaskClient, ConsoleUser]]


def _events(rt: Runtime, alert_id: int) -> list[tuple[str, str, str]]:
    with rt.sessions() as session:
        rows = session.scalars(
            select(AlertEvent).where(AlertEvent.alert_id == alert_id).order_by(AlertEvent.id)
        )
        return [(e.actor, e.action, e.state) for e in rows]


def test_open_acknowledged_closed_then_reopened(rt: Runtime, ids: dict[str, int]) -> None:
    alert = add_alert(rt, ids[MOPTI])
    now = rt.now()
    with transaction(rt.sessions) as s:
        acked = alert_actions.acknowledge(s, alert.id, "ana@example.org", now, "on it")
        assert acked.state == AlertState.ACKNOWLEDGED and acked.acknowledged_at == now
    with transaction(rt.sessions) as s:
        closed = alert_actions.close(s, alert.id, "member:3", "false_alarm", now)
        assert (closed.state, closed.outcome) == (AlertState.CLOSED, "false_alarm")
    with transaction(rt.sessions) as s:
        reopened = alert_actions.reopen(s, alert.id, "ana@example.org", now, "seen again")
        assert reopened.state == AlertState.OPEN
        assert reopened.outcome is None and reopened.closed_at is None
    assert _events(rt, alert.id) == [
        ("ana@example.org", "acknowledge", "acknowledged"),
        ("member:3", "close", "closed"),
        ("ana@example.org", "reopen", "open"),
    ]
    with rt.sessions() as s:
        audited = s.scalars(select(AuditLog.action).order_by(AuditLog.id)).all()
    assert audited == ["alert.acknowledge", "alert.close", "alert.reopen"]


def test_an_open_alert_closes_without_acknowledgement(rt: Runtime, ids: dict[str, int]) -> None:
    alert = add_alert(rt, ids[MOPTI])
    with transaction(rt.sessions) as s:
        assert alert_actions.close(s, alert.id, "x", "resolved", rt.now()).state == "closed"


def test_acknowledging_twice_changes_nothing(rt: Runtime, ids: dict[str, int]) -> None:
    alert = add_alert(rt, ids[MOPTI])
    for _ in range(2):
        with transaction(rt.sessions) as s:
            alert_actions.acknowledge(s, alert.id, "x", rt.now())
    assert len(_events(rt, alert.id)) == 1


@pytest.mark.parametrize(
    ("state", "action", "reason"),
    [
        ("closed", "acknowledge", "closed"),
        ("closed", "close", "already_closed"),
        ("open", "reopen", "not_closed"),
        ("acknowledged", "reopen", "not_closed"),
    ],
)
def test_invalid_transitions_are_refused(
    rt: Runtime, ids: dict[str, int], state: str, action: str, reason: str
) -> None:
    alert = add_alert(rt, ids[MOPTI], state=AlertState(state))
    calls = {
        "acknowledge": lambda s: alert_actions.acknowledge(s, alert.id, "x", rt.now()),
        "close": lambda s: alert_actions.close(s, alert.id, "x", "resolved", rt.now()),
        "reopen": lambda s: alert_actions.reopen(s, alert.id, "x", rt.now(), "why"),
    }
    with pytest.raises(AlertActionError) as caught, transaction(rt.sessions) as s:
        calls[action](s)
    assert caught.value.reason == reason
    assert _events(rt, alert.id) == []


def test_closing_needs_a_known_outcome(rt: Runtime, ids: dict[str, int]) -> None:
    alert = add_alert(rt, ids[MOPTI])
    with pytest.raises(AlertActionError, match="outcome"), transaction(rt.sessions) as s:
        alert_actions.close(s, alert.id, "x", "maybe", rt.now())  # type: ignore[arg-type]


def test_reopening_needs_a_comment(rt: Runtime, ids: dict[str, int]) -> None:
    alert = add_alert(rt, ids[MOPTI], state=AlertState.CLOSED)
    with pytest.raises(AlertActionError, match="comment"), transaction(rt.sessions) as s:
        alert_actions.reopen(s, alert.id, "x", rt.now(), "  ")


def test_reopen_refused_while_another_alert_of_the_rule_is_open(
    rt: Runtime, ids: dict[str, int]
) -> None:
    old = add_alert(rt, ids[MOPTI], state=AlertState.CLOSED)
    add_alert(rt, ids[MOPTI])
    with pytest.raises(AlertActionError) as caught, transaction(rt.sessions) as s:
        alert_actions.reopen(s, old.id, "x", rt.now(), "again")
    assert caught.value.reason == "other_open"


def test_an_unknown_alert_is_an_error(rt: Runtime) -> None:
    with pytest.raises(alert_actions.AlertNotFound), transaction(rt.sessions) as s:
        alert_actions.acknowledge(s, 999_999, "x", rt.now())


@pytest.mark.postgres
@pytest.mark.timeout(60)
def test_a_reopen_racing_a_new_alert_of_its_place_and_rule_says_so_and_changes_nothing(
    as_role: AsRole, rt: Runtime, ids: dict[str, int]
) -> None:
    """The check for another open alert passes, then the clock's new alert of the same
    place and rule commits first: the unique index refuses the reopen, which is told
    as `other_open` (it was a 500)."""
    client, _ = as_role(Role.ADMIN)
    closed = add_alert(rt, ids[KAYES], state=AlertState.CLOSED, outcome="resolved")
    outcome: dict[str, Any] = {}

    def reopen() -> None:
        try:
            data = {"comment": "seen again"}
            outcome["status"] = client.post(f"/console/alerts/{closed.id}/reopen", data=data)
        except Exception as exc:  # TESTING raises what would be a 500
            outcome["error"] = exc

    with rt.engine.connect() as clock:
        clock.execute(
            insert(Alert).values(
                code="A999",
                rule=closed.rule,
                locality_id=closed.locality_id,
                severity=1,
                state=AlertState.OPEN,
                opened_at=rt.now(),
                last_seen_at=rt.now(),
                figures={},
            )
        )  # not committed yet: the reopen's check cannot see it
        worker = threading.Thread(target=reopen)
        worker.start()
        waiting = "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
        for _ in range(500):  # until the reopen waits on the new alert's index entry
            if clock.execute(text(waiting)).scalar():
                break
            worker.join(0.02)
        clock.commit()
        worker.join(30)
    assert "error" not in outcome, outcome.get("error")
    assert outcome["status"].status_code == 302
    page = client.get(f"/console/alerts/{closed.id}").get_data(as_text=True)
    assert "déjà ouverte pour cette localité" in page
    with rt.sessions() as session:
        assert session.get_one(Alert, closed.id).state == AlertState.CLOSED
        actions = session.scalars(select(AlertEvent.action)).all()
    assert "reopen" not in actions
