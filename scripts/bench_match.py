"""Time the locality matcher against a baseline in the same run.

Builds the index from the shipped gazetteer, then matches each query of the unit
test's spelling table. Baseline: one bare rapidfuzz pass over the same keys (the
least any fuzzy matcher must do). Prints a table; nothing is asserted.

    .venv/bin/python scripts/bench_match.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rapidfuzz import fuzz, process

from gateway.domain.locality_match import LocalityIndex
from gateway.domain.text import squash
from gateway.gazetteer.files import read_localities, read_places
from tests.unit.test_locality_match import SPELLINGS


def _ms(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered) * 1000, ordered[int(len(ordered) * 0.99) - 1] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    rows, places = read_localities(), read_places()
    started = time.perf_counter()
    index = LocalityIndex.build(rows, places)
    built = time.perf_counter() - started
    keys = sorted({squash(r.name) for r in rows} | {squash(p.name) for p in places})
    queries = [q for q, _ in SPELLINGS] * args.repeat
    ours, base = [], []
    for q in queries:
        t0 = time.perf_counter()
        index.match(q)
        t1 = time.perf_counter()
        process.extractOne(squash(q), keys, scorer=fuzz.ratio)
        t2 = time.perf_counter()
        ours.append(t1 - t0)
        base.append(t2 - t1)
    (om, op), (bm, bp) = _ms(ours), _ms(base)
    print(f"index built in {built:.2f} s ({len(index)} localities, {index.key_count} keys)")
    print(f"load average {os.getloadavg()[0]:.2f}, {len(queries)} queries")
    print("| case | median ms | p99 ms | × baseline (median) |")
    print("|---|---|---|---|")
    print(f"| baseline: one rapidfuzz pass | {bm:.2f} | {bp:.2f} | 1.0 |")
    print(f"| LocalityIndex.match | {om:.2f} | {op:.2f} | {om / bm:.1f} |")


if __name__ == "__main__":
    main()
