"""Every alert reaches a person, or someone sees that it did not (issue 10, point 1),
and a condition a person closed stays closed (point 2)."""

from __future__ import annotations

import datetime as dt

from flask import Flask
from sqlalchemy import select

from gateway.db import transaction
from gateway.domain.rules import week_start
from gateway.gazetteer.index import gazetteer
from gateway.models import Alert, AlertState
from gateway.runtime import Runtime
from gateway.services.alerts import lifecycle
from gateway.services.alerts.engine import run_alert_cycle
from gateway.services.alerts.escalation import check_escalations
from gateway.services.alerts.recipients import route
from gateway.services.alerts.urgent import check_urgent
from tests.conftest import Clock
from tests.integration.test_alert_engine import (
    SMALL_COMMUNE,
    alert_sms,
    committee,
    falling_trust,
    incidents,
    locality,
    mixed,
    national_drop,
    ratings,
    reporters,
    run_cli,
)

MENAKA = "ML070403"  # the commune
GAO = "ML070103"
CAMP = "CAMP-MR-MBERA"


def urgent_report(rt: Runtime, loc: int, at: dt.datetime) -> list[str]:
    incidents(rt, loc, reporters(rt, 1, at), [at], kind="attack", danger_now=True)
    return check_urgent(rt, at)


def national(rt: Runtime, phones: list[str], now: dt.datetime) -> int:
    return committee(rt, None, phones, now)


def the_alert(rt: Runtime) -> Alert:
    with rt.sessions() as s:
        return s.scalars(select(Alert).order_by(Alert.id.desc())).first() or Alert()


def hints(rt: Runtime) -> list[str]:
    return sorted(m.recipient_hint for m in alert_sms(rt))


def test_a_committee_without_members_does_not_swallow_the_alert_of_its_area(
    rt: Runtime, clock: Clock
) -> None:
    loc = locality(rt, MENAKA).id
    committee(rt, loc, ["+22370000001"], clock())
    committee(rt, loc, [], clock())  # a second committee, higher id, nobody in it
    assert len(urgent_report(rt, loc, clock())) == 1
    assert hints(rt) == ["+223******01"]
    assert the_alert(rt).recipients == 1


def test_every_committee_of_the_nearest_level_with_a_member_is_told(
    rt: Runtime, clock: Clock
) -> None:
    loc = locality(rt, MENAKA).id
    committee(rt, loc, ["+22370000001"], clock())
    committee(rt, loc, ["+22370000002"], clock())
    committee(rt, locality(rt, MENAKA).parent_id or 0, ["+22370000003"], clock())
    falling_trust(rt, clock, MENAKA)
    run_alert_cycle(rt, clock())
    assert hints(rt) == ["+223******01", "+223******02"]


def test_a_commune_with_no_committee_up_its_chain_goes_to_the_nation(
    rt: Runtime, clock: Clock
) -> None:
    national(rt, ["+22370000009"], clock())
    falling_trust(rt, clock, GAO)
    summary = run_alert_cycle(rt, clock())
    assert len(summary.opened) == 1
    assert hints(rt) == ["+223******09"]
    with rt.sessions() as s:
        routing = route(s, gazetteer(rt), locality(rt, GAO).id, urgent=False)
    assert routing.reached and routing.level == "national"


def test_an_urgent_alert_also_reaches_the_national_committee(rt: Runtime, clock: Clock) -> None:
    loc = locality(rt, SMALL_COMMUNE).id
    committee(rt, loc, ["+22370000001"], clock())
    national(rt, ["+22370000009"], clock())
    urgent_report(rt, loc, clock())
    assert hints(rt) == ["+223******01", "+223******09"]
    clock.advance(hours=3)  # unacknowledged: nobody new above, nothing sent again
    assert check_escalations(rt, clock()) == 0
    assert len(alert_sms(rt)) == 2


def test_a_refugee_camp_falls_under_the_national_committee(rt: Runtime, clock: Clock) -> None:
    national(rt, ["+22370000009"], clock())
    urgent_report(rt, locality(rt, CAMP).id, clock())
    assert hints(rt) == ["+223******09"]


def test_an_ordinary_alert_escalates_to_the_nation_when_nobody_acknowledges(
    rt: Runtime, clock: Clock
) -> None:
    falling_trust(rt, clock)
    committee(rt, locality(rt, SMALL_COMMUNE).id, ["+22370000001"], clock())
    national(rt, ["+22370000009"], clock())
    run_alert_cycle(rt, clock())
    assert hints(rt) == ["+223******01"]
    clock.advance(hours=49)
    assert check_escalations(rt, clock()) == 1
    assert hints(rt) == ["+223******01", "+223******09"]


def test_an_alert_that_reached_nobody_is_listed_as_such(
    app: Flask, rt: Runtime, clock: Clock
) -> None:
    committee(rt, locality(rt, GAO).id, [], clock())  # a committee, but no member
    code = urgent_report(rt, locality(rt, GAO).id, clock())[0]
    assert the_alert(rt).recipients == 0
    listing = run_cli(app, "alerts", "list", "--unreached")
    assert listing.exit_code == 0
    assert code in listing.output and "REACHED NOBODY" in listing.output
    committee(rt, locality(rt, SMALL_COMMUNE).id, ["+22370000001"], clock())
    urgent_report(rt, locality(rt, SMALL_COMMUNE).id, clock())
    listing = run_cli(app, "alerts", "list", "--unreached")
    assert listing.output.count("\n") == 1  # the Mopti alert reached its member


def test_a_deactivated_committee_is_not_told(app: Flask, rt: Runtime, clock: Clock) -> None:
    cid = committee(rt, locality(rt, SMALL_COMMUNE).id, ["+22370000001"], clock())
    result = run_cli(app, "committees", "deactivate", "--committee", str(cid))
    assert result.exit_code == 0, result.output
    urgent_report(rt, locality(rt, SMALL_COMMUNE).id, clock())
    assert alert_sms(rt) == []
    assert the_alert(rt).recipients == 0


# --- closed means closed --------------------------------------------------------------


def closed_by_a_member(rt: Runtime, clock: Clock, outcome: str = "false_alarm") -> Alert:
    falling_trust(rt, clock)
    committee(rt, locality(rt, SMALL_COMMUNE).id, ["+22370000001"], clock())
    run_alert_cycle(rt, clock())
    with transaction(rt.sessions) as s:
        alert = s.scalars(select(Alert)).one()
        lifecycle.close(s, alert.id, "member:1", outcome, clock())  # type: ignore[arg-type]
    return the_alert(rt)


def trust_drop_codes(rt: Runtime) -> list[str]:
    with rt.sessions() as s:
        return list(
            s.scalars(select(Alert.code).where(Alert.rule == "trust_drop").order_by(Alert.id))
        )


def test_a_closed_condition_does_not_reopen_minutes_later(rt: Runtime, clock: Clock) -> None:
    closed = closed_by_a_member(rt, clock)
    clock.advance(minutes=15)
    assert run_alert_cycle(rt, clock()).opened == []
    clock.advance(days=3)
    run_alert_cycle(rt, clock())
    assert trust_drop_codes(rt) == [closed.code]
    assert len(alert_sms(rt, "trust_drop")) == 1


def an_hour_ago(clock: Clock) -> dt.datetime:
    """An hour before the current calendar week: the window rules run on whole weeks."""
    return week_start(clock()) - dt.timedelta(hours=1)


def test_a_closed_condition_reopens_after_the_cooldown(rt: Runtime, clock: Clock) -> None:
    closed = closed_by_a_member(rt, clock)
    clock.advance(days=13)
    run_alert_cycle(rt, clock())
    assert trust_drop_codes(rt) == [closed.code]
    clock.advance(days=1, minutes=1)  # 14 days: the default reopen_cooldown_days
    run_alert_cycle(rt, clock())
    assert len(trust_drop_codes(rt)) == 2


def slight_fall(rt: Runtime, clock: Clock) -> int:
    """About 4 over the baseline window, about 3.2 now: a trust_drop of severity 1 (at
    a national drop of 0.7)."""
    national_drop(rt, clock)
    loc = locality(rt, SMALL_COMMUNE).id
    who = reporters(rt, 20, clock())
    for days_ago in (100, 70, 45):
        ratings(rt, loc, who, mixed([4, 4, 5, 3], 20), clock() - dt.timedelta(days=days_ago))
    ratings(rt, loc, who, mixed([3, 3, 4, 3], 20), clock() - dt.timedelta(days=5))
    return loc


def test_a_closed_condition_reopens_when_clearly_worse(rt: Runtime, clock: Clock) -> None:
    loc = slight_fall(rt, clock)
    committee(rt, loc, ["+22370000001"], clock())
    run_alert_cycle(rt, clock())
    with transaction(rt.sessions) as s:
        first = s.scalars(select(Alert)).one()
        severity, code = first.severity, first.code
        lifecycle.close(s, first.id, "member:1", "false_alarm", clock())
    assert severity < 3
    clock.advance(days=7)
    run_alert_cycle(rt, clock())
    assert trust_drop_codes(rt) == [code]  # the same condition: held back
    ratings(rt, loc, reporters(rt, 60, clock()), [1] * 60, an_hour_ago(clock))
    run_alert_cycle(rt, clock(), force=True)  # this week again, with the new answers
    assert len(trust_drop_codes(rt)) == 2
    assert the_alert(rt).severity > severity


def test_a_closed_condition_reopens_once_it_has_been_clear(rt: Runtime, clock: Clock) -> None:
    closed = closed_by_a_member(rt, clock)
    loc = locality(rt, SMALL_COMMUNE).id
    clock.advance(days=7)
    ratings(rt, loc, reporters(rt, 80, clock()), mixed([4, 5], 80), an_hour_ago(clock))
    run_alert_cycle(rt, clock())
    assert trust_drop_codes(rt) == [closed.code]
    with rt.sessions() as s:
        assert s.get_one(Alert, closed.id).clear_since is not None  # seen clear since
    ratings(rt, loc, reporters(rt, 300, clock()), [1] * 300, an_hour_ago(clock))
    clock.advance(hours=1)
    run_alert_cycle(rt, clock(), force=True)  # within the 14-day cool-down
    assert len(trust_drop_codes(rt)) == 2


def test_the_engine_closes_alerts_only_through_the_lifecycle_with_an_event(
    rt: Runtime, clock: Clock
) -> None:
    loc = locality(rt, SMALL_COMMUNE).id
    committee(rt, loc, ["+22370000001"], clock())
    urgent_report(rt, loc, clock())
    clock.advance(days=4)
    assert run_alert_cycle(rt, clock()).closed == 1
    with rt.sessions() as s:
        alert = s.scalars(select(Alert)).one()
        actions = [e.action for e in s.scalars(select(lifecycle.AlertEvent))]
    assert alert.state is AlertState.CLOSED and alert.outcome == "resolved"
    assert actions[-1] == "autoclose"


def test_an_alert_that_reached_nobody_goes_out_once_someone_can_be_told(
    rt: Runtime, clock: Clock
) -> None:
    """A walk: an urgent report in Tessalit while the only committee was deactivated
    reached nobody (shown red), then the admin reactivated it; the alert stayed unsent
    for good, since escalation only looks past the link first told and none was. The
    clock's escalation check now sends an open alert that reached nobody as soon as a
    committee with an active member covers it, once."""
    code = urgent_report(rt, locality(rt, GAO).id, clock())[0]
    assert the_alert(rt).recipients == 0 and alert_sms(rt) == []
    clock.advance(minutes=5)
    assert check_escalations(rt, clock()) == 0  # still nobody to tell
    national(rt, ["+22370000009"], clock())
    clock.advance(minutes=5)
    assert check_escalations(rt, clock()) == 1
    alert = the_alert(rt)
    assert alert.code == code and alert.recipients == 1 and alert.escalation_level == 0
    assert hints(rt) == ["+223******09"]
    clock.advance(minutes=5)
    assert check_escalations(rt, clock()) == 0  # told now: not again
    assert len(alert_sms(rt)) == 1
