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
from gateway.domain.trust_index import NATIONAL
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
    return [c.pcode for c in gaz.children(None if pcode == NATIONAL else pcode)]


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


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_no_subtraction_of_published_figures_reveals_a_small_group(rt: Runtime, seed: int) -> None:
    seed_demo(rt, plan_demo(rt, seed))
    assert _add_small_groups(rt, seed) == 14
    gaz, shown = gazetteer(rt), _published(rt)
    tried = 0
    for parent, record in shown.items():
        if record["suppressed"]:
            continue
        parts = _frontier(gaz, parent, shown)
        n_parent = int(str(record["reporters"]))
        sum_parent = float(str(record["index"])) * n_parent
        for subtracted in _subtractions(parts):
            tried += 1
            n_left = n_parent - sum(int(str(shown[p]["reporters"])) for p in subtracted)
            untouched = [p for p in parts if p not in subtracted]
            # What is left once the published cells left out are also taken away: the
            # hidden cells together, which must be nobody or at least K_MIN people.
            hidden = n_left - sum(int(str(shown[p]["reporters"])) for p in untouched)
            assert hidden == 0 or hidden >= K_MIN, (parent, subtracted, hidden)
            if hidden:
                rest = sum(
                    float(str(shown[p]["index"])) * int(str(shown[p]["reporters"])) for p in parts
                )
                assert 1.0 - 1e-6 <= (sum_parent - rest) / hidden <= 5.0 + 1e-6
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
