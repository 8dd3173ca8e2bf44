"""Instructions per USSD step, counted by callgrind (the same figure at any load).

The app is built in process on a migrated database, 40 steps warm it up, then N steps
of `profile_webhooks.UssdCallers` (bench_ingest's first-time callers, 16 interleaved)
run through the WSGI app. The whole process runs under `valgrind --tool=callgrind`
twice, for 100 and for 400 steps; a step's own instructions are
(Ir(400) - Ir(100)) / 300, so start-up, imports and the warm-up cancel out.

    .venv/bin/python scripts/profile_ussd_steps.py --backend postgresql
    .venv/bin/python scripts/profile_ussd_steps.py --tree /work/h-x-before   # another checkout

`--tree` measures another checkout of the repository (its gateway and its scripts)
with this script's driver: a worktree of an earlier commit, for before and after.
Each run takes a few minutes (Python under valgrind is ~50x slower).
"""

from __future__ import annotations

import argparse
import io
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve()
WARM_UP = 40
SMALL, LARGE = 100, 400


def run_steps(tree: Path, url: str, steps: int) -> None:
    """Inside valgrind: build the app of `tree` on `url`, warm up, run `steps` steps."""
    sys.path.insert(0, str(tree / "scripts"))
    sys.path.insert(0, str(tree))
    import bench_common as bc
    import profile_webhooks as pw

    with tempfile.TemporaryDirectory() as tmp:
        env = bc.gateway_env(url, Path(tmp))
        os.environ.clear()
        os.environ.update(env)
        from gateway.app import create_app

        app = create_app({k: v for k, v in env.items() if k in bc.KEYS})
        call = pw.caller(app, pw.UssdCallers(0, bc.run_tag()))
        for _ in range(WARM_UP + steps):
            call()


def instructions(tree: Path, url: str, steps: int, out: Path) -> int:
    """Ir of one process running `steps` steps under callgrind."""
    command = [
        "valgrind",
        "--tool=callgrind",
        f"--callgrind-out-file={out}",
        sys.executable,
        str(HERE),
        "--inner",
        str(steps),
        "--tree",
        str(tree),
        "--url",
        url,
    ]
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    found = re.search(r"^summary:\s*(\d+)", out.read_text(), re.MULTILINE)
    if found is None:
        raise RuntimeError(f"no summary in {out}")
    return int(found.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="postgresql")
    parser.add_argument("--tree", type=Path, default=HERE.parents[1], help="checkout measured")
    parser.add_argument("--repeat", type=int, default=1, help="pairs of runs")
    parser.add_argument("--keep", type=Path, help="directory for the callgrind files")
    parser.add_argument("--inner", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    tree = args.tree.resolve()
    if args.inner is not None:
        run_steps(tree, args.url, args.inner)
        return
    sys.path.insert(0, str(tree / "scripts"))
    import bench_common as bc

    keep = args.keep or Path(tempfile.mkdtemp(prefix="callgrind-ussd-"))
    keep.mkdir(parents=True, exist_ok=True)
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    results: list[float] = []
    for n in range(args.repeat):
        # A fresh database for each run: both start from the same rows.
        with bc.make_database(args.backend) as url:
            small = instructions(tree, url, SMALL, keep / f"small.{n}.out")
        with bc.make_database(args.backend) as url:
            large = instructions(tree, url, LARGE, keep / f"large.{n}.out")
        results.append((large - small) / (LARGE - SMALL))
    report = io.StringIO()
    print(f"{tree} ({args.backend}), {started}, load {bc.load_average()}", file=report)
    for value in results:
        print(f"  Ir/step {value / 1e6:.3f} M", file=report)
    print(f"  callgrind files in {keep}", file=report)
    print(report.getvalue(), end="")


if __name__ == "__main__":
    main()
