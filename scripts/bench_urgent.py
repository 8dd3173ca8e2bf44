"""How long an urgent report takes to reach the committee's phone, end to end (issue 15).

An urgent report is an incident of an urgent kind with people in danger now: the USSD
menu asks "danger now" (an SMS incident never says so). Starts what the Procfile runs
on a fresh database: gunicorn (SMS_HANDLING=queue), the clock, one `outbox work` and
one `inbound work`, with the console provider (it appends every send call, with its
time, to CONSOLE_SMS_FILE) and a national committee of one member. Then `--reports`
callers each report an armed attack with people in danger by USSD, each in another
commune, a random 1-`--spacing` s apart; optionally while `--burst` SMS arrive (the
store-first webhooks, as bench_burst offers them), so the alert must overtake a
backlog of stored SMS and of their replies.

For each report: from the moment its last USSD step was answered (the webhook
answered, the incident committed) to the console sender's send call for the alert SMS
that carries the alert's code (webhook -> urgent check -> outbox -> dispatcher ->
send). Goal: <= 30 s. Prints each latency, p50 and max, the load, and the backlog.

    .venv/bin/python scripts/bench_urgent.py                       # 6 reports
    .venv/bin/python scripts/bench_urgent.py --burst 6000 --seconds 60

Exit status 1 when a report's SMS was not sent within `--wait` seconds.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_common as bc
from bench_burst import Burst, queue_counts

FLASK = str(Path(sys.executable).with_name("flask"))
USSD = "/webhooks/africastalking/ussd"
MEMBER = "+22376999001"
COMMUNES = [
    "menaka",
    "gao",
    "kidal",
    "bourem",
    "ansongo",
    "tessalit",
    "douentza",
    "bandiagara",
    "djenne",
    "tenenkou",
    "youwarou",
    "niono",
]
HOME = ["1", "3", "{commune}", "1"]  # French; my locality: typed, the first choice
URGENT = ["2", "1", "1", "1", "1", "1"]  # report: armed attack, here, today, danger: yes, confirm
CODE = re.compile(r"code (R[A-Z0-9]{5})")


def flask(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [FLASK, "--app", "gateway", *args], cwd=bc.ROOT, env=env, capture_output=True, text=True
    )
    if done.returncode:
        raise RuntimeError(f"flask {' '.join(args)}: {done.stderr[-500:]}")
    return done.stdout


def start(env: dict[str, str], log: Path, *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [FLASK, "--app", "gateway", *args],
        cwd=bc.ROOT,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )


def walk(base: str, phone: str, session: str, answers: list[str]) -> str:
    """Every step of a USSD session, the whole path each time, as the network sends."""
    body = ""
    for k in range(len(answers) + 1):
        form = {"sessionId": session, "phoneNumber": phone, "serviceCode": "*384#"}
        form |= {"networkCode": "61001", "text": "*".join(answers[:k])}
        response = requests.post(base + USSD, data=form, timeout=30)
        response.raise_for_status()
        body = response.text
    return body


def report(base: str, n: int, run: str) -> tuple[str, float]:
    """One caller sets a home commune, then reports an urgent incident there: the
    incident's code and the time its last step was answered."""
    phone = bc.malian_phone(9_000_000 + n, run)
    commune = COMMUNES[n % len(COMMUNES)]
    walk(base, phone, f"home{run}{n}", [a.format(commune=commune) for a in HOME])
    end = walk(base, phone, f"urgent{run}{n}", URGENT)
    answered = time.time()
    found = CODE.search(end)
    if not end.startswith("END") or found is None:
        raise RuntimeError(f"the report did not end with a code: {end[:80]!r}")
    return found.group(1), answered


def alert_codes(url: str, incident_codes: list[str]) -> dict[str, str]:
    """Incident code -> the code of the urgent alert of its locality."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT i.ref_code, a.code FROM incidents i JOIN alerts a"
                " ON a.locality_id = i.locality_id AND a.rule = 'incident_urgent'"
            )
        ).all()
    engine.dispose()
    found = {ref: code for ref, code in rows}
    return {ref: found[ref] for ref in incident_codes if ref in found}


def sends(sms_file: Path) -> list[tuple[float, str]]:
    """Every send call of the console provider: time, body."""
    if not sms_file.exists():
        return []
    out = []
    for line in sms_file.read_text(encoding="utf-8").splitlines():
        try:
            row = json.loads(line)
        except ValueError:
            continue  # a line being written
        out.append((dt.datetime.fromisoformat(row["at"]).timestamp(), row["body"]))
    return out


def latency(sent: list[tuple[float, str]], alert: str | None, answered: float) -> float | None:
    if alert is None:
        return None
    marker = re.compile(rf"\b{re.escape(alert)}\b")
    times = [at for at, body in sent if at >= answered - 1 and marker.search(body)]
    return min(times) - answered if times else None


def run_burst(base: str, args: argparse.Namespace, run: str, out: dict[str, Any]) -> None:
    result = bc.drive(
        base,
        args.concurrency,
        lambda n: Burst(n, run),
        args.burst,
        args.seconds * 3,
        rate=args.burst / args.seconds,
    )
    out["result"] = result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=("postgresql", "sqlite"), default="postgresql")
    parser.add_argument("--reports", type=int, default=6)
    parser.add_argument("--spacing", type=float, default=12.0, help="seconds at most between")
    parser.add_argument("--burst", type=int, default=0, help="SMS offered meanwhile")
    parser.add_argument("--seconds", type=float, default=60.0, help="over which the burst")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--wait", type=float, default=180.0, help="for the last SMS, at most")
    parser.add_argument("--seed", type=int, default=15)
    args = parser.parse_args()

    print(f"machine: {bc.machine()}")
    print(f"load average before: {bc.load_average()}")
    rng, run = random.Random(args.seed), bc.run_tag()
    with bc.make_database(args.backend) as url, tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        env = bc.gateway_env(url, tmp) | {"SMS_HANDLING": "queue"}
        flask(env, "committees", "add", "--locality", "ML", "--name", "National")
        flask(env, "committees", "add-member", "--committee", "National", "--phone", MEMBER,
              "--name", "Member")  # fmt: skip
        server = bc.Server("gateway:create_app()", env, tmp / "gunicorn.log", 2, 4)
        procs: list[subprocess.Popen[bytes]] = []
        with server:
            for name, cmd in (("clock", ["clock"]), ("outbox", ["outbox", "work"])):
                procs.append(start(env, tmp / f"{name}.log", *cmd))
            procs.append(start(env, tmp / "inbound.log", "inbound", "work"))
            time.sleep(3)  # the processes start; the clock's first passes run
            burst: dict[str, Any] = {}
            feeder = threading.Thread(target=run_burst, args=(server.base, args, run, burst))
            if args.burst:
                feeder.start()
                time.sleep(min(10.0, args.seconds / 3))  # a backlog builds up first
            reported: list[tuple[str, float, dict[str, int]]] = []
            for n in range(args.reports):
                time.sleep(rng.uniform(1.0, args.spacing))
                code, answered = report(server.base, n, run)
                reported.append((code, answered, queue_counts(url)))
            deadline = time.time() + args.wait
            while time.time() < deadline:
                codes = alert_codes(url, [c for c, _, _ in reported])
                sent = sends(tmp / "sms.jsonl")
                waits = [latency(sent, codes.get(c), t) for c, t, _ in reported]
                if all(w is not None for w in waits):
                    break
                time.sleep(0.5)
            load = bc.load_average()
            if args.burst:
                feeder.join()
            for p in procs:
                p.send_signal(signal.SIGTERM)
            for p in procs:
                try:
                    p.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    p.kill()
        rows = [
            [n + 1, code, codes.get(code, "-"), _backlog(q), "-" if w is None else w]
            for n, ((code, _, q), w) in enumerate(zip(reported, waits, strict=True))
        ]
    print(f"\n## {args.reports} urgent reports by USSD, {args.burst} SMS offered meanwhile")
    print(bc.table(["report", "incident", "alert", "queued then", "seconds to send"], rows))
    done = sorted(w for w in waits if w is not None)
    summary = [
        len(done),
        len(waits) - len(done),
        bc.percentile(done, 50) if done else "-",
        max(done, default="-"),
        sum(1 for w in done if w > 30),
    ]
    print(bc.table(["sent", "not sent", "p50 s", "max s", "over 30 s"], [summary]))
    if args.burst and "result" in burst:
        result = burst["result"]
        print(
            f"burst: {result.requests} requests, {result.error_count} errors, {result.rate:.1f}/s"
        )
    print(f"load average at the end: {load}; after: {bc.load_average()}")
    return 1 if len(done) < len(waits) else 0


def _backlog(counts: dict[str, int]) -> int:
    return counts.get("received", 0) + counts.get("handling", 0)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    sys.exit(main())
