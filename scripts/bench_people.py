"""Time `measures.trust_people` (distinct people per area) against `trust_aggregates`
of the same 30-day window, 1M ratings of 50,000 reporters over a year (the data of
bench_evaluate), alternated 5 times, medians printed; then checks its counts against
a Python reference (each pair's chain of areas, as sets). With a base checkout
(`git worktree add /tmp/base <commit>`), also times the overview's complementary
suppression as that base computes it (answers' counts rolled up, the base's
`suppress`) against this tree's (`tables.own_people`, the window's (locality, reporter)
pairs, then `suppress` over sets of people), alternated, and the whole `figures()`
(whose people per area now come from those pairs, checked here against
`people_by_pcode`).

    .venv/bin/python scripts/bench_people.py sqlite|postgresql [BASE_CHECKOUT]
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import importlib.util
from types import ModuleType

import bench_evaluate as be
from sqlalchemy import select

from gateway.domain.trust_index import NATIONAL, roll_up
from gateway.gazetteer.index import gazetteer
from gateway.models import Locality, TrustRating
from gateway.runtime import Runtime
from gateway.services.figures import measures, tables


def main(backend: str, base: str | None = None) -> None:
    with tempfile.TemporaryDirectory() as folder:
        rt = be.runtime(be.database(backend, folder), folder)
        try:
            communes, people = be.setup(rt, 50_000)
            be.load_ratings(rt, 1_000_000, 0, communes, people)
            if backend == "postgresql":
                with rt.engine.connect() as c:
                    c.exec_driver_sql("ANALYZE")
                    c.commit()
            measure(rt)
            if base is not None:
                measure_pattern(rt, _base_suppression(base))
        finally:
            rt.engine.dispose()
            if backend == "postgresql":
                be._pg_admin(f'DROP DATABASE IF EXISTS "{be.PG_NAME}" WITH (FORCE)')


def measure(rt: Runtime) -> None:
    q, end = "trust_dsf", be.NOW
    start = end - be.dt.timedelta(days=30)
    times: dict[str, list[float]] = {"trust_aggregates": [], "trust_people": []}
    with rt.sessions() as s:
        for _ in range(5):
            for name in times:
                t = time.perf_counter()
                getattr(measures, name)(s, q, start, end)
                times[name].append(time.perf_counter() - t)
        parent = dict(s.execute(select(Locality.id, Locality.parent_id)).all())
        window = (TrustRating.question == q, TrustRating.rated_at >= start)
        rows = s.execute(
            select(TrustRating.locality_id, TrustRating.reporter_id).where(
                *window, TrustRating.rated_at < end, TrustRating.burst.is_(False)
            )
        )
        sets: dict[int | None, set[int]] = defaultdict(set)
        for loc, reporter in rows:
            sets[None].add(reporter)
            area: int | None = loc
            while area is not None:
                sets[area].add(reporter)
                area = parent[area]
        same = {k: len(v) for k, v in sets.items()} == measures.trust_people(s, q, start, end)
    medians = {name: round(sorted(v)[2], 3) for name, v in times.items()}
    print(rt.engine.dialect.name, medians, "same as the reference:", same, os.getloadavg())


def _base_suppression(checkout: str) -> ModuleType:
    """The base checkout's `gateway/domain/suppression.py` (pure, so it loads alone)."""
    path = Path(checkout) / "gateway" / "domain" / "suppression.py"
    spec = importlib.util.spec_from_file_location("base_suppression", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def measure_pattern(rt: Runtime, base: ModuleType) -> None:
    """What the overview spends on people per area and the suppression pattern, base
    (`people_by_pcode`, then `suppress` on answers' counts) against this tree
    (`own_people`, `people_of`, `suppress` on sets), 5 runs alternated."""
    gaz, q, end = gazetteer(rt), "trust_dsf", be.NOW
    start = end - be.dt.timedelta(days=30)
    parents = tables.parent_map(gaz)
    tree: dict[str, str | None] = {p: parent or NATIONAL for p, parent in parents.items()}
    tree[NATIONAL] = None
    times: dict[str, list[float]] = {"base": [], "people": [], "figures": []}
    with rt.sessions() as s:
        aggs = measures.trust_aggregates(s, q, start, end)
        current = roll_up({gaz.pcodes[i]: a for i, a in aggs.items()}, parents)
        people = tables.people_by_pcode(s, gaz, q, start, end)
        found: dict[str, frozenset[str]] = {}
        for _ in range(5):
            t = time.perf_counter()
            counts = {p: current[p].n if p in current else 0 for p in tree}
            people = tables.people_by_pcode(s, gaz, q, start, end)
            few = [p for p in tree if people.get(p, 0) < tables.K_MIN]
            found["base"] = base.suppress(counts, tree, tables.K_MIN, forced=few)
            times["base"].append(time.perf_counter() - t)
            t = time.perf_counter()
            own = tables.own_people(s, gaz, q, start, end)
            tables.people_of(parents, own)
            found["people"] = tables.hidden_areas(gaz, parents, own)
            times["people"].append(time.perf_counter() - t)
            t = time.perf_counter()
            tables.figures(s, rt, end)
            times["figures"].append(time.perf_counter() - t)
        counted = tables.people_of(parents, tables.own_people(s, gaz, q, start, end))
        same = {p: n for p, n in counted.items() if n} == {p: n for p, n in people.items() if n}
    medians = {name: round(sorted(v)[2], 3) for name, v in times.items()}
    hidden = {name: len(v) for name, v in found.items()}
    print(rt.engine.dialect.name, "pattern", medians, "hidden", hidden, "people", same)
    print(os.getloadavg())


if __name__ == "__main__":
    main(*sys.argv[1:3])
