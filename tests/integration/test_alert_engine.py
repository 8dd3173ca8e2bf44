"""Early warning end to end: imported-like histories in, alerts and SMS out."""

from __future__ import annotations

import datetime as dt
import gc
import itertools
import random
import re
import sqlite3
import threading
import types
import weakref
from collections.abc import Iterable
from typing import Any

import pytest
from click.testing import Result
from flask import Flask
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from gateway.db import transaction
from gateway.domain.gsm7 import to_gsm7
from gateway.domain.rules import week_start
from gateway.models import (
    Alert,
    AlertEvent,
    AlertState,
    Incident,
    Locality,
    OutboxMessage,
    Reporter,
    TrustRating,
)
from gateway.runtime import Runtime
from gateway.services.alerts import engine as evaluation
from gateway.services.alerts import lifecycle
from gateway.services.alerts.digest import send_digests
from gateway.services.alerts.engine import run_alert_cycle
from gateway.services.alerts.escalation import check_escalations
from gateway.services.alerts.thresholds import set_threshold
from gateway.services.alerts.urgent import check_urgent
from tests.committees import member, seat
from tests.conftest import Clock, is_postgres_run

SMALL_COMMUNE = "ML050109"  # Mopti commune
OTHER_COMMUNE = "ML040506"
_refs = itertools.count()


def locality(rt: Runtime, pcode: str) -> Locality:
    with rt.sessions() as s:
        return s.scalars(select(Locality).where(Locality.pcode == pcode)).one()


def reporters(rt: Runtime, n: int, now: dt.datetime) -> list[int]:
    with transaction(rt.sessions) as s:
        start = next(_refs) * 10_000
        rows = [
            {
                "pseudonym": f"p{start + i:060d}",
                "key_version": 1,
                "opted_out": False,
                "notice_sent": True,
                "created_at": now,
            }
            for i in range(n)
        ]
        s.execute(insert(Reporter), rows)
        return list(s.scalars(select(Reporter.id).order_by(Reporter.id.desc()).limit(n)))


def ratings(
    rt: Runtime, loc: int, who: Iterable[int], values: Iterable[int], at: dt.datetime
) -> None:
    with transaction(rt.sessions) as s:
        s.execute(
            insert(TrustRating),
            [
                {
                    "reporter_id": r,
                    "locality_id": loc,
                    "question": "trust_dsf",
                    "value": v,
                    "rated_at": at,
                    "source": "import",
                    "source_ref": f"t{next(_refs)}",
                }
                for r, v in zip(who, values, strict=True)
            ],
        )


def incidents(
    rt: Runtime, loc: int, who: list[int], at: Iterable[dt.datetime], **extra: object
) -> None:
    with transaction(rt.sessions) as s:
        for i, when in enumerate(at):
            n = next(_refs)
            s.add(
                Incident(
                    ref_code=f"R{n:05d}",
                    kind=extra.get("kind", "banditry"),
                    locality_id=loc,
                    reporter_id=who[i % len(who)],
                    occurred="today",
                    reported_at=when,
                    danger_now=bool(extra.get("danger_now", False)),
                    source="import",
                    source_ref=f"i{n}",
                )
            )


def committee(rt: Runtime, loc: int | None, phones: list[str], now: dt.datetime) -> int:
    return seat(rt, loc, *phones, now=now)


def open_alerts(rt: Runtime) -> list[tuple[str, str]]:
    with rt.sessions() as s:
        rows = s.execute(
            select(Alert.rule, Locality.pcode)
            .join(Locality, Locality.id == Alert.locality_id)
            .where(Alert.state != AlertState.CLOSED)
        ).all()
    return sorted((rule, pcode) for rule, pcode in rows)


def alert_sms(rt: Runtime, rule: str | None = None) -> list[OutboxMessage]:
    with rt.sessions() as s:
        query = select(OutboxMessage).where(OutboxMessage.purpose == "alert")
        if rule:
            query = query.join(Alert, Alert.id == OutboxMessage.alert_id).where(Alert.rule == rule)
        return list(s.scalars(query))


def falling_trust(rt: Runtime, clock: Clock, pcode: str = SMALL_COMMUNE, people: int = 20) -> int:
    """About 4 over the baseline window, about 2 in the last 30 days."""
    loc = locality(rt, pcode).id
    who = reporters(rt, people, clock())
    rng = random.Random(4)
    for days_ago in (100, 70, 45):
        ratings(
            rt,
            loc,
            who,
            [rng.choice([4, 4, 4, 5, 3]) for _ in who],
            clock() - dt.timedelta(days=days_ago),
        )
    ratings(
        rt, loc, who, [rng.choice([2, 2, 2, 3, 1]) for _ in who], clock() - dt.timedelta(days=5)
    )
    return loc


def test_falling_trust_raises_one_trust_drop_alert_to_the_committee_and_nothing_else(
    rt: Runtime, clock: Clock
) -> None:
    loc = falling_trust(rt, clock)
    committee(rt, loc, ["+22370000001", "+22370000002"], clock())
    summary = run_alert_cycle(rt, clock())
    assert open_alerts(rt) == [("trust_drop", SMALL_COMMUNE)]
    assert len(summary.opened) == 1
    sms = alert_sms(rt)
    assert len(sms) == 2
    assert all(summary.opened[0] in m.body and "Mopti" in m.body for m in sms)
    with rt.sessions() as s:
        alert = s.scalars(select(Alert)).one()
    assert alert.figures["reporters"] == 20
    assert alert.figures["delta"] < -1
    assert alert.figures["drop"] == rt.reference.rules["trust_drop"].params["drop"].default
    assert alert.figures["rearm_days"] == 7


def test_two_low_ratings_in_a_small_commune_raise_nothing(rt: Runtime, clock: Clock) -> None:
    loc = locality(rt, SMALL_COMMUNE).id
    ratings(rt, loc, reporters(rt, 2, clock()), [1, 1], clock() - dt.timedelta(days=1))
    run_alert_cycle(rt, clock())
    assert open_alerts(rt) == []


def test_a_week_of_many_more_incidents_than_usual_raises_incident_spike_alone(
    rt: Runtime, clock: Clock
) -> None:
    loc = locality(rt, OTHER_COMMUNE).id
    who = reporters(rt, 8, clock())
    week = week_start(clock())  # the window rules look at the calendar week just ended
    weekly = [week - dt.timedelta(days=7 * w + 3) for w in range(1, 11) for _ in range(3)]
    incidents(rt, loc, who, weekly)
    incidents(rt, loc, who, [week - dt.timedelta(hours=h) for h in range(1, 150, 10)])  # 15
    incidents(rt, loc, who, [clock() - dt.timedelta(hours=1)] * 3)  # this week: not yet
    summary = run_alert_cycle(rt, clock())
    # incident_cusum fires too, but follows incident_spike: one alert for one event.
    assert open_alerts(rt) == [("incident_spike", OTHER_COMMUNE)]
    with rt.sessions() as s:
        assert s.scalars(select(Alert)).one().figures["count"] == 15
    assert summary.errors == 0


def test_a_flat_incident_history_raises_nothing(rt: Runtime, clock: Clock) -> None:
    loc = locality(rt, OTHER_COMMUNE).id
    who = reporters(rt, 8, clock())
    incidents(
        rt,
        loc,
        who,
        [clock() - dt.timedelta(days=7 * w + 3) for w in range(0, 10) for _ in range(3)],
    )
    run_alert_cycle(rt, clock())
    assert open_alerts(rt) == []


def test_an_urgent_incident_alerts_within_one_check_marked_unverified(
    rt: Runtime, clock: Clock
) -> None:
    loc = locality(rt, SMALL_COMMUNE).id
    committee(rt, loc, ["+22370000001"], clock())
    incidents(rt, loc, reporters(rt, 1, clock()), [clock()], kind="attack", danger_now=True)
    incidents(rt, loc, reporters(rt, 1, clock()), [clock()], kind="banditry", danger_now=True)
    opened = check_urgent(rt, clock())
    assert len(opened) == 1
    assert check_urgent(rt, clock()) == []  # the watermark: nothing twice
    with rt.sessions() as s:
        alert = s.scalars(select(Alert)).one()
    assert alert.verified is False
    body = alert_sms(rt)[0].body
    assert "URGENTE" in body and "non vérifié" in body
    assert "attaque" in body


def test_an_open_alert_is_not_resent_until_rearm_or_a_higher_severity(
    rt: Runtime, clock: Clock
) -> None:
    loc = falling_trust(rt, clock)
    committee(rt, loc, ["+22370000001"], clock())
    run_alert_cycle(rt, clock())
    clock.advance(hours=1)
    run_alert_cycle(rt, clock())
    assert len(alert_sms(rt, "trust_drop")) == 1
    clock.advance(days=7, hours=1)  # past the re-arm interval: a reminder
    run_alert_cycle(rt, clock())
    assert len(alert_sms(rt, "trust_drop")) == 2
    clock.advance(hours=1)
    run_alert_cycle(rt, clock())
    assert len(alert_sms(rt, "trust_drop")) == 2


def test_an_alert_closes_by_itself_after_the_condition_clears(rt: Runtime, clock: Clock) -> None:
    loc = falling_trust(rt, clock)
    run_alert_cycle(rt, clock())
    clock.advance(days=40)  # the low answers leave the window
    ratings(rt, loc, reporters(rt, 20, clock()), [4] * 20, clock() - dt.timedelta(days=1))
    run_alert_cycle(rt, clock())
    assert open_alerts(rt) == [("trust_drop", SMALL_COMMUNE)]  # clear, not yet long enough
    clock.advance(days=15)
    run_alert_cycle(rt, clock())
    assert ("trust_drop", SMALL_COMMUNE) not in open_alerts(rt)
    with rt.sessions() as s:
        outcome = s.scalars(select(Alert.outcome).where(Alert.rule == "trust_drop")).one()
    assert outcome == "resolved"


def test_an_unacknowledged_alert_escalates_to_the_cercle_committee(
    rt: Runtime, clock: Clock
) -> None:
    loc = falling_trust(rt, clock)
    commune = locality(rt, SMALL_COMMUNE)
    committee(rt, loc, ["+22370000001"], clock())
    committee(rt, commune.parent_id or 0, ["+22370000009"], clock())
    run_alert_cycle(rt, clock())
    assert check_escalations(rt, clock()) == 0
    clock.advance(hours=49)
    assert check_escalations(rt, clock()) == 1
    assert check_escalations(rt, clock()) == 0
    recipients = sorted(m.recipient_hint for m in alert_sms(rt))
    assert recipients == ["+223******01", "+223******09"]
    assert "Sans réponse" in max(alert_sms(rt), key=lambda m: m.id).body


def test_a_clock_stopped_for_a_day_catches_up_with_one_alert_per_crossing(
    rt: Runtime, clock: Clock
) -> None:
    loc = falling_trust(rt, clock)
    committee(rt, loc, ["+22370000001"], clock())
    clock.advance(days=1)  # no pass ran meanwhile
    run_alert_cycle(rt, clock())
    run_alert_cycle(rt, clock())
    assert open_alerts(rt) == [("trust_drop", SMALL_COMMUNE)]
    assert len(alert_sms(rt)) == 1


def test_the_weekly_digest_goes_once_per_week_and_hides_small_numbers(
    rt: Runtime, clock: Clock
) -> None:
    loc = falling_trust(rt, clock)
    committee(rt, loc, ["+22370000001"], clock())
    small = locality(rt, OTHER_COMMUNE).id
    committee(rt, small, ["+22370000002"], clock())
    ratings(rt, small, reporters(rt, 2, clock()), [1, 1], clock() - dt.timedelta(days=2))
    assert send_digests(rt, clock()) == 2
    assert send_digests(rt, clock()) == 0
    with rt.sessions() as s:
        bodies = dict(s.execute(select(OutboxMessage.recipient_hint, OutboxMessage.body)).all())
    assert "20 personnes" in bodies["+223******01"]
    assert "pas assez" in bodies["+223******02"]
    for hint, pcode in (("01", SMALL_COMMUNE), ("02", OTHER_COMMUNE)):  # as an alert SMS
        named = f"{to_gsm7(locality(rt, pcode).name)} (commune) cette semaine"
        assert bodies[f"+223******{hint}"].startswith(named)


def test_the_digest_withholds_an_index_that_subtraction_would_turn_against_a_small_cell(
    rt: Runtime, clock: Clock
) -> None:
    # Mopti commune: 7 people; Socoura, in the same cercle: 2. The cercle's committee
    # gets the cercle's 9; were Mopti's committee told its 7, 9 - 7 would give Socoura.
    mopti, socoura = locality(rt, SMALL_COMMUNE), locality(rt, "ML050114")
    ratings(rt, mopti.id, reporters(rt, 7, clock()), [2] * 7, clock() - dt.timedelta(days=3))
    ratings(rt, socoura.id, reporters(rt, 2, clock()), [5, 5], clock() - dt.timedelta(days=3))
    committee(rt, mopti.id, ["+22370000001"], clock())
    committee(rt, mopti.parent_id or 0, ["+22370000002"], clock())
    assert send_digests(rt, clock()) == 2
    with rt.sessions() as s:
        bodies = dict(s.execute(select(OutboxMessage.recipient_hint, OutboxMessage.body)).all())
    assert "pas assez" in bodies["+223******01"] and "7 personnes" not in bodies["+223******01"]
    assert "9 personnes" in bodies["+223******02"]


def test_a_person_who_rated_two_communes_counts_once_in_the_cercles_digest(
    rt: Runtime, clock: Clock
) -> None:
    # Mopti: 5 people; Socoura, in the same cercle: one of them, and one more. The
    # cercle has 6 people (7 ratings): its committee hears of 6, and of an index;
    # Socoura's 2 are too few. With 4 people (5 ratings) the cercle's index is hidden.
    mopti, socoura = locality(rt, SMALL_COMMUNE), locality(rt, "ML050114")
    people = reporters(rt, 6, clock())
    when = clock() - dt.timedelta(days=3)
    ratings(rt, mopti.id, people[:5], [2] * 5, when)
    ratings(rt, socoura.id, people[4:], [5, 5], when)
    committee(rt, mopti.parent_id or 0, ["+22370000002"], clock())
    assert send_digests(rt, clock()) == 1
    with rt.sessions() as s:
        (body,) = s.scalars(select(OutboxMessage.body)).all()
    assert "6 personnes" in body and "7 personnes" not in body


def test_a_cercle_of_four_people_who_gave_five_ratings_gets_no_index(
    rt: Runtime, clock: Clock
) -> None:
    mopti, socoura = locality(rt, SMALL_COMMUNE), locality(rt, "ML050114")
    people = reporters(rt, 4, clock())
    when = clock() - dt.timedelta(days=3)
    ratings(rt, mopti.id, people, [2] * 4, when)
    ratings(rt, socoura.id, people[3:], [5], when)
    committee(rt, mopti.parent_id or 0, ["+22370000002"], clock())
    assert send_digests(rt, clock()) == 1
    with rt.sessions() as s:
        (body,) = s.scalars(select(OutboxMessage.body)).all()
    assert "pas assez" in body


def test_the_consoles_tables_count_a_person_who_rated_two_communes_once(
    rt: Runtime, clock: Clock
) -> None:
    from gateway.gazetteer.index import gazetteer
    from gateway.services.figures import tables

    mopti, socoura = locality(rt, SMALL_COMMUNE), locality(rt, "ML050114")
    people = reporters(rt, 4, clock())
    when = clock() - dt.timedelta(days=3)
    ratings(rt, mopti.id, people, [2] * 4, when)
    ratings(rt, socoura.id, people[3:], [5], when)  # 4 people, 5 answers
    gaz = gazetteer(rt)
    with rt.sessions() as s:
        fig = tables.figures(s, rt, clock())
    cercle = gaz.pcodes[mopti.parent_id or 0]
    for pcode in (cercle, tables.NATIONAL):
        shown = tables.cell(fig, gaz, pcode, show_small=True)
        assert shown.reporters == 4
        assert tables.cell(fig, gaz, pcode, show_small=False).suppressed  # under 5 people


@pytest.mark.postgres
def test_two_cycles_at_once_produce_each_alert_and_each_sms_once(
    app: Flask, rt: Runtime, clock: Clock
) -> None:
    loc = falling_trust(rt, clock)
    committee(rt, loc, ["+22370000001", "+22370000002"], clock())
    barrier = threading.Barrier(2)

    def cycle() -> None:
        barrier.wait()
        run_alert_cycle(rt, clock())

    threads = [threading.Thread(target=cycle) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert open_alerts(rt) == [("trust_drop", SMALL_COMMUNE)]
    with rt.sessions() as s:
        assert s.scalar(select(func.count()).select_from(OutboxMessage)) == 2


def test_a_locality_whose_data_sits_only_in_its_areas_longer_window_is_checked(
    rt: Runtime, clock: Clock
) -> None:
    # Mopti's cercle watches low trust over 180 days; its commune's answers are 150
    # days old, outside every national window (the longest reaches 120 days back).
    mopti = locality(rt, SMALL_COMMUNE)
    with transaction(rt.sessions) as s:
        set_threshold(
            s,
            rt,
            rule="trust_low",
            param="window_days",
            value=180,
            locality_id=mopti.parent_id,
            actor="test",
            now=clock(),
        )
    who = reporters(rt, 20, clock())
    ratings(rt, mopti.id, who, mixed([1, 1, 2], 20), clock() - dt.timedelta(days=150))
    run_alert_cycle(rt, clock())
    assert open_alerts(rt) == [("trust_low", SMALL_COMMUNE)]


def national_drop(rt: Runtime, clock: Clock, value: float = 0.7) -> None:
    """A national trust_drop threshold under the default, so that a fall of under a
    point fires: these tests are about the lifecycle, not the threshold."""
    with transaction(rt.sessions) as s:
        set_threshold(
            s,
            rt,
            rule="trust_drop",
            param="drop",
            value=value,
            locality_id=None,
            actor="test",
            now=clock(),
        )


def mixed(mean_of: list[int], n: int) -> list[int]:
    """n answers cycling through `mean_of` (so both windows have some spread)."""
    return [mean_of[i % len(mean_of)] for i in range(n)]


def test_a_higher_severity_is_sent_again_at_once(rt: Runtime, clock: Clock) -> None:
    national_drop(rt, clock)
    loc = locality(rt, SMALL_COMMUNE).id
    who = reporters(rt, 20, clock())
    ratings(rt, loc, who, mixed([4, 4, 5, 3], 20), clock() - dt.timedelta(days=60))
    ratings(rt, loc, who, mixed([3, 3, 4, 3], 20), clock() - dt.timedelta(days=3))  # -0.75
    committee(rt, loc, ["+22370000001"], clock())
    run_alert_cycle(rt, clock())
    assert len(alert_sms(rt, "trust_drop")) == 1
    clock.advance(hours=2)
    run_alert_cycle(rt, clock())  # the window rules ran for this week already
    assert len(alert_sms(rt, "trust_drop")) == 1
    clock.advance(days=7)
    ratings(rt, loc, who, mixed([2, 2, 2, 3], 20), clock() - dt.timedelta(days=1))  # -1.75
    run_alert_cycle(rt, clock())
    with rt.sessions() as s:
        alert = s.scalars(select(Alert)).one()
    assert alert.severity == 3 and alert.notified_severity == 3
    assert len(alert_sms(rt, "trust_drop")) == 2
    run_alert_cycle(rt, clock())
    assert len(alert_sms(rt, "trust_drop")) == 2


def test_each_member_reads_the_alert_in_their_language_without_reporter_data(
    rt: Runtime, clock: Clock
) -> None:
    loc = falling_trust(rt, clock)
    phones = {"fr": "+22370000001", "en": "+22370000002", "bm": "+22370000003"}
    cid = committee(rt, loc, [phones["fr"]], clock())
    with transaction(rt.sessions) as s:
        s.add_all(member(rt, cid, phones[lang], lang) for lang in ("en", "bm"))
    run_alert_cycle(rt, clock())
    bodies = {m.recipient_hint[-2:]: m.body for m in alert_sms(rt)}
    assert bodies["01"].startswith("ALERTE ")
    assert bodies["02"].startswith("ALERT ")
    assert bodies["03"].startswith("LASOMINI ")
    # The place says what it is, in the member's language, as the alert page does.
    name = locality(rt, SMALL_COMMUNE).name
    for end, kind in (("01", "commune"), ("02", "commune"), ("03", "komini")):
        assert f" {name} ({kind}): " in bodies[end], bodies[end]
    with rt.sessions() as s:
        pseudonyms = list(s.scalars(select(Reporter.pseudonym)))
        stamps = [t.strftime("%H:%M") for t in s.scalars(select(TrustRating.rated_at))]
    for body in bodies.values():
        assert not re.search(r"\+?\d{8,}", body)  # no phone number
        assert not any(p in body for p in pseudonyms)
        assert not any(stamp in body for stamp in stamps)  # no time of a report


def test_an_alert_goes_to_the_nearest_committee_and_escalates_past_a_level_without_one(
    rt: Runtime, clock: Clock
) -> None:
    loc = falling_trust(rt, clock)
    cercle = locality(rt, SMALL_COMMUNE).parent_id or 0
    with rt.sessions() as s:
        region = s.get_one(Locality, cercle).parent_id or 0
    committee(rt, cercle, ["+22370000005"], clock())  # the commune has none
    committee(rt, region, ["+22370000007"], clock())
    run_alert_cycle(rt, clock())
    assert [m.recipient_hint for m in alert_sms(rt)] == ["+223******05"]
    clock.advance(hours=49)
    assert check_escalations(rt, clock()) == 1
    assert sorted(m.recipient_hint for m in alert_sms(rt)) == ["+223******05", "+223******07"]
    clock.advance(hours=49)
    assert check_escalations(rt, clock()) == 0  # nobody above the region
    with rt.sessions() as s:
        alert = s.scalars(select(Alert)).one()
        actions = list(
            s.scalars(
                select(AlertEvent.action)
                .where(AlertEvent.alert_id == alert.id, AlertEvent.actor == "system")
                .order_by(AlertEvent.id)
            )
        )
    assert alert.escalation_level == 1
    assert actions == ["open", "notify", "escalate"]
    assert loc


def test_an_acknowledged_alert_does_not_escalate(rt: Runtime, clock: Clock) -> None:
    loc = falling_trust(rt, clock)
    committee(rt, loc, ["+22370000001"], clock())
    committee(rt, locality(rt, SMALL_COMMUNE).parent_id or 0, ["+22370000009"], clock())
    run_alert_cycle(rt, clock())
    with transaction(rt.sessions) as s:
        alert = s.scalars(select(Alert)).one()
        alert.state, alert.acknowledged_at = AlertState.ACKNOWLEDGED, clock()
    clock.advance(days=5)
    assert check_escalations(rt, clock()) == 0
    assert len(alert_sms(rt)) == 1


def run_cli(app: Flask, *args: str) -> Result:
    return app.test_cli_runner().invoke(args=list(args))


def test_thresholds_set_and_list_show_where_each_value_comes_from(
    app: Flask, rt: Runtime, clock: Clock
) -> None:
    national_set = ("--locality", "national", "--rule", "trust_drop", "--value", "0.9")
    assert run_cli(app, "thresholds", "set", *national_set).exit_code == 0
    region = run_cli(
        app, "thresholds", "set", "--locality", "ML05", "--rule", "trust_drop", "--value", "3"
    )
    assert region.exit_code == 0, region.output
    assert "None" not in region.output and "inherited" in region.output
    again = run_cli(app, "thresholds", "set", *national_set)
    assert "(was 0.9)" in again.output
    listed = run_cli(app, "thresholds", "list", "--locality", SMALL_COMMUNE).output
    lines = {tuple(line.split()[:2]): line for line in listed.splitlines()}
    assert lines[("trust_drop", "drop")].split()[2] == "3"
    assert lines[("trust_drop", "drop")].endswith("Mopti (ML05)")
    assert lines[("trust_drop", "min_reporters")].endswith("default")
    national = run_cli(app, "thresholds", "list").output.splitlines()
    assert any(line.split()[:3] == ["trust_drop", "drop", "0.9"] for line in national)
    assert any(line.endswith("national") for line in national)
    too_few = ("--rule", "trust_low", "--param", "min_reporters", "--value", "2")
    bad = run_cli(app, "thresholds", "set", "--locality", "national", *too_few)
    assert bad.exit_code != 0
    falling_trust(rt, clock)  # a fall of about 2 points, under the region's 3
    run_alert_cycle(rt, clock())
    assert ("trust_drop", SMALL_COMMUNE) not in open_alerts(rt)


@pytest.mark.postgres
def test_two_urgent_checks_at_once_alert_and_send_once(
    app: Flask, rt: Runtime, clock: Clock
) -> None:
    loc = locality(rt, SMALL_COMMUNE).id
    committee(rt, loc, ["+22370000001", "+22370000002"], clock())
    incidents(rt, loc, reporters(rt, 1, clock()), [clock()], kind="attack", danger_now=True)
    barrier = threading.Barrier(2)

    def check() -> None:
        barrier.wait()
        check_urgent(rt, clock())

    threads = [threading.Thread(target=check) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert open_alerts(rt) == [("incident_urgent", SMALL_COMMUNE)]
    assert len(alert_sms(rt)) == 2


@pytest.mark.postgres
def test_an_urgent_incident_committed_out_of_id_order_still_alerts(
    app: Flask, rt: Runtime, clock: Clock
) -> None:
    slow_loc, fast_loc = locality(rt, SMALL_COMMUNE).id, locality(rt, OTHER_COMMUNE).id
    who = reporters(rt, 1, clock())
    slow = rt.sessions()
    slow.add(
        Incident(
            ref_code="RSLOW",
            kind="attack",
            locality_id=slow_loc,
            reporter_id=who[0],
            occurred="today",
            reported_at=clock(),
            danger_now=True,
            source="sms",
            source_ref="slow",
        )
    )
    slow.flush()  # takes the lower id, not committed yet
    incidents(rt, fast_loc, who, [clock()], kind="attack", danger_now=True)
    check_urgent(rt, clock())
    slow.commit()
    slow.close()
    clock.advance(seconds=30)
    check_urgent(rt, clock())
    assert ("incident_urgent", SMALL_COMMUNE) in open_alerts(rt)


def test_a_second_urgent_report_in_the_same_place_is_sent_too(rt: Runtime, clock: Clock) -> None:
    loc = locality(rt, SMALL_COMMUNE).id
    committee(rt, loc, ["+22370000001"], clock())
    incidents(rt, loc, reporters(rt, 1, clock()), [clock()], kind="attack", danger_now=True)
    check_urgent(rt, clock())
    clock.advance(minutes=20)
    incidents(rt, loc, reporters(rt, 1, clock()), [clock()], kind="kidnapping", danger_now=True)
    check_urgent(rt, clock())
    check_urgent(rt, clock())
    bodies = [m.body for m in alert_sms(rt, "incident_urgent")]
    assert len(bodies) == 2
    assert "enlèvement" in bodies[1]


def test_one_locality_whose_check_fails_is_logged_and_counted_and_the_others_alert(
    rt: Runtime, clock: Clock, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    broken = falling_trust(rt, clock, SMALL_COMMUNE)
    falling_trust(rt, clock, OTHER_COMMUNE)
    real = evaluation._finding

    def failing(m: evaluation.Measures, rule: str, loc: int, p: dict[str, float]) -> object:
        if loc == broken:
            raise ValueError("a check that cannot cope with these figures")
        return real(m, rule, loc, p)

    monkeypatch.setattr(evaluation, "_finding", failing)
    summary = run_alert_cycle(rt, clock())
    assert open_alerts(rt) == [("trust_drop", OTHER_COMMUNE)]
    assert summary.errors == len(evaluation.WINDOW_RULES)  # each rule of that locality
    assert any(
        SMALL_COMMUNE in r.getMessage() and "trust_drop" in r.getMessage()
        for r in caplog.records
        if r.levelname == "ERROR"
    )


def test_what_the_rules_read_is_freed_before_the_collector_resumes(
    rt: Runtime, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The collector, paused for the pass, would otherwise traverse every row and column
    the rules read (~35,000 objects at 1M ratings) as it resumes."""
    falling_trust(rt, clock)
    made: weakref.WeakSet[evaluation.Measures] = weakref.WeakSet()
    alive_at_resume: list[int] = []

    class Tracked(evaluation.Measures):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            made.add(self)

    def enable() -> None:
        alive_at_resume.append(len(made))
        gc.enable()

    fake_gc = types.SimpleNamespace(isenabled=lambda: True, disable=gc.disable, enable=enable)
    monkeypatch.setattr(evaluation, "Measures", Tracked)
    monkeypatch.setattr(evaluation, "gc", fake_gc)
    summary = run_alert_cycle(rt, clock())
    assert len(summary.opened) == 1  # the rules ran, on a Measures of their own
    assert alive_at_resume == [0]


def test_one_locality_whose_alert_cannot_be_written_does_not_block_the_others(
    rt: Runtime, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = falling_trust(rt, clock, SMALL_COMMUNE)
    falling_trust(rt, clock, OTHER_COMMUNE)
    real = lifecycle.open_alert

    def failing(session: Session, loc: int, *args: object) -> object:
        alert = real(session, loc, *args)  # type: ignore[arg-type]
        if loc == broken:
            session.flush()
            raise RuntimeError("written half, then failed")
        return alert

    monkeypatch.setattr(lifecycle, "open_alert", failing)
    summary = run_alert_cycle(rt, clock())
    assert open_alerts(rt) == [("trust_drop", OTHER_COMMUNE)]
    assert summary.errors == 1
    with rt.sessions() as s:  # nothing of the failed locality's half-written alert stays
        assert s.scalar(select(func.count()).select_from(AlertEvent)) == 2  # open, notify


@pytest.mark.parametrize("rule", ["incident_spike", "incident_cusum", "trust_shift"])
def test_the_backtest_counts_the_alerts_the_clock_opens(
    rt: Runtime, clock: Clock, rule: str
) -> None:
    """Issue 14: the console's backtest replays what production will send. Random
    histories in three communes; the clock runs every 6 hours for 20 weeks (as every
    5 minutes, but fewer passes); its alerts per locality equal the backtest's."""
    from gateway.console.threshold_views import Proposal, backtest
    from gateway.gazetteer.index import gazetteer

    rng = random.Random(14)
    start = clock()
    end = start + dt.timedelta(weeks=20)
    for pcode in (SMALL_COMMUNE, OTHER_COMMUNE, "ML050101"):
        loc = locality(rt, pcode).id
        who = reporters(rt, 40, start)
        times = []
        for week in range(-40, 20):
            rate = 1.5 if week < 0 or rng.random() < 0.6 else 5.0  # bursts of weeks
            n = sum(1 for _ in range(40) if rng.random() < rate / 40)
            times += [start + dt.timedelta(weeks=week, hours=rng.uniform(0, 167)) for _ in range(n)]
        incidents(rt, loc, who, times)
        for week in range(-20, 20, 2):
            sample = rng.sample(who, 12)
            mean = [4, 4, 3, 5, 4] if week < 4 or rng.random() < 0.5 else [2, 3, 2, 3, 1]
            when = start + dt.timedelta(weeks=week, days=rng.uniform(0, 6))
            ratings(rt, loc, sample, [rng.choice(mean) for _ in sample], when)
    while clock() < end:
        run_alert_cycle(rt, clock())
        clock.advance(hours=6)
    with rt.sessions() as s:
        opened = dict(
            s.execute(
                select(Locality.pcode, func.count())
                .join(Alert, Alert.locality_id == Locality.id)
                .where(Alert.rule == rule)
                .group_by(Locality.pcode)
            ).all()
        )
        gaz = gazetteer(rt)
        spec = {
            "incident_spike": "alpha",
            "incident_cusum": "arl_weeks",
            "trust_shift": "arl_weeks",
        }
        value = {"incident_spike": 0.005, "incident_cusum": 200.0, "trust_shift": 200.0}[rule]
        proposal = Proposal(rule, spec[rule], value, None, 7 * 20)
        rows = backtest(s, rt, gaz, proposal, clock())
    replayed = {gaz.pcodes[loc]: stored for loc, stored, _ in rows if stored}
    assert sum(opened.values()) > 0
    assert replayed == opened


@pytest.mark.skipif(is_postgres_run(), reason="SQLite's one write lock")
def test_on_sqlite_a_write_committed_while_the_pass_reads_loses_no_alert(
    rt: Runtime, clock: Clock, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The clock's other jobs (urgent check, inbound handling) commit while a pass is
    between its reads and its writes. In WAL mode a transaction that read first cannot
    then write over a newer commit: SQLite answers "database is locked" at once, and the
    first pass after `scripts/run` lost every alert (a walk saw it). The pass now takes
    the write lock first, so the other writer waits for it instead."""
    falling_trust(rt, clock)
    path = database_url.removeprefix("sqlite:///")
    wrote = threading.Event()
    started: list[threading.Thread] = []
    real_apply = evaluation._apply

    def other_job() -> None:
        conn = sqlite3.connect(path, timeout=30)
        conn.execute(
            "INSERT INTO job_state (name, watermark, updated_at) VALUES ('other', ?, ?)",
            (clock().isoformat(), clock().isoformat()),
        )
        conn.commit()
        conn.close()
        wrote.set()

    def apply_after_another_commit(session: Session, *args: object, **kw: object) -> None:
        session.scalars(select(Alert)).all()  # the pass reads inside its savepoint
        if not started:
            started.append(threading.Thread(target=other_job))
            started[0].start()
            started[0].join(timeout=1)  # before: committed at once; now: waits for the pass
        real_apply(session, *args, **kw)

    monkeypatch.setattr(evaluation, "_apply", apply_after_another_commit)
    summary = run_alert_cycle(rt, clock())
    assert summary.errors == 0
    assert open_alerts(rt) == [("trust_drop", SMALL_COMMUNE)]
    assert wrote.wait(30)


def _three_people_in_two_hidden_communes(rt: Runtime, clock: Clock) -> tuple[Locality, str]:
    """Mopti commune: 10 people; Socoura and Konna, in the same cercle: the same 3
    people each (6 answers). The cercle (13 people) minus Mopti (10) would give the two
    hidden communes together: 3 people."""
    mopti = locality(rt, SMALL_COMMUNE)
    when = clock() - dt.timedelta(days=3)
    ratings(rt, mopti.id, reporters(rt, 10, clock()), [2] * 10, when)
    three = reporters(rt, 3, clock())
    for pcode in ("ML050114", "ML050105"):
        ratings(rt, locality(rt, pcode).id, three, [5, 5, 5], when)
    return mopti, SMALL_COMMUNE


def test_the_digest_counts_a_hidden_remainder_in_people_not_answers(
    rt: Runtime, clock: Clock
) -> None:
    mopti, _ = _three_people_in_two_hidden_communes(rt, clock)
    committee(rt, mopti.id, ["+22370000001"], clock())
    committee(rt, mopti.parent_id or 0, ["+22370000002"], clock())
    assert send_digests(rt, clock()) == 2
    with rt.sessions() as s:
        bodies = dict(s.execute(select(OutboxMessage.recipient_hint, OutboxMessage.body)).all())
    # Were both told, 13 - 10 would describe the 3 people of Socoura and Konna.
    told = ["10 personnes" in bodies["+223******01"], "13 personnes" in bodies["+223******02"]]
    assert told.count(True) <= 1, bodies


def test_the_consoles_tables_count_a_hidden_remainder_in_people_not_answers(
    rt: Runtime, clock: Clock
) -> None:
    from gateway.gazetteer.index import gazetteer
    from gateway.services.figures import tables

    mopti, pcode = _three_people_in_two_hidden_communes(rt, clock)
    gaz = gazetteer(rt)
    with rt.sessions() as s:
        fig = tables.figures(s, rt, clock())
    cercle = gaz.pcodes[mopti.parent_id or 0]
    shown = [tables.cell(fig, gaz, p, show_small=False) for p in (cercle, pcode)]
    assert [c.reporters for c in shown] == [13, 10]  # people, as admins see them
    assert any(c.suppressed for c in shown)


def test_the_overviews_small_charts_hide_a_remainder_the_tables_hide(
    rt: Runtime, clock: Clock
) -> None:
    from gateway.console import glance
    from gateway.gazetteer.index import gazetteer

    mopti, pcode = _three_people_in_two_hidden_communes(rt, clock)
    cercle = gazetteer(rt).pcodes[mopti.parent_id or 0]
    with rt.sessions() as s:
        points = glance.series(s, rt, [cercle, pcode], clock(), show_small=False)
        items = [
            glance.questions(s, rt, p, clock(), show_small=False, lang="fr")[0].cell
            for p in (cercle, pcode)
        ]
    latest = [points[cercle][-1], points[pcode][-1]]
    # Both published, 13 - 10 would describe the 3 people of Socoura and Konna.
    assert any(c.suppressed for c in latest), latest
    assert any(c.suppressed for c in items), items
