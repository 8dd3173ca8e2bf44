"""Ingest speed of the webhooks (issue 3, item 9), against a baseline in the same run.

Starts gunicorn (gthread workers, like the Procfile) serving the baseline
(scripts/bench_baseline_app.py: a bare Flask app inserting one row) and then the
gateway (development mode, console SMS provider, no webhook tokens), on SQLite and on
PostgreSQL, and sends concurrent requests, closed loop, for a bounded count or time:

- `baseline`     POST /ingest, one row inserted (run before and after the gateway:
                 the ratio is taken to their mean, which evens out the noise of a
                 shared machine)
- `at_sms`       Africa's Talking inbound SMS ratings (`CONFIANCE 4 Mopti`, ...), unique
                 ids, a spread of Malian numbers
- `ussd`         Africa's Talking USSD steps: whole sessions (trust questionnaire,
                 incident report, subscription; French, Bambara, English), each step
                 with the full `text` path, one caller per thread
- `twilio_sms`   Twilio inbound SMS (no signature: TWILIO_AUTH_TOKEN unset)
- `kannel_sms`   Kannel smsbox get-url inbound SMS, form-posted with the parameters
                 Kannel sends (the webhook, not Kannel; KANNEL_WEBHOOK_TOKEN unset)
- `android_sms`  SMS Gateway for Android `sms:received` events, JSON (unsigned:
                 ANDROID_SIGNING_KEY unset)

Then checks the database: every acknowledged SMS is stored once (inbound_messages by
provider id), every acknowledged USSD step counted once (ussd_sessions.steps), every
finished questionnaire stored 4 ratings and every finished incident report 1 incident.

    /tmp/probe-venv/bin/python scripts/bench_ingest.py                 # both backends
    /tmp/probe-venv/bin/python scripts/bench_ingest.py --backend sqlite --requests 500

Goals (issue 15): every SMS case >= 0.8 of the baseline's throughput; ussd p99 < 50 ms
at 16 concurrent callers (closed loop); zero errors. Exit status 1 when the database check fails.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_common as bc

AT_SMS = "/webhooks/africastalking/sms"
AT_USSD = "/webhooks/africastalking/ussd"
TWILIO_SMS = "/webhooks/twilio/sms"
KANNEL_SMS = "/webhooks/kannel/sms"
ANDROID_EVENTS = "/webhooks/android/events"

# As people type them: case, accents or none, glued digits, a near miss, English.
RATING_TEXTS = [
    "CONFIANCE 4 Mopti",
    "confiance 3 sevare",
    "Confiance5 Gao",
    "CONFIENCE 2 Tombouctou",
    "confiance 4 Bandiagara",
    "Confiance 1 Djenné",
    "TRUST 4 Segou",
    "trust 3 Kidal",
    "CONFIANCE 5 Mopti",
    "confiance, 4, sévaré",
]
TOWNS = ["sevare", "mopti", "gao", "tombouctou", "bandiagara", "djenne", "segou", "menaka"]


def phone_for(seed: str, run: str) -> str:
    """A Malian mobile number, +223 7x xx xx xx, spread by a hash of `seed`."""
    n = int(hashlib.blake2s(seed.encode(), digest_size=4).hexdigest(), 16) % 3_000_000
    return bc.malian_phone(n, run)


class AtSms(bc.Source):
    """Ratings; each number sends about three messages (below the rate limit)."""

    def __init__(self, n: int, run: str) -> None:
        self.n, self.run, self.k = n, run, 0

    def next(self) -> bc.Req:
        self.k += 1
        msg_id = f"ATXid_{self.run}{self.n:03d}{self.k:06d}"
        form = {
            "linkId": f"0309{self.n:04d}{self.k:012d}",
            "text": RATING_TEXTS[(self.n + self.k) % len(RATING_TEXTS)],
            "to": "36000",
            "id": msg_id,
            "date": "2026-11-28T09:30:00Z",
            "from": phone_for(f"at{self.n}:{self.k // 3}", self.run),
            "networkCode": "61001",
        }
        return bc.Req("at_sms", AT_SMS, form, key=msg_id, check=bc.expect("ok"))


class TwilioSms(bc.Source):
    def __init__(self, n: int, run: str) -> None:
        self.n, self.run, self.k = n, run, 0

    def next(self) -> bc.Req:
        self.k += 1
        sid = (
            "SM"
            + hashlib.blake2s(f"{self.run}:{self.n}:{self.k}".encode(), digest_size=16).hexdigest()
        )
        form = {
            "ToCountry": "ML",
            "SmsMessageSid": sid,
            "NumMedia": "0",
            "SmsSid": sid,
            "SmsStatus": "received",
            "Body": RATING_TEXTS[(self.n * 7 + self.k) % len(RATING_TEXTS)],
            "FromCountry": "ML",
            "To": "+22320202020",
            "NumSegments": "1",
            "MessageSid": sid,
            "AccountSid": "AC" + "0" * 32,
            "From": phone_for(f"tw{self.n}:{self.k // 3}", self.run),
            "ApiVersion": "2010-04-01",
        }
        return bc.Req("twilio_sms", TWILIO_SMS, form, key=sid, check=bc.expect("<?xml"))


class KannelSms(bc.Source):
    """Ratings as smsbox's get-url carries them (%i %p %b %T %I %P %c %C)."""

    def __init__(self, n: int, run: str) -> None:
        self.n, self.run, self.k = n, run, 0

    def next(self) -> bc.Req:
        self.k += 1
        msg_id = f"{self.run}-{self.n:04d}-{self.k:08d}-kannel"
        form = {
            "backend": "orange",
            "sender": phone_for(f"kn{self.n}:{self.k // 3}", self.run),
            "message": RATING_TEXTS[(self.n * 3 + self.k) % len(RATING_TEXTS)],
            "ts": "1796118970",
            "id": msg_id,
            "to": "36000",
            "coding": "0",
            "charset": "UTF-8",
        }
        return bc.Req("kannel_sms", KANNEL_SMS, form, key=msg_id, check=bc.expect(""))


class AndroidSms(bc.Source):
    """Ratings as the SMS Gateway for Android app posts them (JSON `sms:received`),
    unsigned (ANDROID_SIGNING_KEY unset, as Twilio's signature is not checked here)."""

    def __init__(self, n: int, run: str) -> None:
        self.n, self.run, self.k = n, run, 0

    def next(self) -> bc.Req:
        self.k += 1
        event_id = f"{self.run}{self.n:04d}{self.k:08d}android"
        body = {
            "deviceId": "ffffffffceb0b1db0000018e937c815b",
            "event": "sms:received",
            "id": event_id,
            "webhookId": "LreFUt-Z3sSq0JufY9uWB",
            "payload": {
                "messageId": f"m{self.k}",
                "message": RATING_TEXTS[(self.n * 5 + self.k) % len(RATING_TEXTS)],
                "phoneNumber": phone_for(f"an{self.n}:{self.k // 3}", self.run),
                "simNumber": 1,
                "receivedAt": "2026-11-28T09:30:00.000+00:00",
            },
        }
        return bc.Req(
            "android_sms",
            ANDROID_EVENTS,
            {},
            key=event_id,
            check=bc.expect("ok"),
            json_body=json.dumps(body).encode(),
        )


def ussd_paths(i: int) -> tuple[str, list[str]]:
    """A session's answers (after the first, empty, step) for a first-time caller."""
    town = TOWNS[i % len(TOWNS)]
    lang = "1" if i % 4 < 2 else ("3" if i % 4 == 2 else "2")  # fr, fr, en, bm
    rating = [str(1 + (i + q) % 5) for q in range(4)]
    kind = str(1 + i % 4)
    scenario = ("trust", "trust", "incident", "subscribe")[i % 4 if i % 8 < 4 else (i + 1) % 4]
    if scenario == "trust":
        return scenario, [lang, "1", town, "1", *rating]
    if scenario == "incident":
        return scenario, [lang, "2", kind, town, "1", str(1 + i % 3), str(1 + i % 2), "1"]
    return scenario, [lang, "4", town, "1"]


class Ussd(bc.Source):
    """One caller per thread, one session after another; each step sends the whole path.
    A step that fails ends the session (as the network would)."""

    def __init__(self, n: int, run: str) -> None:
        self.n, self.run, self.s = n, run, 0
        self._new_session()

    def _new_session(self) -> None:
        self.s += 1
        self.session_id = f"ATUid_{self.run}{self.n:04d}{self.s:022d}"
        self.phone = phone_for(f"ussd{self.n}:{self.s}", self.run)
        self.scenario, self.answers = ussd_paths(self.n * 1000 + self.s)
        self.step = 0

    def next(self) -> bc.Req:
        last = self.step == len(self.answers)
        form = {
            "sessionId": self.session_id,
            "serviceCode": "*384*44135#",
            "phoneNumber": self.phone,
            "networkCode": "61002",
            "text": "*".join(self.answers[: self.step]),
        }
        key = (self.session_id, self.scenario, last)
        return bc.Req("ussd", AT_USSD, form, key=key, check=bc.expect("END " if last else "CON "))

    def after(self, req: bc.Req, response: bc.Resp | None) -> None:
        if response is None or self.step == len(self.answers):
            self._new_session()
        else:
            self.step += 1


class Baseline(bc.Source):
    rounds = 0  # the baseline runs twice on one database: ids differ per round

    def __init__(self, n: int, run: str) -> None:
        self.n, self.run, self.k = n, run, 0

    def next(self) -> bc.Req:
        self.k += 1
        msg_id = f"BASE_{self.run}_{Baseline.rounds}_{self.n}_{self.k}"
        form = {"id": msg_id, "text": RATING_TEXTS[self.k % len(RATING_TEXTS)]}
        return bc.Req("baseline", "/ingest", form, key=msg_id, check=bc.expect("ok"))


SOURCES: dict[str, Any] = {
    "at_sms": AtSms,
    "ussd": Ussd,
    "ussd_paced": Ussd,
    "twilio_sms": TwilioSms,
    "kannel_sms": KannelSms,
    "android_sms": AndroidSms,
    "baseline": Baseline,
}


# -- database checks ---------------------------------------------------------------


def check_gateway(url: str, results: dict[str, bc.Result]) -> tuple[list[str], list[str]]:
    """(problems, notes) of the stored rows against the acknowledged requests."""
    from sqlalchemy import create_engine, text

    problems: list[str] = []
    notes: list[str] = []
    engine = create_engine(url)
    with engine.connect() as conn:
        for case, provider in (
            ("at_sms", "africastalking"),
            ("twilio_sms", "twilio"),
            ("kannel_sms", "kannel"),
            ("android_sms", "android"),
        ):
            if case not in results:
                continue
            acked = set(results[case].acked.get(case, []))
            rows = conn.execute(
                text(
                    "SELECT provider_id, count(*) FROM inbound_messages "
                    "WHERE provider = :p GROUP BY provider_id"
                ),
                {"p": provider},
            ).all()
            stored = {pid: n for pid, n in rows}
            missing = acked - stored.keys()
            twice = [pid for pid, n in stored.items() if n > 1]
            notes.append(
                f"{case}: {len(acked)} acknowledged, {len(stored)} stored, "
                f"{len(missing)} acknowledged but missing, {len(twice)} stored twice"
            )
            if missing or twice:
                problems.append(f"{case}: {len(missing)} missing, {len(twice)} duplicated")
            outcomes = conn.execute(
                text(
                    "SELECT outcome, intent, count(*) FROM inbound_messages WHERE provider = :p "
                    "GROUP BY outcome, intent ORDER BY 3 DESC"
                ),
                {"p": provider},
            ).all()
            notes.append(f"{case} outcomes: " + ", ".join(f"{o}/{i}: {n}" for o, i, n in outcomes))
        ussd_acked = [
            key for case, r in results.items() if case.startswith("ussd") for key in r.acked["ussd"]
        ]
        if ussd_acked:
            acked_steps = Counter(sid for sid, _s, _l in ussd_acked)
            finished = {(sid, scenario) for sid, scenario, last in ussd_acked if last}
            steps: dict[str, int] = dict(
                conn.execute(
                    text("SELECT session_id, steps FROM ussd_sessions WHERE provider = :p"),
                    {"p": "africastalking"},
                ).all()
            )
            wrong = [sid for sid, n in acked_steps.items() if steps.get(sid, 0) < n]
            extra = sum(steps.get(sid, 0) - n for sid, n in acked_steps.items())
            ratings = Counter(
                ref.rsplit(":", 1)[0].split(":", 2)[2]
                for (ref,) in conn.execute(
                    text("SELECT source_ref FROM trust_ratings WHERE source = 'ussd'")
                )
            )
            incidents = Counter(
                ref.split(":", 2)[2]
                for (ref,) in conn.execute(
                    text("SELECT source_ref FROM incidents WHERE source = 'ussd'")
                )
            )
            bad_trust = [sid for sid, sc in finished if sc == "trust" and ratings.get(sid, 0) != 4]
            bad_incident = [
                sid for sid, sc in finished if sc == "incident" and incidents.get(sid, 0) != 1
            ]
            by_scenario = Counter(sc for _sid, sc in finished)
            notes.append(
                f"ussd: {sum(acked_steps.values())} steps acknowledged in {len(acked_steps)} "
                f"sessions, {len(wrong)} sessions with fewer steps stored than acknowledged, "
                f"{extra} steps counted beyond those acknowledged; finished: "
                + ", ".join(f"{sc} {n}" for sc, n in sorted(by_scenario.items()))
                + f"; {len(bad_trust)} questionnaires without exactly 4 ratings, "
                f"{len(bad_incident)} reports without exactly 1 incident"
            )
            if wrong or bad_trust or bad_incident:
                problems.append(
                    f"ussd: {len(wrong)} sessions short, {len(bad_trust)} questionnaires, "
                    f"{len(bad_incident)} incidents wrong"
                )
    engine.dispose()
    return problems, notes


def check_baseline(url: str, results: list[bc.Result]) -> tuple[list[str], list[str]]:
    from sqlalchemy import create_engine, text

    acked = {k for r in results for k in r.acked.get("baseline", [])}
    engine = create_engine(url)
    with engine.connect() as conn:
        rows: dict[str, int] = dict(
            conn.execute(
                text("SELECT provider_id, count(*) FROM baseline_messages GROUP BY provider_id")
            ).all()
        )
    engine.dispose()
    missing = acked - rows.keys()
    twice = [k for k, n in rows.items() if n > 1]
    note = (
        f"baseline: {len(acked)} acknowledged, {len(rows)} stored, {len(missing)} missing, "
        f"{len(twice)} twice"
    )
    return ([note] if missing or twice else []), [note]


# -- running -----------------------------------------------------------------------


def run_case(
    server: bc.Server,
    database_url: str,
    case: str,
    args: argparse.Namespace,
    run: str,
) -> tuple[bc.Result, bc.CpuMeter, str]:
    concurrency = args.ussd_concurrency if case.startswith("ussd") else args.concurrency
    load = bc.load_average()
    with bc.CpuMeter(server, database_url) as cpu:
        result = bc.drive(
            server.base,
            concurrency,
            lambda n: SOURCES[case](n + 100 if case == "ussd_paced" else n, run),
            max_requests=args.requests,
            max_seconds=args.duration,
            rate=args.ussd_rate if case == "ussd_paced" else None,
        )
    return result, cpu, load


def warm_gateway(server: bc.Server, run: str) -> None:
    """Every worker thread imports, builds its caches and connects before the clock."""
    numbers = iter(range(900, 999))

    def send(client: bc.Client) -> None:
        n = next(numbers)
        for source in (AtSms(n, run), TwilioSms(n, run), KannelSms(n, run), AndroidSms(n, run)):
            for _ in range(3):
                req = source.next()
                client.post(req.path, req.data, req.json_body)
        ussd = Ussd(n, run)
        for _ in range(6):
            req = ussd.next()
            ussd.after(req, client.post(req.path, req.data))

    server.warm(send, rounds=24)


def warm_baseline(server: bc.Server, run: str) -> None:
    numbers = iter(range(900, 999))

    def send(client: bc.Client) -> None:
        source = Baseline(next(numbers), run)
        for _ in range(5):
            req = source.next()
            client.post(req.path, req.data)

    server.warm(send, rounds=24)


def row(
    case: str,
    backend: str,
    concurrency: int,
    result: bc.Result,
    cpu: bc.CpuMeter,
    load: str,
    baseline_rate: float | None,
) -> list[object]:
    lat = result.all_latencies()
    n = max(result.requests, 1)
    return [
        case,
        backend,
        concurrency,
        result.requests,
        result.error_count,
        result.rate,
        bc.percentile(lat, 50),
        bc.percentile(lat, 99),
        f"{result.rate / baseline_rate:.2f}" if baseline_rate else "1.00",
        cpu.server_cpu * 1000 / n,
        cpu.db_cpu * 1000 / n if backend == "postgresql" else "-",
        f"{result.client_cpu / result.seconds * 100:.0f}%" if result.seconds else "-",
        load,
    ]


HEADERS = [
    "case",
    "backend",
    "conc",
    "requests",
    "errors",
    "req/s",
    "p50 ms",
    "p99 ms",
    "x baseline",
    "app CPU ms/req",
    "pg CPU ms/req",
    "client CPU",
    "load before",
]


def bench_backend(
    backend: str, args: argparse.Namespace
) -> tuple[list[list[object]], list[str], list[str]]:
    rows: list[list[object]] = []
    problems: list[str] = []
    notes: list[str] = []
    run = bc.run_tag()
    cases = [
        c
        for c in ("at_sms", "ussd", "ussd_paced", "twilio_sms", "kannel_sms", "android_sms")
        if c in args.cases
    ]
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmpdir:
        tmp = Path(tmpdir)
        baselines: list[tuple[bc.Result, bc.CpuMeter, str]] = []
        gateway_results: dict[str, tuple[bc.Result, bc.CpuMeter, str]] = {}
        with (
            bc.make_database(backend, gateway=False) as base_url,
            bc.make_database(backend) as gw_url,
        ):
            base_env = bc.gateway_env(base_url, tmp)
            gw_env = bc.gateway_env(gw_url, tmp)

            def baseline_round() -> None:
                with bc.Server(
                    APPS[args.stack][0],
                    base_env,
                    tmp / f"baseline-{len(baselines)}.log",
                    args.workers,
                    args.threads,
                    args.stack,
                ) as server:
                    Baseline.rounds += 1
                    warm_baseline(server, run)
                    baselines.append(run_case(server, base_url, "baseline", args, run))

            baseline_round()
            with (
                bc.Server(
                    APPS[args.stack][1],
                    gw_env,
                    tmp / "gateway.log",
                    args.workers,
                    args.threads,
                    args.stack,
                ) as server,
                bc.RssSampler(server) as rss,
            ):
                warm_gateway(server, run)
                for case in cases:
                    gateway_results[case] = run_case(server, gw_url, case, args, run)
            notes.append(
                "gateway peak RSS (VmHWM, MiB): "
                + ", ".join(f"{name} {mib:.0f}" for name, mib in rss.peaks())
            )
            log_tail = (tmp / "gateway.log").read_text()[-2000:]
            if args.baseline_twice:
                baseline_round()
            p, n = check_gateway(gw_url, {c: r for c, (r, _cpu, _l) in gateway_results.items()})
            problems += p
            notes += n
            p, n = check_baseline(base_url, [r for r, _c, _l in baselines])
            problems += p
            notes += n
        base_rate = statistics.mean(r.rate for r, _c, _l in baselines)
        for i, (result, cpu, load) in enumerate(baselines):
            rows.append(
                row(f"baseline #{i + 1}", backend, args.concurrency, result, cpu, load, None)
            )
            if result.error_count:
                notes.append(f"baseline #{i + 1} errors: {dict(result.errors)}")
                notes.append(f"  {result.error_samples[:3]}")
        for case, (result, cpu, load) in gateway_results.items():
            conc = args.ussd_concurrency if case.startswith("ussd") else args.concurrency
            rows.append(row(case, backend, conc, result, cpu, load, base_rate))
            if result.error_count:
                notes.append(f"{case} errors: {dict(result.errors)} {result.error_samples[:3]}")
            if result.reconnects:
                notes.append(f"{case}: {result.reconnects} requests resent on a new connection")
        if any(r.error_count for r, _c, _l in gateway_results.values()):
            notes.append("gateway log tail:\n" + log_tail)
    return rows, problems, notes


# (baseline, gateway) app specs by stack
APPS = {
    "gthread": ("scripts.bench_baseline_app:create_app()", "gateway:create_app()"),
    "procfile": ("scripts.bench_baseline_app:buffered_app()", "gateway.serve:buffered_app()"),
}


def postgres_answers() -> bool:
    return not bc.machine()["postgresql"].startswith("unavailable")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"])
    parser.add_argument("--requests", type=int, default=2000, help="per case (default 2000)")
    parser.add_argument("--duration", type=float, default=20, help="seconds per case at most")
    parser.add_argument("--concurrency", type=int, default=16, help="SMS and baseline")
    parser.add_argument("--ussd-concurrency", type=int, default=16)
    parser.add_argument(
        "--ussd-rate",
        type=float,
        default=16,
        help="steps/s of the ussd_paced case (16 callers, one step a second each)",
    )
    parser.add_argument("--workers", type=int, default=3, help="gunicorn workers")
    parser.add_argument("--threads", type=int, default=4, help="threads per worker")
    parser.add_argument(
        "--stack",
        choices=bc.STACKS,
        default="gthread",
        help="gthread: gunicorn's thread worker; procfile: the Procfile's asyncio worker"
        " with buffered requests (gateway/gunicorn_conf.py), for the baseline too",
    )
    parser.add_argument(
        "--cases",
        default="at_sms,ussd,ussd_paced,twilio_sms,kannel_sms,android_sms",
        help="comma-separated gateway cases",
    )
    parser.add_argument(
        "--no-baseline-twice",
        dest="baseline_twice",
        action="store_false",
        help="run the baseline only before the gateway",
    )
    args = parser.parse_args(argv)
    args.cases = args.cases.split(",")
    backend = args.backend or ("both" if postgres_answers() else "sqlite")
    backends = ["sqlite", "postgresql"] if backend == "both" else [backend]

    info = bc.machine()
    print(
        f"machine: {info['nproc']} cores, {info['arch']}, {info['memory']}, Python "
        f"{info['python']}, PostgreSQL {info['postgresql']}; load {bc.load_average()}"
    )
    print(
        f"gunicorn: {args.workers} {args.stack} workers x {args.threads} threads; closed loop, "
        f"at most {args.requests} requests or {args.duration:g} s per case\n"
    )
    all_rows: list[list[object]] = []
    problems: list[str] = []
    for b in backends:
        rows, p, notes = bench_backend(b, args)
        all_rows += rows
        problems += p
        print(bc.table(HEADERS, rows))
        for note in notes:
            print("  " + note)
        print()
    print(bc.table(HEADERS, all_rows))
    print()
    print(goals(all_rows))
    if problems:
        print("DATABASE CHECK FAILED: " + "; ".join(problems))
        return 1
    print("database check: every acknowledged request stored once")
    return 0


GOAL_RATIO = 0.8  # issue 15


def goals(rows: list[list[object]]) -> str:
    lines = ["goals:"]
    for r in rows:
        case, backend, conc = r[0], r[1], r[2]
        errors, p99, ratio = r[4], r[7], r[8]
        if str(case).endswith("sms"):
            ok = float(str(ratio)) >= GOAL_RATIO
            lines.append(
                f"  {case} on {backend}: {ratio} x baseline throughput (goal >= {GOAL_RATIO}): "
                + ("met" if ok else "NOT met")
            )
        if str(case).startswith("ussd"):
            ok = float(str(p99)) < 50 and conc == 16
            lines.append(
                f"  {case} on {backend}: p99 {float(str(p99)):.1f} ms at {conc} callers "
                "(goal < 50 ms at 16): " + ("met" if ok else "NOT met")
            )
        if not str(case).startswith("baseline"):
            lines.append(
                f"  {case} on {backend}: {errors} errors (goal 0): "
                + ("met" if errors == 0 else "NOT met")
            )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
