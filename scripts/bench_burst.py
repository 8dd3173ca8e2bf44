"""A burst of SMS against the store-first webhooks, then the backlog drained (issue 15).

What a radio programme announcing the short code does: thousands of SMS in minutes.
Starts gunicorn (gthread, SMS_HANDLING=queue: the webhook stores and answers) on a
fresh database, offers `--messages` SMS (4 in 5 Africa's Talking, 1 in 5 Twilio, a
spread of Malian numbers, three messages a number) paced evenly over `--seconds`
from `--concurrency` threads, with no inbound worker running; then starts
`--drainers` `flask --app gateway inbound work` processes and times them until the
queue is empty. Prints:

- the webhook: requests, errors, p50/p99/max latency (from each request's due time
  being sent), how many were sent late, requests/s;
- the drain: SMS handled per second, CPU ms per handled SMS (the workers' own CPU and
  their PostgreSQL backends'), from the first SMS handled (start-up left out);
- lost (acknowledged but not stored, or stored but not handled) and duplicated
  (stored or handled twice): both must be 0;
- peak RSS of every process (gunicorn master and workers, each drainer).

    .venv/bin/python scripts/bench_burst.py                           # 10,000 in 60 s
    .venv/bin/python scripts/bench_burst.py --messages 2000 --seconds 20 --backend sqlite
    .venv/bin/python scripts/bench_burst.py --profile 2000 --backend postgresql

`--profile N` handles N stored SMS in this process instead (no server, no drainer
processes): the CPU and wall time per handled SMS, the SQL statements and commits per
SMS (counted by SQLAlchemy's events), the PostgreSQL backend's CPU, then cProfile's hot
spots over a second backlog of N.

Exit status 1 when anything was lost or duplicated, or a request failed.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_common as bc

FLASK = str(Path(sys.executable).with_name("flask"))
AT_SMS = "/webhooks/africastalking/sms"
TWILIO_SMS = "/webhooks/twilio/sms"
TEXTS = ["CONFIANCE 4 Mopti", "confiance 3 sevare", "TRUST 2 Gao", "Confiance5 Segou", "AIDE"]


class Burst(bc.Source):
    def __init__(self, n: int, run: str) -> None:
        self.n, self.run, self.k = n, run, 0

    def next(self) -> bc.Req:
        self.k += 1
        seq = self.n * 1_000_000 + self.k
        phone = bc.malian_phone(self.n * 100_000 + self.k // 3, self.run)
        text = TEXTS[seq % len(TEXTS)]
        if self.k % 5 == 0:
            sid = "SM" + hashlib.blake2s(f"{self.run}:{seq}".encode(), digest_size=16).hexdigest()
            form = {"MessageSid": sid, "From": phone, "To": "+22320202020", "Body": text}
            form |= {"AccountSid": "AC" + "0" * 32, "NumSegments": "1", "SmsStatus": "received"}
            return bc.Req("twilio", TWILIO_SMS, form, key=("twilio", sid), check=bc.expect("<?xml"))
        msg_id = f"ATXid_burst_{self.run}_{seq}"
        form = {"from": phone, "to": "36000", "text": text, "id": msg_id}
        form |= {"date": "2026-12-01T10:00:00Z", "linkId": "", "networkCode": "61001"}
        return bc.Req("at", AT_SMS, form, key=("africastalking", msg_id), check=bc.expect("ok"))


def queue_counts(url: str) -> dict[str, int]:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT outcome, count(*) FROM inbound_messages GROUP BY 1"))
        counts = {str(outcome): int(n) for outcome, n in rows}
    engine.dispose()
    return counts


def check(url: str, acked: set[tuple[str, str]]) -> dict[str, int]:
    """Lost and duplicated, from the database against the acknowledged requests."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT provider, provider_id, outcome FROM inbound_messages"))
        rows = [(p, i, o) for p, i, o in stored]
        first = text("SELECT dedupe_key FROM outbox WHERE dedupe_key LIKE :first")
        first_replies = conn.execute(first, {"first": "reply:%:0"}).scalars().all()
        ratings = conn.execute(text("SELECT count(*) FROM trust_ratings")).scalar_one()
    engine.dispose()
    keys = [(p, i) for p, i, _ in rows]
    handled = [o for _, _, o in rows if o in ("processed", "help", "rejected")]
    replied = {k.rsplit(":", 1)[0] for k in first_replies}
    return {
        "acknowledged": len(acked),
        "stored": len(rows),
        "lost (acked, not stored)": len(acked - set(keys)),
        "duplicated (stored twice)": len(keys) - len(set(keys)),
        "unhandled (stored, not handled)": len(rows) - len(handled),
        "replies (first of each)": len(first_replies),
        "duplicated (replied twice)": len(first_replies) - len(replied),
        "ratings": int(ratings),
    }


def start_drainers(env: dict[str, str], tmp: Path, n: int) -> list[subprocess.Popen[bytes]]:
    procs = []
    for k in range(n):
        log = (tmp / f"drainer{k}.log").open("wb")
        procs.append(
            subprocess.Popen(
                [FLASK, "--app", "gateway", "inbound", "work", "--interval", "0.2"],
                cwd=bc.ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        )
    return procs


def peak_rss_mib(pid: int) -> float:
    return bc._status_kb(pid).get("VmHWM", 0) / 1024


def drain(
    url: str, env: dict[str, str], tmp: Path, n: int, total: int, limit: float
) -> dict[str, Any]:
    """Start the drainers and time them from their first handled SMS (their start-up,
    imports and connections, is left out) until the queue is empty."""
    procs = start_drainers(env, tmp, n)
    database = url.rsplit("/", 1)[-1] if url.startswith("postgresql") else None
    peaks: dict[int, float] = {}
    started: tuple[float, float, int] | None = None  # time, worker CPU, handled then
    pg0: dict[int, float] = {}
    deadline = time.perf_counter() + limit
    while True:
        for p in procs:
            peaks[p.pid] = max(peaks.get(p.pid, 0.0), peak_rss_mib(p.pid))
        counts = queue_counts(url)
        waiting = counts.get("received", 0) + counts.get("handling", 0)
        if started is None and waiting < total:
            started = (time.perf_counter(), bc.cpu_seconds([p.pid for p in procs]), total - waiting)
            if database:
                pg0 = {pid: bc.cpu_seconds([pid]) for pid in bc.postgres_backends(database)}
        if waiting == 0 or time.perf_counter() > deadline:
            break
        time.sleep(0.1)
    t0, cpu0, done0 = started or (time.perf_counter(), 0.0, 0)
    seconds = time.perf_counter() - t0
    handled = total - waiting - done0
    worker_cpu = bc.cpu_seconds([p.pid for p in procs]) - cpu0
    db_cpu = sum(bc.cpu_seconds([pid]) - c0 for pid, c0 in pg0.items())
    for p in procs:
        peaks[p.pid] = max(peaks.get(p.pid, 0.0), peak_rss_mib(p.pid))
        p.send_signal(signal.SIGTERM)
    for p in procs:
        try:
            p.wait(timeout=15)
        except subprocess.TimeoutExpired:
            p.kill()
    return {
        "seconds": seconds,
        "left": waiting,
        "rate": handled / seconds if seconds else 0.0,
        "worker_cpu_ms": 1000 * worker_cpu / max(1, handled),
        "db_cpu_ms": 1000 * db_cpu / max(1, handled),
        "rss": [(f"drainer pid {pid}", mib) for pid, mib in peaks.items()],
    }


def profile_drain(backend: str, count: int, top: int) -> None:
    """Store `count` SMS through the webhook in-process, then time `handle_due` on them
    (CPU, wall, statements, commits); then the same under cProfile."""
    import cProfile
    import io
    import pstats

    from sqlalchemy import event

    from gateway.app import create_app
    from gateway.runtime import EXTENSION
    from gateway.services.intake.worker import handle_due

    with bc.make_database(backend) as url, tempfile.TemporaryDirectory() as tmpdir:
        env = bc.gateway_env(url, Path(tmpdir))
        overrides = {k: env[k] for k in (*bc.KEYS, "GATEWAY_INSTANCE_PATH", "CONSOLE_SMS_FILE")}
        overrides |= {"DATABASE_URL": url, "GATEWAY_ENV": "development"}
        overrides |= {"SMS_PROVIDER": "console", "SMS_HANDLING": "queue", "AT_WEBHOOK_TOKEN": None}
        overrides["TWILIO_AUTH_TOKEN"] = None
        app = create_app(overrides)
        client, rt = app.test_client(), app.extensions[EXTENSION]
        counts = {"statements": 0, "commits": 0}
        by_statement: dict[str, list[float]] = {}

        @event.listens_for(rt.engine, "before_cursor_execute")
        def _statement(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
            counts["statements"] += 1
            key = " ".join(statement.split())[:90]
            by_statement.setdefault(key, []).append(time.perf_counter())

        @event.listens_for(rt.engine, "after_cursor_execute")
        def _statement_done(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
            started = by_statement[" ".join(statement.split())[:90]]
            started[-1] = time.perf_counter() - started[-1]

        @event.listens_for(rt.engine, "commit")
        def _commit(*_args: Any) -> None:
            counts["commits"] += 1

        def store(n: int) -> None:
            source = Burst(n, bc.run_tag())
            for _ in range(count):
                req = source.next()
                assert client.post(req.path, data=req.data).status_code == 200

        def drain_all() -> tuple[int, float, float, float]:
            database = url.rsplit("/", 1)[-1] if backend == "postgresql" else None
            pg = bc.postgres_backends(database) if database else []
            handled, cpu0, wall0 = 0, time.process_time(), time.perf_counter()
            pg0 = bc.cpu_seconds(pg)
            while True:
                summary = handle_due(rt, rt.now())
                handled += summary.handled
                if summary.claimed == 0:
                    break
            pg_cpu = bc.cpu_seconds(pg) - pg0
            return handled, time.process_time() - cpu0, time.perf_counter() - wall0, pg_cpu

        store(1)
        counts.update(statements=0, commits=0)
        by_statement.clear()
        handled, cpu, wall, pg_cpu = drain_all()
        n = max(1, handled)
        slowest = sorted(by_statement.items(), key=lambda kv: -sum(kv[1]))[:15]
        print(
            bc.table(
                ["statement", "per SMS", "ms each"],
                [[k, len(v) / n, 1000 * sum(v) / len(v)] for k, v in slowest],
            )
        )
        print(f"{backend}: {handled} SMS handled in-process, load {bc.load_average()}")
        print(
            bc.table(
                ["CPU ms/SMS", "wall ms/SMS", "db CPU ms/SMS", "statements/SMS", "commits/SMS"],
                [
                    [
                        1000 * cpu / n,
                        1000 * wall / n,
                        1000 * pg_cpu / n,
                        counts["statements"] / n,
                        counts["commits"] / n,
                    ]
                ],
            )
        )
        store(2)
        profiler = cProfile.Profile()
        profiler.enable()
        drain_all()
        profiler.disable()
        for order in ("cumulative", "tottime"):
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).sort_stats(order).print_stats(top)
            print(out.getvalue())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=("postgresql", "sqlite"), default="postgresql")
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--threads", type=int, default=4, help="gunicorn threads per worker")
    parser.add_argument("--drainers", type=int, default=2, help="inbound work processes")
    parser.add_argument("--drain-limit", type=float, default=300.0, help="seconds at most")
    parser.add_argument("--profile", type=int, metavar="N", help="profile N in-process")
    parser.add_argument("--top", type=int, default=40, help="profile lines")
    args = parser.parse_args()
    if args.profile:
        profile_drain(args.backend, args.profile, args.top)
        return 0

    print(f"machine: {bc.machine()}")
    print(f"load average before: {bc.load_average()}")
    run = bc.run_tag()
    rate = args.messages / args.seconds
    with bc.make_database(args.backend) as url, tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        env = bc.gateway_env(url, tmp) | {"SMS_HANDLING": "queue"}
        server = bc.Server(
            "gateway:create_app()", env, tmp / "gunicorn.log", args.workers, args.threads
        )
        with server, bc.RssSampler(server) as rss:
            server.warm(lambda c: c.post("/healthz", {}))
            result = bc.drive(
                server.base,
                args.concurrency,
                lambda n: Burst(n, run),
                args.messages,
                args.seconds * 3,
                rate=rate,
            )
        web_load = bc.load_average()
        acked = {key for keys in result.acked.values() for key in keys}
        latencies = result.all_latencies()
        print(f"\n## webhook: {args.messages} SMS offered in {args.seconds:.0f} s ({rate:.0f}/s)")
        print(
            bc.table(
                ["requests", "errors", "late", "req/s", "p50 ms", "p99 ms", "max ms"],
                [
                    [
                        result.requests,
                        result.error_count,
                        result.behind,
                        result.rate,
                        bc.percentile(latencies, 50),
                        bc.percentile(latencies, 99),
                        max(latencies, default=0.0),
                    ]
                ],
            )
        )
        if result.error_samples:
            print("errors:", *result.error_samples[:5], sep="\n  ")
        print(f"load average after the burst: {web_load}; queue: {queue_counts(url)}")

        stored = len(acked)
        drained = drain(url, env, tmp, args.drainers, stored, args.drain_limit)
        print(f"\n## drain: {args.drainers} `inbound work` processes")
        print(
            bc.table(
                ["handled", "left", "seconds", "SMS/s", "worker CPU ms/SMS", "db CPU ms/SMS"],
                [
                    [
                        stored - drained["left"],
                        drained["left"],
                        drained["seconds"],
                        drained["rate"],
                        drained["worker_cpu_ms"],
                        drained["db_cpu_ms"],
                    ]
                ],
            )
        )
        print(f"load average after the drain: {bc.load_average()}")
        figures = check(url, acked)
        print("\n## lost and duplicated")
        print(bc.table(["check", "count"], list(figures.items())))
        print("\n## peak RSS (MiB)")
        print(bc.table(["process", "MiB"], [*rss.peaks(), *drained["rss"]]))
    bad = (
        result.error_count
        or figures["lost (acked, not stored)"]
        or figures["duplicated (stored twice)"]
        or figures["unhandled (stored, not handled)"]
        or figures["duplicated (replied twice)"]
    )
    return 1 if bad else 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    sys.exit(main())
