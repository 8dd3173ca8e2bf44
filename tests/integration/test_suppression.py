"""No small cell can be recovered by subtraction from what a non-admin is shown.

Every published area minus every combination of its published descendants that
does not overlap (its children, their children where a child is hidden, siblings
together) must leave nothing, or at least K_MIN reporters; and a hidden cell shows
none of its figures anywhere (console overview, CSV export, API)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import random
from collections.abc import Callable
from itertools import combinations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from gateway.db import transaction
from gateway.domain.trust_index import COUNTRY_PCODE, NATIONAL
from gateway.gazetteer.index import Gazetteer, gazetteer
from gateway.models import TrustRating
from gateway.runtime import Runtime
from gateway.services.figures.tables import K_MIN, LEVELS, level_pcodes, level_records
from gateway.services.intake.reporters import identify_reporter
from gateway.services.intake.reports import record_ratings
from gateway.services.upkeep.demo import plan_demo, seed_demo
from tests.console.conftest import add_user, login

Record = dict[str, object]


def _published(rt: Runtime) -> dict[str, Record]:
    """Every area's record as an analyst gets it, all levels."""
    with rt.sessions() as session:
        return {
            str(r["pcode"]): r
            for level in LEVELS
            for r in level_records(session, rt, level, show_small=False, area=None)
        }


def _children(gaz: Gazetteer, pcode: str) -> list[str]:
    return [c.pcode for c in gaz.children(None if pcode in (NATIONAL, COUNTRY_PCODE) else pcode)]


def _frontier(gaz: Gazetteer, pcode: str, shown: dict[str, Record]) -> list[str]:
    """The highest published areas under `pcode` (through hidden ones)."""
    out: list[str] = []
    for child in _children(gaz, pcode):
        if shown.get(child, {}).get("suppressed", True):
            out.extend(_frontier(gaz, child, shown))
        else:
            out.append(child)
    return out


def _subtractions(parts: list[str]) -> list[tuple[str, ...]]:
    """Every set of published descendants to subtract: all of them, all but one,
    each alone, and every combination when there are few."""
    if len(parts) <= 10:
        return [c for size in range(1, len(parts) + 1) for c in combinations(parts, size)]
    whole = tuple(parts)
    return [whole, *(tuple(p for p in parts if p != q) for q in parts), *((p,) for p in parts)]


def _add_small_groups(rt: Runtime, seed: int) -> int:
    """On top of the demo data, what the probe added: one to four reporters in
    communes next to the demo's (same cercle) and in a few others; their ratings
    spread over days, so none is a burst. Returns the small groups added."""
    rng = random.Random(seed)
    gaz = gazetteer(rt)
    question = rt.reference.primary_question
    with rt.sessions() as session:
        rated = set(session.scalars(select(TrustRating.locality_id).distinct()))
    cercles = {gaz.entry(i).parent_pcode for i in rated if gaz.entry(i).kind == "commune"}
    beside = [c.pcode for cercle in sorted(filter(None, cercles)) for c in gaz.children(cercle)]
    beside = [p for p in beside if gaz.ids[p] not in rated]
    anywhere = [p for p in level_pcodes(gaz, "commune") if gaz.ids[p] not in rated]
    chosen = rng.sample(beside, min(10, len(beside))) + rng.sample(anywhere, 4)
    number = 76_000_000 + seed * 10_000
    with transaction(rt.sessions) as session:
        for pcode in chosen:
            for _ in range(rng.randint(1, K_MIN - 1)):
                number += 1
                reporter = identify_reporter(session, rt.pseudonyms, f"+223{number}", rt.now())
                when = rt.now() - dt.timedelta(days=rng.randint(1, 25), hours=rng.randint(0, 23))
                record_ratings(
                    session,
                    reporter,
                    gaz.ids[pcode],
                    [(question, rng.randint(1, 5))],
                    source="sms",
                    source_ref=f"probe:{number}",
                    now=when,
                )
    return len(chosen)


def _add_people_of_several_communes(rt: Runtime, seed: int) -> int:
    """Groups of two to four people who each rate the same two or three communes of a
    cercle none of whose communes the demo rated: a group's answers reach K_MIN while
    its people do not. Returns the groups added."""
    rng = random.Random(seed + 100)
    gaz = gazetteer(rt)
    question = rt.reference.primary_question
    with rt.sessions() as session:
        rated = set(session.scalars(select(TrustRating.locality_id).distinct()))
    cercles = [c for c in level_pcodes(gaz, "cercle") if len(gaz.children(c)) >= 3]
    number, groups = 77_000_000 + seed * 10_000, 0
    with transaction(rt.sessions) as session:
        for cercle in rng.sample(cercles, 6):
            free = [c.pcode for c in gaz.children(cercle) if gaz.ids[c.pcode] not in rated]
            if len(free) < 2:
                continue
            communes = rng.sample(free, min(len(free), rng.randint(2, 3)))
            groups += 1
            for _ in range(rng.randint(2, K_MIN - 1)):
                number += 1
                reporter = identify_reporter(session, rt.pseudonyms, f"+223{number}", rt.now())
                for pcode in communes:
                    when = rt.now() - dt.timedelta(
                        days=rng.randint(1, 25), hours=rng.randint(0, 23)
                    )
                    record_ratings(
                        session,
                        reporter,
                        gaz.ids[pcode],
                        [(question, rng.randint(1, 5))],
                        source="sms",
                        source_ref=f"probe:{number}:{pcode}",
                        now=when,
                    )
    return groups


def _pairs(rt: Runtime) -> list[tuple[int, int]]:
    """The (locality, reporter) pairs of the overview's window: what its figures rest on."""
    now = rt.now()
    with rt.sessions() as session:
        rows = session.execute(
            select(TrustRating.locality_id, TrustRating.reporter_id).where(
                TrustRating.question == rt.reference.primary_question,
                TrustRating.rated_at >= now - dt.timedelta(days=30),
                TrustRating.rated_at < now,
                TrustRating.burst.is_(False),
            )
        ).all()
    return [(int(loc), int(who)) for loc, who in rows]


def _under(gaz: Gazetteer, loc: int, pcode: str) -> bool:
    return pcode not in gaz.ids or gaz.ids[pcode] in gaz.chain(loc)  # the country


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_no_subtraction_of_published_figures_reveals_a_small_group(rt: Runtime, seed: int) -> None:
    seed_demo(rt, plan_demo(rt, seed))
    assert _add_small_groups(rt, seed) == 14
    assert _add_people_of_several_communes(rt, seed) >= 3
    gaz, shown, pairs = gazetteer(rt), _published(rt), _pairs(rt)
    tried = 0
    for parent, record in shown.items():
        if record["suppressed"]:
            continue
        parts = _frontier(gaz, parent, shown)
        inside = [(loc, who) for loc, who in pairs if _under(gaz, loc, parent)]
        assert len({who for _, who in inside}) == record["reporters"] >= K_MIN, parent
        # Whatever published descendants are subtracted, and however, what no published
        # one accounts for is the hidden cells with the area's own answers together:
        # it must rest on nobody or on at least K_MIN distinct people.
        left = {who for loc, who in inside if not any(_under(gaz, loc, p) for p in parts)}
        assert len(left) == 0 or len(left) >= K_MIN, (parent, len(left))
        tried += len(_subtractions(parts))
    assert tried > 100  # the demo data has a hierarchy worth testing


def test_a_hidden_cell_shows_no_figure_in_any_output(
    make_app: Callable[..., Flask], rt: Runtime, app: Flask
) -> None:
    from gateway.models import Role

    seed_demo(rt, plan_demo(rt, 1))
    _add_small_groups(rt, 1)
    shown = _published(rt)
    hidden = {p for p, r in shown.items() if r["suppressed"]}
    with rt.sessions() as session:
        full = {
            str(r["pcode"]): r
            for level in LEVELS
            for r in level_records(session, rt, level, show_small=True, area=None)
        }
    # Hidden although at least K_MIN: the complementary cells.
    assert any(int(str(full[p]["reporters"])) >= K_MIN for p in hidden)
    for pcode in hidden:
        r = shown[pcode]
        assert [r[f] for f in ("reporters", "index", "trend", "incidents_30d", "open_alerts")] == [
            None
        ] * 5, pcode
    analyst = add_user(rt, Role.ANALYST)
    client: FlaskClient = app.test_client()
    assert login(client, analyst.email).status_code == 302
    export = client.get("/console/export.csv", query_string={"level": "commune"})
    if export.status_code == 200:
        rows = list(csv.DictReader(io.StringIO(export.get_data(as_text=True))))
        for row in rows:
            if row["pcode"] in hidden:
                assert row["incidents_30d"] == "" and row["reporters"] == "", row
