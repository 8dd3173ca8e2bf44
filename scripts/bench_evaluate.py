"""Time one full evaluation pass against a baseline query, as the ratings grow.

Builds ratings (and a tenth as many incidents) spread over twelve months across all
communes, then at each size:

- `build`: the rollup folding the whole load into the figure cells at once (the first
  pass after the migration, or after a bulk import, does this once);
- `rollup`: the clock's rollup of a fresh trickle (1,000 ratings and 100 incidents of
  the last days, a tenth older than their author's latest), per report: it is paid
  once per new report, not per pass;
- `pass`: `run_alert_cycle` as the clock runs it on Monday, the window rules forced
  (median of 3), every pass reading all its cells (the week cells kept between
  passes emptied first: a pass after a restart, the chart limits already computed),
  and `quiet pass` the other passes of the week;
- `warm`: the next three weeks' Monday passes as the clock runs them, each after a
  week of new reports (a 52nd of the ratings and incidents, a tenth of them late:
  dated in the 8 weeks before, often before their author's latest) rolled up, so each
  reads from the database only the cells changed since the last (median of 3);
- `baseline`: in the same run, one GROUP BY count of the current 30-day window.

    .venv/bin/python scripts/bench_evaluate.py --backend postgresql --sizes 100000,1000000,3000000
"""

from __future__ import annotations

import argparse
import base64
import copy
import datetime as dt
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, insert, select, text

from gateway import migrate
from gateway.config import load_settings
from gateway.db import make_engine
from gateway.domain.rules import week_start
from gateway.gazetteer.load import load_gazetteer
from gateway.models import Locality, LocalityKind, Reporter, TrustRating
from gateway.runtime import Runtime
from gateway.services.alerts.engine import WEEK_CELLS, run_alert_cycle
from gateway.services.figures.rollup import roll_up
from gateway.services.figures.weeks import WeekCells

NOW = dt.datetime(2026, 11, 28, 12, 0, tzinfo=dt.UTC)
YEAR = 365 * 86400
QUESTIONS = ["trust_dsf", "protection", "respect", "inform"]
PG_ADMIN = os.environ.get("BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


# Its own throwaway database per run (so two people benchmarking do not clobber each
# other), dropped at the end unless --keep; BENCH_DB_PREFIX names it, as bench_common's.
PG_NAME = f"{(os.environ.get('BENCH_DB_PREFIX') or 'bench').rstrip('_')}_evaluate_{os.getpid()}"


def _pg_admin(sql: str) -> None:
    admin = make_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(sql))
    finally:
        admin.dispose()


def database(backend: str, folder: str) -> str:
    if backend == "sqlite":
        return f"sqlite:///{folder}/bench.db"
    _pg_admin(f'DROP DATABASE IF EXISTS "{PG_NAME}" WITH (FORCE)')
    _pg_admin(f'CREATE DATABASE "{PG_NAME}"')
    url = make_engine(PG_ADMIN).url.set(database=PG_NAME)
    return url.render_as_string(hide_password=False)


def runtime(url: str, folder: str) -> Runtime:
    env = {
        "DATABASE_URL": url,
        "SECRET_KEY": "bench",
        "PHONE_HASH_KEY": "bench",
        "DATA_KEY": base64.urlsafe_b64encode(b"b" * 32).decode(),
    }
    return Runtime(load_settings(env, instance_path=folder), now=lambda: NOW)


def setup(rt: Runtime, reporters: int) -> tuple[list[int], list[int]]:
    migrate.upgrade(rt.engine)
    load_gazetteer(rt.sessions)
    with rt.sessions() as s, s.begin():
        s.execute(
            insert(Reporter),
            [
                {
                    "pseudonym": f"{i:064x}",
                    "key_version": 1,
                    "opted_out": False,
                    "notice_sent": True,
                    "created_at": NOW,
                }
                for i in range(reporters)
            ],
        )
    with rt.sessions() as s:
        communes = list(s.scalars(select(Locality.id).where(Locality.kind == LocalityKind.COMMUNE)))
        people = list(s.scalars(select(Reporter.id)))
    return communes, people


def levels(communes: list[int]) -> dict[int, float]:
    """Each commune's mean answer, the same for every load and week (each load drew
    its own before, so the 1M ratings shifted from the first 100k's)."""
    rng = random.Random(0)
    return {c: rng.uniform(2.0, 4.5) for c in communes}


def rows(n: int, start: int, communes: list[int], people: list[int], rng: random.Random):  # type: ignore[no-untyped-def]
    level = levels(communes)
    for i in range(start, start + n):
        loc = rng.choice(communes)
        value = min(5, max(1, round(rng.gauss(level[loc], 0.9))))
        when = NOW - dt.timedelta(seconds=rng.randrange(YEAR))
        yield (rng.choice(people), loc, QUESTIONS[i % 4], value, when, f"b{i}")


def load_ratings(rt: Runtime, n: int, start: int, communes: list[int], people: list[int]) -> None:
    rng = random.Random(start)
    if rt.engine.dialect.name == "postgresql":
        raw = rt.engine.raw_connection()
        try:
            cur = raw.cursor()
            with cur.copy(
                "COPY trust_ratings (reporter_id, locality_id, question, value, rated_at, source,"
                " source_ref, burst) FROM STDIN"
            ) as copy:
                for r, loc, q, v, when, ref in rows(n, start, communes, people, rng):
                    copy.write_row((r, loc, q, v, when, "bench", ref, False))
            raw.commit()
        finally:
            raw.close()
        return
    batch: list[dict[str, object]] = []
    with rt.sessions() as s, s.begin():
        for r, loc, q, v, when, ref in rows(n, start, communes, people, rng):
            batch.append(
                {
                    "reporter_id": r,
                    "locality_id": loc,
                    "question": q,
                    "value": v,
                    "rated_at": when,
                    "source": "bench",
                    "source_ref": ref,
                    "burst": False,
                }
            )
            if len(batch) == 20000:
                s.execute(insert(TrustRating), batch)
                batch = []
        if batch:
            s.execute(insert(TrustRating), batch)


def load_incidents(rt: Runtime, n: int, start: int, communes: list[int], people: list[int]) -> None:
    rng = random.Random(-start - 1)
    kinds = ["attack", "banditry", "threat", "other", "intercommunal"]
    with rt.engine.begin() as conn:
        for chunk in range(start, start + n, 20000):
            conn.execute(
                text(
                    "INSERT INTO incidents (ref_code, kind, locality_id, reporter_id, occurred,"
                    " reported_at, danger_now, source, source_ref, burst) VALUES (:code, :kind,"
                    " :loc, :who, 'today', :at, :danger, 'bench', :ref, :burst)"
                ),
                [
                    {
                        "code": f"B{i:09d}",
                        "kind": rng.choice(kinds),
                        "loc": rng.choice(communes),
                        "who": rng.choice(people),
                        "at": NOW - dt.timedelta(seconds=rng.randrange(YEAR)),
                        "danger": False,
                        "ref": f"bi{i}",
                        "burst": False,
                    }
                    for i in range(chunk, min(chunk + 20000, start + n))
                ],
            )


def settle(rt: Runtime) -> None:
    """What autovacuum would have done to tables that grew slowly: statistics, and on
    PostgreSQL the visibility map that lets the covering indexes answer alone."""
    with rt.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for table in ("trust_ratings", "incidents", "window_cells", "day_counts"):
            vacuum = "VACUUM ANALYZE" if conn.dialect.name == "postgresql" else "ANALYZE"
            conn.execute(text(f"{vacuum} {table}"))


def baseline_seconds(rt: Runtime) -> float:
    def once() -> float:
        t0 = time.perf_counter()
        with rt.sessions() as s:
            s.execute(
                select(TrustRating.locality_id, func.count())
                .where(TrustRating.rated_at >= NOW - dt.timedelta(days=30))
                .group_by(TrustRating.locality_id)
            ).all()
        return time.perf_counter() - t0

    return statistics.median(once() for _ in range(3))


def cold_pass_seconds(rt: Runtime) -> tuple[float, float, int, float]:
    """`pass_seconds` with nothing of the cells kept from a pass before."""
    return pass_seconds(rt, forget=True)


def pass_seconds(
    rt: Runtime, force: bool = True, forget: bool = False
) -> tuple[float, float, int, float]:
    """Median wall and process CPU seconds of three passes, the alerts opened, and the
    wall seconds of the first pass (the rules' caches of chart limits not yet holding
    this data's: a pass after a restart; the later ones find them, as the next week's
    pass finds most of them). Forced: the window rules run each time (the clock runs
    them once a week)."""
    times, cpu, opened = [], [], 0
    for _ in range(3):
        if forget:
            rt.forget(WEEK_CELLS)
        t0, c0 = time.perf_counter(), time.process_time()
        summary = run_alert_cycle(rt, NOW, force=force)
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
        opened += len(summary.opened)
    return statistics.median(times), statistics.median(cpu), opened, times[0]


def rollup_seconds(rt: Runtime) -> float:
    with rt.sessions() as s, s.begin():
        return _timed(lambda: roll_up(s, rt.reference.primary_question))


def _timed(job) -> float:  # type: ignore[no-untyped-def]
    t0 = time.perf_counter()
    job()
    return time.perf_counter() - t0


TRICKLE = 1000


def trickle(rt: Runtime, start: int, communes: list[int], people: list[int]) -> int:
    """New reports as the intake stores them between passes: recent, a tenth dated
    before their author's latest answer (late deliveries, imports)."""
    rng = random.Random(start)
    with rt.sessions() as s, s.begin():
        s.execute(
            insert(TrustRating),
            [
                {
                    "reporter_id": rng.choice(people),
                    "locality_id": rng.choice(communes),
                    "question": QUESTIONS[i % 4],
                    "value": rng.randint(1, 5),
                    "rated_at": NOW
                    - dt.timedelta(seconds=rng.randrange(86400 * (30 if i % 10 == 0 else 2))),
                    "source": "bench",
                    "source_ref": f"t{start}-{i}",
                    "burst": False,
                }
                for i in range(TRICKLE)
            ],
        )
    load_incidents(rt, TRICKLE // 10, 10**9 + start, communes, people)
    return TRICKLE + TRICKLE // 10


WEEKS_LATE = 8


def a_week(rt: Runtime, size: int, week: int, communes: list[int], people: list[int]) -> int:
    """A week of reports at `size` a year, stored for the week before the Monday
    NOW + `week` weeks: nine in ten in that week, one in ten late (dated in the 8
    weeks before it). The number stored."""
    rng = random.Random(size + week)
    level = levels(communes)  # a week like the others
    end = week_start(NOW) + dt.timedelta(weeks=week)
    n, span = size // 52, 7 * 86400

    def when(i: int) -> dt.datetime:
        back = rng.randrange(span * WEEKS_LATE) + span if i % 10 == 0 else rng.randrange(span)
        return end - dt.timedelta(seconds=back + 1)

    with rt.sessions() as s, s.begin():
        for chunk in range(0, n, 20000):
            s.execute(
                insert(TrustRating),
                [
                    {
                        "reporter_id": rng.choice(people),
                        "locality_id": (loc := rng.choice(communes)),
                        "question": QUESTIONS[i % 4],
                        "value": min(5, max(1, round(rng.gauss(level[loc], 0.9)))),
                        "rated_at": when(i),
                        "source": "bench",
                        "source_ref": f"w{size}-{week}-{i}",
                        "burst": False,
                    }
                    for i in range(chunk, min(n, chunk + 20000))
                ],
            )
        s.execute(
            text(
                "INSERT INTO incidents (ref_code, kind, locality_id, reporter_id, occurred,"
                " reported_at, danger_now, source, source_ref, burst) VALUES (:code, 'threat',"
                " :loc, :who, 'today', :at, false, 'bench', :ref, false)"
            ),
            [
                {
                    "code": f"W{size // 100000:02d}{week}{i:07d}",
                    "loc": rng.choice(communes),
                    "who": rng.choice(people),
                    "at": when(i),
                    "ref": f"wi{size}-{week}-{i}",
                }
                for i in range(n // 10)
            ],
        )
    return n + n // 10


def warm_passes(rt: Runtime, size: int, communes: list[int], people: list[int]) -> dict[str, float]:
    """The Monday passes of the next three weeks, each after a week of reports rolled
    up: `clock` the clock's pass (it opens the week's alerts), then at the same moment
    two forced passes doing the same alert work, `warm` with what was kept before the
    week (so it rereads the week's changes) and `cold` with nothing kept. Medians of
    wall (and `_cpu`) seconds; `opened` alerts, `rollup` seconds, `new` reports a week."""
    cells: WeekCells = rt.cached(WEEK_CELLS, WeekCells)
    runs: dict[str, list[float]] = {}
    opened = new = 0
    for week in (1, 2, 3):
        kept = (cells.epoch, cells.seen, copy.deepcopy(cells._streams))
        new = a_week(rt, size, week, communes, people)
        runs.setdefault("rollup", []).append(rollup_seconds(rt))
        settle(rt)
        now = week_start(NOW) + dt.timedelta(weeks=week, hours=1)
        for name in ("clock", "warm", "cold"):
            if name == "warm":
                cells.epoch, cells.seen, cells._streams = kept[0], kept[1], copy.deepcopy(kept[2])
            if name == "cold":
                rt.forget(WEEK_CELLS)
                cells = rt.cached(WEEK_CELLS, WeekCells)
            t0, c0 = time.perf_counter(), time.process_time()
            opened += len(run_alert_cycle(rt, now, force=name != "clock").opened)
            runs.setdefault(name, []).append(time.perf_counter() - t0)
            runs.setdefault(f"{name}_cpu", []).append(time.process_time() - c0)
    out = {name: statistics.median(times) for name, times in runs.items()}
    return {**out, "opened": opened, "new": new}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--sizes", default="100000,1000000,3000000")
    parser.add_argument("--reporters", type=int, default=50000)
    parser.add_argument("--keep", action="store_true", help="keep the PostgreSQL database")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    print(
        f"{'backend':10} {'ratings':>9} {'incidents':>9} {'load s':>7} {'build s':>7} "
        f"{'first s':>7} {'pass s':>7} {'cpu s':>6} {'quiet s':>7} {'baseline s':>10} "
        f"{'ratio':>6} {'alerts':>6}"
    )
    for backend in backends:
        with tempfile.TemporaryDirectory() as folder:
            rt = runtime(database(backend, folder), folder)
            try:
                run_sizes(rt, backend, sizes, args.reporters)
            finally:
                rt.close()
                if backend == "postgresql" and not args.keep:
                    _pg_admin(f'DROP DATABASE IF EXISTS "{PG_NAME}" WITH (FORCE)')
    return 0


def run_sizes(rt: Runtime, backend: str, sizes: list[int], reporters: int) -> None:
    """Grow the data size by size, timing the cells' build, a trickle's rollup, a pass
    and the baseline at each; then the issue's goals (pass within 3x the baseline at
    1M, growth from the first size to the last under 3x)."""
    communes, people = setup(rt, reporters)
    loaded, first, seconds, first_warm, warm = 0, 0.0, 0.0, 0.0, 0.0
    for size in sizes:
        t0 = time.perf_counter()
        load_ratings(rt, size - loaded, loaded, communes, people)
        load_incidents(rt, size // 10 - loaded // 10, loaded // 10, communes, people)
        settle(rt)
        load = time.perf_counter() - t0
        loaded = size
        build = rollup_seconds(rt)
        settle(rt)  # the build marked every report rolled: autovacuum's work after it
        new = trickle(rt, size, communes, people)
        per_report = rollup_seconds(rt) / new
        settle(rt)
        seconds, cpu, opened, cold = cold_pass_seconds(rt)
        quiet, _, _, _ = pass_seconds(rt, force=False)
        base = baseline_seconds(rt)
        first = first or seconds
        print(
            f"{backend:10} {size:>9} {size // 10:>9} {load:>7.1f} {build:>7.1f} "
            f"{cold:>7.3f} {seconds:>7.3f} {cpu:>6.3f} {quiet:>7.3f} {base:>10.3f} "
            f"{seconds / base:>6.1f} {opened:>6}",
            flush=True,
        )
        print(
            f"{backend:10} {'rollup':>9} of {new} new reports: "
            f"{per_report * 1000:.2f} ms per report",
            flush=True,
        )
        w = warm_passes(rt, size, communes, people)
        warm, warm_base = w["warm"], baseline_seconds(rt)
        first_warm = first_warm or warm
        print(
            f"{backend:10} {'week':>9} of {w['new']:.0f} new reports (rollup {w['rollup']:.2f} s),"
            f" baseline {warm_base:.3f} s: clock's pass {w['clock']:.3f} s (cpu"
            f" {w['clock_cpu']:.3f}, ratio {w['clock'] / warm_base:.1f}, alerts {w['opened']:.0f});"
            f" forced warm {warm:.3f} s (cpu {w['warm_cpu']:.3f}, ratio {warm / warm_base:.1f});"
            f" forced cold {w['cold']:.3f} s (cpu {w['cold_cpu']:.3f}, ratio"
            f" {w['cold'] / warm_base:.1f})",
            flush=True,
        )
        if size == 1_000_000:
            for name, t, b in (("cold", seconds, base), ("warm", warm, warm_base)):
                print(
                    f"{backend:10} goal at 1M ({name} pass): pass <= 3x baseline "
                    f"{'met' if t <= 3 * b else 'MISSED'}"
                )
    for name, last, one in (("cold", seconds, first), ("warm", warm, first_warm)):
        growth = last / one
        print(
            f"{backend:10} growth of the {name} pass from {sizes[0]} to {sizes[-1]}:"
            f" {growth:.2f}x (goal < 3x: {'met' if growth < 3 else 'MISSED'})"
        )


if __name__ == "__main__":
    sys.exit(main())
