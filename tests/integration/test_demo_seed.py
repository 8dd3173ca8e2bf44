"""`demo seed`: six months of invented data in about fifty localities, with one commune
whose trust falls and one with an incident spike, both strong enough for the rules."""

from __future__ import annotations

import datetime as dt
import statistics
from collections.abc import Callable

from click.testing import Result
from flask import Flask
from sqlalchemy import func, select

from gateway.domain.findings import Tally, check_incident_spike, check_trust_drop
from gateway.domain.rules import load_rules, week_start
from gateway.domain.trust_index import Aggregate
from gateway.gazetteer.index import gazetteer
from gateway.models import (
    Alert,
    Committee,
    CommitteeMember,
    ConsoleUser,
    Incident,
    OutboxMessage,
    Reporter,
    Role,
    TrustRating,
)
from gateway.phones import normalize_phone
from gateway.runtime import Runtime
from tests.conftest import Clock


def run_cli(app: Flask, *args: str) -> Result:
    return app.test_cli_runner().invoke(args=list(args))


def defaults(rule: str) -> dict[str, float]:
    return {name: p.default for name, p in load_rules()[rule].params.items()}


def latest_per_reporter(
    rt: Runtime, locality_id: int, start: dt.datetime, end: dt.datetime
) -> list[int]:
    with rt.sessions() as session:
        rows = session.execute(
            select(TrustRating.reporter_id, TrustRating.value)
            .where(
                TrustRating.locality_id == locality_id,
                TrustRating.question == rt.reference.primary_question,
                TrustRating.rated_at >= start,
                TrustRating.rated_at < end,
            )
            .order_by(TrustRating.rated_at)
        ).all()
    return list({r.reporter_id: r.value for r in rows}.values())


def weekly_incidents(rt: Runtime, locality_id: int, now: dt.datetime) -> list[tuple[int, int]]:
    """(incidents, distinct reporters) for each of the last 20 weeks, newest first."""
    weeks = []
    with rt.sessions() as session:
        for w in range(20):
            end, start = now - dt.timedelta(days=7 * w), now - dt.timedelta(days=7 * w + 7)
            count, people = session.execute(
                select(func.count(), func.count(func.distinct(Incident.reporter_id))).where(
                    Incident.locality_id == locality_id,
                    Incident.reported_at >= start,
                    Incident.reported_at < end,
                )
            ).one()
            weeks.append((count, people))
    return weeks


def test_demo_seed_fills_fifty_localities_and_raises_both_alerts(
    make_app: Callable[..., Flask], clock: Clock
) -> None:
    app = make_app()
    rt: Runtime = app.extensions["gateway"]
    result = run_cli(app, "demo", "seed", "--seed", "7")
    assert result.exit_code == 0, result.output
    assert "trust falls in Bandiagara; incidents spike in Niono" in result.output
    if "console admin: admin@example.org / " in result.output:
        with rt.sessions() as session:
            admin = session.scalars(select(ConsoleUser)).one()
        assert (admin.email, admin.role) == ("admin@example.org", Role.ADMIN)
    else:
        assert "no console user created" in result.output
    now, places = clock(), gazetteer(rt)

    with rt.sessions() as session:
        localities = session.scalar(select(func.count(func.distinct(TrustRating.locality_id))))
        earliest = session.scalar(select(func.min(TrustRating.rated_at)))
        latest = session.scalar(select(func.max(TrustRating.rated_at)))
        questions = set(session.scalars(select(TrustRating.question).distinct()))
        camp = session.scalar(
            select(func.count()).where(TrustRating.locality_id == places.id_of("CAMP-MR-MBERA"))
        )
        kinds = set(session.scalars(select(Incident.kind).distinct()))
    assert localities is not None and 45 <= localities <= 55
    assert earliest is not None and earliest < now - dt.timedelta(days=170)
    assert latest is not None and now - dt.timedelta(days=2) < latest <= now
    assert len(questions) >= 3 and camp
    assert {"attack", "banditry", "threat"} <= kinds

    drop = places.id_of("ML050201")  # Bandiagara
    current = latest_per_reporter(rt, drop, now - dt.timedelta(days=30), now)
    baseline = latest_per_reporter(
        rt, drop, now - dt.timedelta(days=120), now - dt.timedelta(days=30)
    )
    assert len(current) >= 15 and len(baseline) >= 15
    assert 1.6 <= statistics.fmean(current) <= 2.4
    assert 3.6 <= statistics.fmean(baseline) <= 4.4
    finding = check_trust_drop(
        Aggregate.of(current), Aggregate.of(baseline), defaults("trust_drop")
    )
    assert finding is not None

    spike = places.id_of("ML040506")  # Niono
    weeks = weekly_incidents(rt, spike, week_start(now))  # the calendar weeks
    (last_count, last_people), before = weeks[0], [c for c, _ in weeks[2:10]]
    assert last_people >= 6
    assert last_count >= 3.5 * statistics.fmean(before)
    history = [Tally(c) for c, _ in reversed(weeks)]
    params = defaults("incident_spike")
    assert check_incident_spike(history, last_people, params) is not None


def test_demo_data_keeps_no_real_number_and_committees_get_fake_ones(
    app: Flask, rt: Runtime
) -> None:
    assert run_cli(app, "demo", "seed").exit_code == 0
    with rt.sessions() as session:
        members = session.scalars(select(CommitteeMember)).all()
        committees = session.scalars(select(Committee)).all()
        pseudonyms = set(session.scalars(select(Reporter.pseudonym)))
    assert len(committees) == 5 and len(members) >= 10
    for member in members:
        number = rt.vault.decrypt(member.phone_enc)
        assert number.startswith("+2237000") and normalize_phone(number, ("ML",)) == number
        assert member.phone_hash == rt.pseudonyms.pseudonym(number)
    local = [c for c in committees if c.locality_id is not None]
    assert rt.pseudonyms.pseudonym(f"demo:{local[0].locality_id}:0") in pseudonyms


def test_the_demo_shows_an_alert_routed_up_to_the_nation(app: Flask, rt: Runtime) -> None:
    seeded = run_cli(app, "demo", "seed")
    assert "goes up to the national committee" in seeded.output
    assert run_cli(app, "alerts", "evaluate").exit_code == 0
    gaz = gazetteer(rt)
    with rt.sessions() as session:
        national = session.scalars(select(Committee).where(Committee.locality_id.is_(None))).one()
        members = {m.id for m in session.scalars(select(CommitteeMember))
                   if m.committee_id == national.id}  # fmt: skip
        urgent = session.scalars(select(Alert).where(Alert.rule == "incident_urgent")).all()
        told = {
            (a.id, m)
            for a in urgent
            for m in session.scalars(
                select(OutboxMessage.member_id).where(OutboxMessage.alert_id == a.id)
            )
        }
    north = [a for a in urgent if gaz.chain(a.locality_id)[-1] == gaz.id_of("ML07")]
    assert north and all((a.id, m) in told for a in north for m in members)
    assert all(a.recipients > 0 for a in urgent)  # every urgent alert reached someone


def test_seeding_twice_refuses_unless_forced_and_is_deterministic(app: Flask, rt: Runtime) -> None:
    def snapshot() -> list[tuple[int, int, str, int]]:
        with rt.sessions() as session:
            rows = session.execute(
                select(TrustRating.reporter_id, TrustRating.locality_id,
                       TrustRating.question, TrustRating.value).order_by(TrustRating.source_ref)
            ).all()  # fmt: skip
        return [(r[0], r[1], r[2], r[3]) for r in rows]

    assert run_cli(app, "demo", "seed", "--seed", "3").exit_code == 0
    first = snapshot()
    again = run_cli(app, "demo", "seed", "--seed", "3")
    assert again.exit_code == 0 and "already seeded" in again.output
    assert snapshot() == first
    forced = run_cli(app, "demo", "seed", "--seed", "3", "--force")
    assert forced.exit_code == 0, forced.output
    assert snapshot() == first  # same seed, same clock: the same data, not twice


def test_demo_seed_refuses_in_production(make_app: Callable[..., Flask]) -> None:
    app = make_app()
    rt: Runtime = app.extensions["gateway"]
    rt.settings = rt.settings.with_overrides({"env": "production"})
    result = run_cli(app, "demo", "seed")
    assert result.exit_code != 0 and "GATEWAY_ENV=production" in result.output
    with rt.sessions() as session:
        assert session.scalar(select(func.count()).select_from(TrustRating)) == 0
