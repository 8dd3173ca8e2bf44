"""CPU per SMS webhook request and USSD step against the one-INSERT baseline, in process.

No gunicorn, no HTTP client: each request is a prebuilt WSGI environ handed to the
app (the baseline of scripts/bench_baseline_app.py, and the gateway in development
mode, store-first, no tokens), so what is left is the app's own work. Several rounds
per case, interleaved, the smallest taken (the machine is shared). `--profile CASE`
adds a cProfile of that case (CPU time, not wall: waits on the database are not
counted; PROFILE_CALLERS=regex also prints who called the matching functions); the
`ussd` case is a step of the next of 16 interleaved callers' sessions; `--ablate`
replaces one step of the store with nothing, to see what it costs (never in the
gateway itself: this process only).

    .venv/bin/python scripts/profile_webhooks.py --backend sqlite
    .venv/bin/python scripts/profile_webhooks.py --backend postgresql --ablate phone
    .venv/bin/python scripts/profile_webhooks.py --profile at_sms --sort tottime
    .venv/bin/python scripts/profile_webhooks.py --cases baseline,ussd --profile ussd
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_common as bc
import bench_ingest as bi
from werkzeug.test import EnvironBuilder

CASES = ["baseline", "at_sms", "twilio_sms", "kannel_sms", "android_sms", "ussd"]
USSD_CALLERS = 16  # sessions interleaved, as bench_ingest's closed loop does


class UssdCallers(bc.Source):
    """bench_ingest's USSD callers taken in turn: each request is the next step of the
    next caller's session (the first-time callers' questionnaires, reports and
    subscriptions), so the rows a step reads and writes are the benchmark's own."""

    def __init__(self, n: int, run: str) -> None:
        self.callers = [bi.Ussd(n * 100 + i, run) for i in range(USSD_CALLERS)]
        self.turn = 0

    def next(self) -> bc.Req:
        self.turn = (self.turn + 1) % len(self.callers)
        return self.callers[self.turn].next()

    def after(self, req: bc.Req, response: Any) -> None:
        self.callers[self.turn].after(req, response)


def environ(req: bc.Req) -> tuple[dict[str, Any], bytes]:
    body = req.json_body if req.json_body is not None else urlencode(req.data).encode()
    kind = "application/json" if req.json_body is not None else "application/x-www-form-urlencoded"
    env = EnvironBuilder(path=req.path, method="POST", data=body, content_type=kind)
    return env.get_environ(), body


def caller(app: Any, source: bc.Source) -> Callable[[], None]:
    after = getattr(source, "after", None)

    def call() -> None:
        req = source.next()
        env, body = environ(req)
        env["wsgi.input"] = io.BytesIO(body)
        status: list[str] = []
        b"".join(app(env, lambda s, _h, _e=None: status.append(s)))
        assert status[0].startswith("200"), status
        if after is not None:
            after(req, status)

    return call


def ablate(rt: Any, what: str) -> None:
    from gateway.services.intake import sms

    if what == "phone":
        sms.normalize_phone = lambda raw, _regions: raw  # type: ignore[assignment]
    elif what == "encrypt":
        rt.vault.encrypt = lambda plain: plain
    elif what == "hash":
        sms.sender_ref = lambda _p, _e: "0123456789abcdef"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--requests", type=int, default=1500, help="per case and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--ablate", choices=["phone", "encrypt", "hash"])
    parser.add_argument("--profile", choices=CASES)
    parser.add_argument("--sort", default="cumulative")
    parser.add_argument("--cases", default=",".join(CASES), help="baseline first")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, bc.make_database(args.backend) as url:
        from gateway.app import create_app
        from gateway.runtime import EXTENSION

        env = bc.gateway_env(url, Path(tmp))
        for name in ("AT_WEBHOOK_TOKEN", "KANNEL_WEBHOOK_TOKEN", "ANDROID_SIGNING_KEY"):
            env.pop(name, None)
        os.environ.clear()
        os.environ.update(env)
        gateway = create_app({k: v for k, v in env.items() if k in bc.KEYS})
        if args.ablate:
            ablate(gateway.extensions[EXTENSION], args.ablate)
        from bench_baseline_app import create_app as create_baseline

        baseline = create_baseline()
        apps = {case: baseline if case == "baseline" else gateway for case in CASES}
        run = bc.run_tag()
        sources = {**bi.SOURCES, "ussd": UssdCallers}
        cases = args.cases.split(",")
        calls = {c: caller(apps[c], sources[c](n, run)) for n, c in enumerate(cases)}
        cpu: dict[str, list[float]] = {c: [] for c in cases}
        for _ in range(args.rounds):
            for case, call in calls.items():
                for _ in range(30):  # caches, connections
                    call()
                t0 = time.process_time()
                for _ in range(args.requests):
                    call()
                cpu[case].append((time.process_time() - t0) * 1000 / args.requests)
        print(f"{args.backend}, in process, load {bc.load_average()}, ablated: {args.ablate}")
        base = min(cpu["baseline"])
        for case, values in cpu.items():
            rounds = " ".join(f"{v:.3f}" for v in values)
            ratio = min(values) / base
            print(f"  {case:12s} CPU ms/request {min(values):.3f} ({rounds}) x{ratio:.2f}")
        if args.profile:
            profiler = cProfile.Profile(time.process_time)  # CPU, not the waits
            profiler.enable()
            for _ in range(args.requests):
                calls[args.profile]()
            profiler.disable()
            out = io.StringIO()
            stats = pstats.Stats(profiler, stream=out).sort_stats(args.sort)
            stats.print_stats(40)
            if os.environ.get("PROFILE_CALLERS"):
                stats.print_callers(os.environ["PROFILE_CALLERS"])
            print(out.getvalue())


if __name__ == "__main__":
    main()
