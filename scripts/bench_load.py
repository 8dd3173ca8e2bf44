"""Load benchmark (issue 6, item 12): mixed traffic on PostgreSQL under gunicorn.

The traffic mixes Africa's Talking inbound SMS, Twilio inbound SMS, USSD steps (whole
sessions, as in bench_ingest), Africa's Talking delivery reports and Twilio status
callbacks (for outbox rows seeded as `sent` before the run, so each report finds its
message). A short ramp of closed-loop steps (--ramp concurrency levels, --ramp-seconds
each) finds the highest throughput whose p99 stays under --max-p99 ms; the run then
holds 90% of it, paced, for --seconds (60 by default). Afterwards every acknowledged
message is checked in the database: each SMS stored once and handled, each finished
USSD session's report once, each final delivery report applied to its row. The peak
RSS of the gunicorn master and of each worker is sampled from /proc/<pid>/status.

    /tmp/probe-venv/bin/python scripts/bench_load.py --seconds 60
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import random
import sys
import tempfile
from collections import Counter
from pathlib import Path

from sqlalchemy import func, insert, select

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_common import (
    LOCALITIES,
    CpuMeter,
    Req,
    Resp,
    Result,
    RssSampler,
    Server,
    Source,
    drive,
    expect,
    gateway_env,
    load_average,
    machine,
    make_database,
    malian_phone,
    percentile,
    run_tag,
    table,
)

GATEWAY = "gateway:create_app()"
KEYWORDS = ["CONFIANCE {v} {loc}", "TRUST {v} {loc}", "confiance {v} {loc}", "Confiance{v} {loc}"]
# USSD sessions as a first-time caller types them (French; a town typed, first match).
TRUST_STEPS = ["1", "1", "{loc}", "1", "{a}", "{b}", "{c}", "{d}"]
INCIDENT_STEPS = ["1", "2", "{kind}", "{loc}", "1", "{when}", "{danger}", "1"]


def at_sms_form(n: int, tag: str) -> dict[str, str]:
    rng = random.Random(n)
    text = rng.choice(KEYWORDS).format(v=1 + n % 5, loc=rng.choice(LOCALITIES))
    return {
        "linkId": f"{n:020d}",
        "text": text,
        "to": "36000",
        "id": f"ATXid_load_{tag}_{n}",
        "date": "2026-11-28T09:30:00Z",
        "from": malian_phone(n, tag),
        "networkCode": "61001",
    }


def twilio_sms_form(n: int, tag: str) -> dict[str, str]:
    sid = f"SM{tag}sms{n:023d}"[:34]
    rng = random.Random(n)
    return {
        "ToCountry": "ML",
        "SmsMessageSid": sid,
        "NumMedia": "0",
        "SmsSid": sid,
        "SmsStatus": "received",
        "Body": f"TRUST {1 + n % 5} {rng.choice(LOCALITIES)}",
        "FromCountry": "ML",
        "To": "+22320202020",
        "NumSegments": "1",
        "MessageSid": sid,
        "AccountSid": "AC" + "0" * 32,
        "From": malian_phone(n + 3_000_000, tag),
        "ApiVersion": "2010-04-01",
    }


class UssdCaller(Source):
    """One caller after another: each session a new number and session id, the full
    `text` path at each step, CON until the last step's END."""

    sessions = itertools.count()

    def __init__(self, tag: str) -> None:
        self.tag = tag
        self._new_session()

    def _new_session(self) -> None:
        n = next(UssdCaller.sessions)
        rng = random.Random(n)
        self.session_id = f"ATUid_load_{self.tag}_{n}"
        self.phone = malian_phone(n + 6_000_000, self.tag)
        self.flow = "trust" if n % 3 else "incident"
        values = {
            "loc": rng.choice(["Mopti", "Gao", "Sevare", "Tombouctou"]),
            "kind": str(rng.randint(1, 4)),
            "when": str(rng.randint(1, 4)),
            "danger": str(rng.randint(1, 2)),
            **{k: str(rng.randint(1, 5)) for k in "abcd"},
        }
        steps = TRUST_STEPS if self.flow == "trust" else INCIDENT_STEPS
        self.steps = [s.format(**values) for s in steps]
        self.done = 0

    def next(self) -> Req:
        last = self.done == len(self.steps)
        form = {
            "phoneNumber": self.phone,
            "serviceCode": "*384*44135#",
            "text": "*".join(self.steps[: self.done]),
            "sessionId": self.session_id,
            "networkCode": "61002",
        }
        key = (self.flow, self.session_id) if last else None
        path = "/webhooks/africastalking/ussd"
        return Req("ussd", path, form, key, expect("END " if last else "CON "))

    def after(self, req: Req, response: Resp | None) -> None:
        if response is None or self.done == len(self.steps):
            self._new_session()  # a failed step ends the session, as on a phone
        else:
            self.done += 1


def check_sms(url: str, acked: list[tuple[str, str]]) -> tuple[str, Counter[str]]:
    """Every acknowledged (provider, id) stored once and handled; their outcomes."""
    from gateway.db import make_engine
    from gateway.models import InboundMessage, Outcome

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                select(
                    InboundMessage.provider,
                    InboundMessage.provider_id,
                    func.count(),
                    func.min(InboundMessage.outcome),
                ).group_by(InboundMessage.provider, InboundMessage.provider_id)
            ).all()
    finally:
        engine.dispose()
    stored = {(p, i): (n, o) for p, i, n, o in rows}
    missing = [k for k in acked if k not in stored]
    twice = [k for k in acked if k in stored and stored[k][0] != 1]
    unhandled = [k for k in acked if k in stored and stored[k][1] == Outcome.RECEIVED]
    outcomes = Counter(str(stored[k][1]) for k in acked if k in stored)
    ok = not missing and not twice and not unhandled and len(set(acked)) == len(acked)
    verdict = (
        f"{len(acked)} acked, all stored once and handled"
        if ok
        else f"FAIL: {len(missing)} missing, {len(twice)} twice, {len(unhandled)} unhandled"
    )
    return verdict, outcomes


def check_ussd(url: str, finished: list[tuple[str, str]]) -> str:
    """Each finished trust session has its 4 ratings, each incident session 1 incident."""
    from gateway.db import make_engine
    from gateway.models import Incident, TrustRating

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            refs = conn.scalars(select(TrustRating.source_ref).where(TrustRating.source == "ussd"))
            ratings = Counter(ref.rsplit(":", 1)[0] for ref in refs)
            incidents = Counter(conn.scalars(select(Incident.source_ref)))
    finally:
        engine.dispose()
    bad = [
        sid
        for flow, sid in finished
        if (flow == "trust" and ratings[f"ussd:africastalking:{sid}"] != 4)
        or (flow == "incident" and incidents[f"ussd:africastalking:{sid}"] != 1)
    ]
    n_trust = sum(1 for f, _ in finished if f == "trust")
    if bad:
        return f"FAIL: {len(bad)} of {len(finished)} finished sessions without their report"
    return (
        f"{len(finished)} sessions finished ({n_trust} trust, {len(finished) - n_trust} "
        "incident), each report stored once"
    )


def warm_gateway(server: Server, tag: str) -> None:
    counter = itertools.count(9_000_000)

    def send(client: object) -> None:
        for _ in range(3):
            n = next(counter)
            client.post("/webhooks/africastalking/sms", at_sms_form(n, tag))  # type: ignore[attr-defined]
            form = {
                "phoneNumber": malian_phone(n, tag),
                "sessionId": f"warm{tag}{n}",
                "text": "1*1*Mopti",
                "serviceCode": "*384#",
                "networkCode": "61002",
            }
            client.post("/webhooks/africastalking/ussd", form)  # type: ignore[attr-defined]

    server.warm(send)


MIX = {"at_sms": 30, "tw_sms": 15, "ussd": 35, "at_dlr": 10, "tw_status": 10}
SEEDED = 20_000  # outbox rows per provider that reports can refer to
AT_FINAL = ["Success", "Success", "Success", "Failed", "Rejected"]
AT_OTHER = ["Sent", "Submitted", "Buffered"]
TW_FINAL = ["delivered", "delivered", "delivered", "undelivered", "failed"]
TW_OTHER = ["queued", "sent"]


def at_report_id(n: int, tag: str) -> str:
    return f"ATXid_dlr_{tag}_{n}"


def tw_report_sid(n: int, tag: str) -> str:
    return f"SM{tag}dl{n:024d}"  # 34 characters, as a real SID


def seed_outbox(url: str, tag: str) -> None:
    """Outbox rows as the dispatcher leaves them after a send: `sent`, with the
    provider's message id, waiting for a report."""
    from gateway.db import make_engine
    from gateway.models import OutboxMessage, OutboxStatus

    now = dt.datetime.now(dt.UTC)
    engine = make_engine(url)
    rows = []
    for provider, make_id in (("africastalking", at_report_id), ("twilio", tw_report_sid)):
        for n in range(SEEDED):
            rows.append(
                {
                    "created_at": now,
                    "purpose": "reply",
                    "recipient_enc": None,
                    "recipient_hint": "+223******00",
                    "body": "Merci, votre note est enregistree.",
                    "status": OutboxStatus.SENT,
                    "attempts": 1,
                    "next_attempt_at": now,
                    "provider": provider,
                    "provider_message_id": make_id(n, tag),
                    "sent_at": now,
                    "dedupe_key": f"bench:{provider}:{tag}:{n}",
                }
            )
    try:
        with engine.begin() as conn:
            for start in range(0, len(rows), 5000):
                conn.execute(insert(OutboxMessage), rows[start : start + 5000])
    finally:
        engine.dispose()


class Mixed(Source):
    """This thread's share of the mix: its own USSD caller, shared counters for ids."""

    sms_numbers = itertools.count()
    at_reports = itertools.count()
    tw_reports = itertools.count()

    def __init__(self, thread: int, tag: str) -> None:
        self.rng = random.Random(thread)
        self.tag = tag
        self.caller = UssdCaller(tag)
        self.kinds = list(MIX)
        self.weights = list(MIX.values())

    def next(self) -> Req:
        kind = self.rng.choices(self.kinds, self.weights)[0]
        if kind == "ussd":
            return self.caller.next()
        if kind in ("at_sms", "tw_sms"):
            n = next(Mixed.sms_numbers)
            if kind == "at_sms":
                form = at_sms_form(n, self.tag)
                return Req(
                    kind, "/webhooks/africastalking/sms", form, ("africastalking", form["id"])
                )
            form = twilio_sms_form(n, self.tag)
            return Req(kind, "/webhooks/twilio/sms", form, ("twilio", form["MessageSid"]))
        # A report: mostly final, sometimes an intermediate one first (out of order too).
        final = self.rng.random() < 0.8
        if kind == "at_dlr":
            n = next(Mixed.at_reports) % SEEDED
            status = self.rng.choice(AT_FINAL if final else AT_OTHER)
            form = {
                "id": at_report_id(n, self.tag),
                "status": status,
                "phoneNumber": "+22376000000",
                "networkCode": "61001",
                "failureReason": "" if status in ("Success", *AT_OTHER) else "UserInBlacklist",
            }
            key = ("africastalking", form["id"], status.lower())
            return Req(kind, "/webhooks/africastalking/delivery", form, key, _known)
        n = next(Mixed.tw_reports) % SEEDED
        status = self.rng.choice(TW_FINAL if final else TW_OTHER)
        form = {
            "SmsStatus": status,
            "MessageStatus": status,
            "To": "+22376000000",
            "MessageSid": tw_report_sid(n, self.tag),
            "AccountSid": "AC" + "0" * 32,
            "From": "+22320202020",
            "ApiVersion": "2010-04-01",
        }
        if status in ("undelivered", "failed"):
            form["ErrorCode"] = "30003"
        key = ("twilio", form["MessageSid"], status)
        return Req(kind, "/webhooks/twilio/status", form, key, _known)

    def after(self, req: Req, response: Resp | None) -> None:
        if req.kind == "ussd":
            self.caller.after(req, response)


def _known(response: Resp) -> str | None:
    return None if response.text == "ok" else f"report not matched: {response.text[:40]!r}"


def check_reports(url: str, acked: list[tuple[str, str, str]]) -> tuple[str, Counter[str]]:
    """Every acknowledged final report left its row final; the rows' statuses."""
    from gateway.db import make_engine
    from gateway.models import OutboxMessage, OutboxStatus

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                select(
                    OutboxMessage.provider, OutboxMessage.provider_message_id, OutboxMessage.status
                )
            ).all()
    finally:
        engine.dispose()
    status = {(p, i): s for p, i, s in rows}
    final_words = {"success", "failed", "rejected", "delivered", "undelivered"}
    finals = [(p, i) for p, i, word in acked if word in final_words]
    not_final = [
        k for k in finals if status.get(k) not in (OutboxStatus.DELIVERED, OutboxStatus.FAILED)
    ]
    counts = Counter(str(status[(p, i)]) for p, i, _ in acked)
    verdict = (
        f"{len(acked)} reports acked ({len(finals)} final), all applied"
        if not not_final
        else f"FAIL: {len(not_final)} final reports not applied"
    )
    return verdict, counts


def summarise(res: Result) -> list[list[object]]:
    rows: list[list[object]] = []
    for kind in [*MIX, "all"]:
        lat = res.all_latencies() if kind == "all" else res.latencies.get(kind, [])
        errors = (
            res.error_count
            if kind == "all"
            else sum(n for k, n in res.errors.items() if k.startswith(kind + ":"))
        )
        rows.append(
            [
                kind,
                len(lat),
                f"{len(lat) / res.seconds:.1f}",
                errors,
                percentile(lat, 50),
                percentile(lat, 99),
            ]
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60, help="hold duration (default 60)")
    parser.add_argument("--ramp", default="4,8,16,24", help="closed-loop concurrency levels")
    parser.add_argument("--ramp-seconds", type=float, default=5)
    parser.add_argument("--max-p99", type=float, default=1000, help="ms; the contract's 1 s")
    parser.add_argument("--hold-fraction", type=float, default=0.9)
    parser.add_argument("--rate", type=float, default=0, help="skip the ramp, hold this rate")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args(argv)

    info = machine()
    print("machine:", ", ".join(f"{k} {v}" for k, v in info.items()))
    print(
        f"gunicorn: {args.workers} workers x {args.threads} threads; load {load_average()}",
        flush=True,
    )
    tag = run_tag()
    total = Result()
    with (
        tempfile.TemporaryDirectory(prefix="bench-load-") as tmp_name,
        make_database("postgresql") as url,
    ):
        tmp = Path(tmp_name)
        seed_outbox(url, tag)
        env = gateway_env(url, tmp)
        with Server(GATEWAY, env, tmp / "gunicorn.log", args.workers, args.threads) as srv:
            warm_gateway(srv, tag)
            with RssSampler(srv) as rss:
                phases: list[tuple[str, Result]] = []
                best_rate, best_conc = 0.0, 8
                if not args.rate:
                    ramp_rows = []
                    for conc in (int(c) for c in args.ramp.split(",")):

                        def ramp_source(n: int, c: int = conc) -> Mixed:
                            return Mixed(1000 * c + n, tag)

                        res = drive(
                            srv.base,
                            conc,
                            ramp_source,
                            10**9,
                            args.ramp_seconds,
                        )
                        phases.append((f"ramp c={conc}", res))
                        lat = res.all_latencies()
                        p99 = percentile(lat, 99)
                        holds = res.error_count == 0 and p99 < args.max_p99
                        ramp_rows.append(
                            [
                                conc,
                                f"{res.rate:.1f}",
                                percentile(lat, 50),
                                p99,
                                res.error_count,
                                load_average(),
                            ]
                        )
                        print("ramp:", ramp_rows[-1], flush=True)
                        if holds and res.rate > best_rate:
                            best_rate, best_conc = res.rate, conc
                    print()
                    print(
                        table(
                            ["concurrency", "req/s", "p50 ms", "p99 ms", "errors", "load avg"],
                            ramp_rows,
                        )
                    )
                    target = best_rate * args.hold_fraction
                else:
                    target = args.rate
                threads = max(16, 2 * best_conc)
                print(
                    f"\nhold: {target:.1f} req/s paced, {threads} client threads, "
                    f"{args.seconds:g} s",
                    flush=True,
                )
                with CpuMeter(srv, url) as cpu:
                    hold = drive(
                        srv.base,
                        threads,
                        lambda n: Mixed(n, tag),
                        int(target * args.seconds) + 1,
                        args.seconds + 5,
                        rate=target,
                    )
                phases.append(("hold", hold))
                hold_load = load_average()
            peaks = rss.peaks()

        for _name, res in phases:
            for kind, keys in res.acked.items():
                total.acked[kind].extend(keys)
            total.errors.update(res.errors)
        sms_verdict, sms_outcomes = check_sms(url, total.acked["at_sms"] + total.acked["tw_sms"])
        ussd_verdict = check_ussd(url, [k for k in total.acked["ussd"] if k])
        dlr_verdict, dlr_statuses = check_reports(
            url, total.acked["at_dlr"] + total.acked["tw_status"]
        )

    print()
    print(
        f"hold: target {target:.1f} req/s, achieved {hold.rate:.1f} req/s "
        f"over {hold.seconds:.1f} s, "
        f"{hold.requests} requests, {hold.error_count} errors, "
        f"{hold.behind} sent >100 ms late; load avg {hold_load}"
    )
    hold_p99 = percentile(hold.all_latencies(), 99)
    held = (
        hold.rate >= 0.97 * target
        and hold.behind <= 0.01 * max(hold.requests, 1)
        and hold_p99 < args.max_p99
        and hold.error_count == 0
    )
    print(
        f"verdict: {target:.1f} req/s "
        + (
            "HELD (>= 97% of the target achieved, <= 1% sent late, "
            f"p99 {hold_p99:.0f} ms < {args.max_p99:g} ms, no error)"
            if held
            else f"NOT HELD (achieved {hold.rate / target:.0%} of the target, "
            f"{hold.behind / max(hold.requests, 1):.0%} sent late, p99 {hold_p99:.0f} ms): "
            "the machine could not sustain it during this run; try --rate lower"
        )
    )
    per = 1000 / max(hold.requests, 1)
    print(
        f"CPU during the hold: gunicorn {cpu.server_cpu * per:.1f} ms/request, "
        f"PostgreSQL backends {cpu.db_cpu * per:.1f} ms/request, load client "
        f"{hold.client_cpu * per:.1f} ms/request "
        f"({hold.client_cpu / hold.seconds * 100:.0f}% of a core)"
    )
    print()
    print(table(["kind", "requests", "req/s", "errors", "p50 ms", "p99 ms"], summarise(hold)))
    print()
    print("outcomes (ramp + hold):")
    print(f"- SMS: {sms_verdict}; outcomes {dict(sms_outcomes)}")
    print(f"- USSD: {ussd_verdict}")
    print(f"- reports: {dlr_verdict}; outbox statuses {dict(dlr_statuses)}")
    print(f"- answers: {dict(sorted(hold.bodies.items()))}")
    for sample in hold.error_samples:
        print("  error:", sample)
    print()
    print(table(["process", "max RSS MiB"], [[name, f"{mib:.1f}"] for name, mib in peaks]))
    failed = (
        total.error_count
        or "FAIL" in sms_verdict
        or "FAIL" in ussd_verdict
        or "FAIL" in dlr_verdict
    )
    print(f"\nerrors (ramp + hold): {total.error_count} -> {'FAIL' if failed else 'ok'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
