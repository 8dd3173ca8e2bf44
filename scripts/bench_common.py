"""Shared pieces of the benchmarks (scripts/bench_ingest.py, scripts/bench_load.py).

- `make_database`: a migrated database with the gazetteer (a SQLite file in a temp
  directory, or a throwaway PostgreSQL database dropped afterwards).
- `Server`: gunicorn on a free loopback port with a given environment, waited for on
  `/healthz`, stopped with SIGTERM; `RssSampler` reads VmRSS/VmHWM of the master and
  its workers from /proc.
- `drive`: a concurrent driver (a thread pool, one keep-alive http.client connection
  per thread), closed loop or paced at a target rate, bounded by a request count and a
  time limit. `CpuMeter`: CPU seconds of the server and of its PostgreSQL backends.
- `percentile`, `table`: the figures and how they are printed.

Run from the repository root with the project's virtualenv:
`/tmp/probe-venv/bin/python scripts/bench_ingest.py` (see each script's --help).
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import os
import random
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

GUNICORN = str(Path(sys.executable).with_name("gunicorn"))
PG_ADMIN_URL = os.environ.get(
    "BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
KEYS = {
    "SECRET_KEY": "bench-secret-key-not-for-production",
    "PHONE_HASH_KEY": "bench-phone-hash-key",
    "DATA_KEY": base64.urlsafe_b64encode(b"b" * 32).decode(),
}
# Names that would change what the gateway does (tokens, real providers) are dropped
# from the inherited environment.
_DROPPED = ("AT_", "TWILIO_", "SMS_", "DATABASE_URL", "PUBLIC_BASE_URL", "GATEWAY_")


def free_port() -> int:
    """A free loopback port: from BENCH_PORTS (`lo-hi`, a range of one's own on a shared
    machine, where another job's server could take an ephemeral port between our probe
    and gunicorn's bind, and answer our health check), else any the kernel gives."""
    spec = os.environ.get("BENCH_PORTS")
    if not spec:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            return int(s.getsockname()[1])
    lo, hi = (int(x) for x in spec.split("-"))
    start = random.randrange(lo, hi + 1)
    for n in range(hi - lo + 1):
        port = lo + (start - lo + n) % (hi - lo + 1)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in BENCH_PORTS={spec}")


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def machine() -> dict[str, str]:
    """What the figures were measured on."""
    mem_kb = next(
        int(line.split()[1])
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal:")
    )
    info = {
        "nproc": str(os.cpu_count()),
        "arch": os.uname().machine,
        "memory": f"{mem_kb / 1024 / 1024:.1f} GiB",
        "python": sys.version.split()[0],
    }
    try:
        from sqlalchemy import create_engine, text

        engine = create_engine(PG_ADMIN_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            info["postgresql"] = str(conn.execute(text("SHOW server_version")).scalar())
        engine.dispose()
    except Exception as exc:  # PostgreSQL is optional for a SQLite-only run
        info["postgresql"] = f"unavailable ({exc.__class__.__name__})"
    return info


# -- databases ---------------------------------------------------------------------


@contextlib.contextmanager
def make_database(backend: str, gateway: bool = True) -> Iterator[str]:
    """A fresh database URL: the gateway's schema (Alembic) and gazetteer when
    `gateway`, else empty. SQLite: a file in a temp directory; PostgreSQL: a
    throwaway database, dropped (WITH FORCE) when the block ends."""
    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix="bench-db-") as tmp:
            url = f"sqlite:///{tmp}/bench.db"
            if gateway:
                _migrate(url)
            yield url
        return
    if backend != "postgresql":
        raise ValueError(f"unknown backend {backend}")
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    # BENCH_DB_PREFIX: where several people share one server, each names their own.
    prefix = os.environ.get("BENCH_DB_PREFIX") or "bench"
    name = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    try:
        if gateway:
            _migrate(url)
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _migrate(url: str) -> None:
    from gateway import migrate
    from gateway.db import make_engine, make_sessionmaker
    from gateway.gazetteer.load import load_gazetteer

    engine = make_engine(url)
    try:
        migrate.upgrade(engine)
        load_gazetteer(make_sessionmaker(engine))
    finally:
        engine.dispose()


def gateway_env(database_url: str, tmp: Path) -> dict[str, str]:
    """The environment of a development gateway with the console provider, no tokens."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(_DROPPED)}
    env.update(
        KEYS,
        DATABASE_URL=database_url,
        GATEWAY_INSTANCE_PATH=str(tmp / "instance"),
        GATEWAY_ENV="development",
        SMS_PROVIDER="console",
        CONSOLE_SMS_FILE=str(tmp / "sms.jsonl"),
    )
    return env


# -- gunicorn ----------------------------------------------------------------------


def children(pid: int) -> set[int]:
    """The processes whose parent is `pid` (gunicorn's workers)."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.add(int(stat.parent.name))
    return found


# How gunicorn runs an app: "gthread" (the thread worker, `--threads` a worker), or
# "procfile", the Procfile's own stack (gateway/gunicorn_conf.py: the asyncio worker,
# each request buffered whole by gateway.serve.BufferedWsgi before one of WEB_THREADS
# threads runs it). `procfile` wants an app spec returning that wrapper.
STACKS = ("gthread", "procfile")


class Server:
    """gunicorn serving `app` (an import spec such as "gateway:create_app()") on a free
    loopback port, with the thread worker, or with `stack="procfile"` the way the
    Procfile runs it (then `threads` is WEB_THREADS)."""

    def __init__(
        self,
        app: str,
        env: dict[str, str],
        log_path: Path,
        workers: int = 2,
        threads: int = 4,
        stack: str = "gthread",
    ) -> None:
        if stack not in STACKS:
            raise ValueError(f"unknown stack {stack!r}")
        self.app = app
        self.stack = stack
        self.env = env if stack == "gthread" else {**env, "WEB_THREADS": str(threads)}
        self.log_path = log_path
        self.workers = workers
        self.threads = threads
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Server:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def start(self, timeout: float = 60) -> None:
        self._log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            [
                GUNICORN,
                *(["-c", "python:gateway.gunicorn_conf"] if self.stack == "procfile" else []),
                "--bind",
                f"127.0.0.1:{self.port}",
                "--workers",
                str(self.workers),
                *(["--threads", str(self.threads)] if self.stack == "gthread" else []),
                "--timeout",
                "30",
                "--graceful-timeout",
                "5",
                "--backlog",
                "2048",
                self.app,
            ],
            cwd=ROOT,
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited:\n{self.log_path.read_text()[-3000:]}")
            try:
                if requests.get(f"{self.base}/healthz", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn did not start:\n{self.log_path.read_text()[-3000:]}")
            time.sleep(0.1)
        while len(children(self.proc.pid)) < self.workers and time.monotonic() < deadline:
            time.sleep(0.1)

    def pids(self) -> dict[str, int]:
        """{"master": pid, "worker 1": pid, ...}"""
        assert self.proc is not None
        found = {"master": self.proc.pid}
        for n, pid in enumerate(sorted(children(self.proc.pid)), 1):
            found[f"worker {n}"] = pid
        return found

    def warm(self, send: Callable[[Client], None], rounds: int = 8) -> None:
        """Send a few requests on parallel connections so that every worker has
        imported, cached and connected before the clock starts."""
        threads = [threading.Thread(target=lambda: send(Client(self.base))) for _ in range(rounds)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    def stop(self) -> None:
        if self.proc is None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)
        self._log.close()
        self.proc = None


def _status_kb(pid: int) -> dict[str, int]:
    values = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(("VmRSS:", "VmHWM:")):
                key, value = line.split(":", 1)
                values[key] = int(value.split()[0])
    except OSError:
        pass
    return values


class RssSampler:
    """Samples VmRSS of the master and every worker (new ones too) every `interval`
    seconds; `peaks()` gives max(sampled VmRSS, VmHWM) per process, in MiB."""

    def __init__(self, server: Server, interval: float = 0.5) -> None:
        self.server = server
        self.interval = interval
        self.peak_kb: dict[int, int] = defaultdict(int)
        self.names: dict[int, str] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._sample()
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        for name, pid in self.server.pids().items():
            self.names.setdefault(pid, name if name == "master" else f"worker pid {pid}")
            kb = _status_kb(pid)
            self.peak_kb[pid] = max(self.peak_kb[pid], kb.get("VmRSS", 0), kb.get("VmHWM", 0))

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()

    def peaks(self) -> list[tuple[str, float]]:
        return [(self.names[pid], kb / 1024) for pid, kb in sorted(self.peak_kb.items())]


# -- the driver --------------------------------------------------------------------


@dataclass
class Resp:
    """What the driver keeps of an answer."""

    status_code: int
    text: str


class Client:
    """One keep-alive HTTP/1.1 connection (http.client: far less client CPU per request
    than requests, which matters when the client shares 2 cores with the server). A
    request that fails on a reused connection the server had closed (gunicorn's
    keep-alive timeout) is sent once more on a new one, as urllib3 does; the
    webhooks are idempotent, so this cannot double-store."""

    def __init__(self, base: str, timeout: float = 10.0) -> None:
        parsed = urllib.parse.urlsplit(base)
        self.host, self.port = parsed.hostname or "127.0.0.1", parsed.port or 80
        self.timeout = timeout
        self.conn: http.client.HTTPConnection | None = None
        self.reconnects = 0

    def post(self, path: str, data: dict[str, str], json_body: bytes | None = None) -> Resp:
        """A form POST of `data`, or of `json_body` as application/json when given."""
        if json_body is not None:
            body, headers = json_body, {"Content-Type": "application/json"}
        else:
            body = urllib.parse.urlencode(data).encode()
            headers = {"Content-Type": "application/x-www-form-urlencoded"}
        for attempt in (1, 2):
            reused = self.conn is not None
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            try:
                self.conn.request("POST", path, body=body, headers=headers)
                answer = self.conn.getresponse()
                text = answer.read().decode("utf-8", "replace")
                if answer.will_close:
                    self.close()
                return Resp(answer.status, text)
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.close()
                if not reused or attempt == 2:
                    raise
                self.reconnects += 1
            except Exception:
                self.close()
                raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


@dataclass
class Req:
    """One request: a form POST to `path` (or a JSON one, with `json_body`). `key`
    identifies what a 200 acknowledges (for the database check); `check` returns an
    error text for a wrong 200 answer."""

    kind: str
    path: str
    data: dict[str, str]
    key: Any = None
    check: Callable[[Resp], str | None] | None = None
    json_body: bytes | None = None  # sent as application/json instead of `data`


@dataclass
class Result:
    seconds: float = 0.0
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: Counter[str] = field(default_factory=Counter)
    error_samples: list[str] = field(default_factory=list)
    acked: dict[str, list[Any]] = field(default_factory=lambda: defaultdict(list))
    bodies: Counter[str] = field(default_factory=Counter)
    behind: int = 0  # paced mode: requests sent more than 100 ms after their time
    reconnects: int = 0
    client_cpu: float = 0.0  # CPU seconds of this (client) process during the run

    def all_latencies(self) -> list[float]:
        return [x for values in self.latencies.values() for x in values]

    @property
    def requests(self) -> int:
        return sum(len(v) for v in self.latencies.values())

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


class Source:
    """Makes each thread's requests; one instance per thread (so a USSD caller's
    steps stay in order). `after` sees the answer of each request it made (None when
    it failed)."""

    def next(self) -> Req:
        raise NotImplementedError

    def after(self, req: Req, response: Resp | None) -> None:
        return None


def _cpu_self() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def drive(
    base: str,
    concurrency: int,
    make_source: Callable[[int], Source],
    max_requests: int,
    max_seconds: float,
    rate: float | None = None,
    timeout: float = 10.0,
) -> Result:
    """Send requests from `concurrency` threads until `max_requests` are sent or
    `max_seconds` have passed. Closed loop (each thread sends its next request when
    the previous one is answered) unless `rate` (requests/s): then request n is due at
    start + n/rate and latency is measured from the moment it is sent."""
    result = Result()
    lock = threading.Lock()
    counter = iter(range(max_requests))
    cpu0 = _cpu_self()
    start = time.perf_counter()
    deadline = start + max_seconds

    def take() -> int | None:
        with lock:
            return next(counter, None)

    def worker(n: int) -> None:
        source = make_source(n)
        client = Client(base, timeout)
        lat: dict[str, list[float]] = defaultdict(list)
        acked: dict[str, list[Any]] = defaultdict(list)
        errors: Counter[str] = Counter()
        samples: list[str] = []
        bodies: Counter[str] = Counter()
        behind = 0
        while True:
            i = take()
            if i is None:
                break
            if rate:
                due = start + i / rate
                wait = due - time.perf_counter()
                if wait > 0:
                    time.sleep(wait)
                elif wait < -0.1:
                    behind += 1
            if time.perf_counter() >= deadline:
                break
            req = source.next()
            t0 = time.perf_counter()
            response: Resp | None = None
            problem = None
            try:
                response = client.post(req.path, req.data, req.json_body)
            except (OSError, http.client.HTTPException) as exc:
                problem = f"{req.kind}: {exc.__class__.__name__}"
            elapsed = time.perf_counter() - t0
            lat[req.kind].append(elapsed * 1000)
            if response is not None:
                if response.status_code != 200:
                    problem = f"{req.kind}: HTTP {response.status_code} {response.text[:80]!r}"
                elif req.check is not None:
                    problem = req.check(response)
                    if problem:
                        problem = f"{req.kind}: {problem}"
                if problem is None:
                    acked[req.kind].append(req.key)
                    bodies[f"{req.kind}: {response.text[:12]}"] += 1
            if problem:
                errors[" ".join(problem.split(" ")[:3])] += 1
                if len(samples) < 5:
                    samples.append(problem)
            source.after(req, response if problem is None else None)
        client.close()
        with lock:
            for kind, values in lat.items():
                result.latencies[kind].extend(values)
            for kind, keys in acked.items():
                result.acked[kind].extend(keys)
            result.errors.update(errors)
            result.bodies.update(bodies)
            result.behind += behind
            result.reconnects += client.reconnects
            if len(result.error_samples) < 10:
                result.error_samples.extend(samples)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    result.seconds = time.perf_counter() - start
    result.client_cpu = _cpu_self() - cpu0
    return result


# -- CPU accounting ----------------------------------------------------------------

_TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids: Sequence[int]) -> float:
    """utime + stime of these processes, in seconds (0 for a process gone)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / _TICK


def postgres_backends(database: str) -> list[int]:
    """The PostgreSQL server processes serving `database` (their title names it)."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            title = cmdline.read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
        except OSError:
            continue
        if title.startswith("postgres: ") and f" {database} " in title:
            found.append(int(cmdline.parent.name))
    return found


class CpuMeter:
    """CPU seconds used during a block by the server (master and workers) and, on
    PostgreSQL, by the backends serving its database."""

    def __init__(self, server: Server, database_url: str) -> None:
        self.server = server
        self.database = (
            database_url.rsplit("/", 1)[-1].split("?")[0]
            if database_url.startswith("postgresql")
            else None
        )
        self.server_cpu = 0.0
        self.db_cpu = 0.0

    def _pg(self) -> list[int]:
        return postgres_backends(self.database) if self.database else []

    def __enter__(self) -> CpuMeter:
        self._server_pids = list(self.server.pids().values())
        self._s0 = cpu_seconds(self._server_pids)
        self._pg_pids = self._pg()
        self._d0 = {pid: cpu_seconds([pid]) for pid in self._pg_pids}
        return self

    def __exit__(self, *_exc: object) -> None:
        self.server_cpu = cpu_seconds(self._server_pids) - self._s0
        now = self._pg()
        self.db_cpu = sum(cpu_seconds([pid]) - self._d0.get(pid, 0.0) for pid in now)


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100); 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, min(len(ordered), int(-(-p * len(ordered) // 100))))
    return ordered[rank - 1]


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A Markdown table (readable in a terminal too)."""
    cells = [[str(h) for h in headers]] + [[_fmt(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = [
        "| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |" for r in cells
    ]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.2f}" if abs(value) < 10 else f"{value:.1f}"
    return str(value)


# -- payload helpers ---------------------------------------------------------------

LOCALITIES = ["Mopti", "Sevare", "Gao", "Tombouctou", "Bandiagara", "Djenne", "Segou", "Kidal"]


def malian_phone(n: int, run: str = "") -> str:
    """A valid Malian mobile number, +223 7x xx xx xx, distinct for n < 10**7; `run`
    (a few hex digits) shifts it so two runs on one database do not collide."""
    offset = int(run, 16) % 1000 * 10_000 if run else 0
    value = (n + offset) % 10_000_000
    return f"+2237{value:07d}"


def run_tag() -> str:
    return uuid.uuid4().hex[:6]


def expect(prefix: str) -> Callable[[Resp], str | None]:
    def check(response: Resp) -> str | None:
        return None if response.text.startswith(prefix) else f"unexpected {response.text[:60]!r}"

    return check


# -- in-process profile --------------------------------------------------------------


def profile(backend: str, kind: str, count: int, top: int, cache_matcher: bool) -> None:
    """cProfile of `count` webhook requests in-process (Flask test client, no gunicorn,
    no network client), after 27 warm-up requests; prints the wall time per request
    without the profiler, then the hot spots (cumulative and own time) with it.
    `cache_matcher` memoises LocalityIndex.match in this process only, to measure what
    that change would give (the gateway's code is not touched)."""
    import cProfile
    import functools
    import io
    import pstats
    import statistics

    from gateway.app import create_app

    if cache_matcher:
        from gateway.domain import locality_match

        original = locality_match.LocalityIndex.match

        @functools.lru_cache(maxsize=4096)
        def cached(index: Any, query: str, limit: int = 5) -> tuple[Any, ...]:
            return tuple(original(index, query, limit))

        def match(index: Any, query: str, limit: int = 5) -> list[Any]:
            return list(cached(index, query, limit))

        locality_match.LocalityIndex.match = match  # type: ignore[method-assign]

    towns = ["Mopti", "Gao", "Sevare", "Tombouctou"]
    steps = ["1", "1", "{town}", "1", "4", "3", "5", "2"]  # trust questionnaire, French
    with tempfile.TemporaryDirectory(prefix="bench-profile-") as tmp, make_database(backend) as url:
        overrides = {k: v for k, v in gateway_env(url, Path(tmp)).items() if k in KEYS}
        overrides.update(
            DATABASE_URL=url,
            GATEWAY_INSTANCE_PATH=f"{tmp}/instance",
            GATEWAY_ENV="development",
            SMS_PROVIDER="console",
            SMS_HANDLING="inline",  # the request stores and handles: both are profiled
            CONSOLE_SMS_FILE=f"{tmp}/sms.jsonl",
            AT_WEBHOOK_TOKEN=None,  # type: ignore[arg-type]
            TWILIO_AUTH_TOKEN=None,  # type: ignore[arg-type]
        )
        client = create_app(overrides).test_client()

        def sms(i: int) -> Any:
            form = {"from": malian_phone(i), "text": f"CONFIANCE {1 + i % 5} {towns[i % 4]}"}
            return client.post("/webhooks/africastalking/sms", data={**form, "id": f"ATp{i}"})

        def ussd(i: int) -> Any:
            session, step = divmod(i, len(steps) + 1)
            path = "*".join(steps[:step]).format(town=towns[session % 4])
            form = {"phoneNumber": malian_phone(session + 5_000_000), "text": path}
            return client.post(
                "/webhooks/africastalking/ussd", data={**form, "sessionId": f"Sp{session}"}
            )

        send = {"sms": sms, "ussd": ussd}[kind]
        for i in range(27):
            assert send(10_000_000 + i).status_code == 200
        timings = []
        for i in range(count):
            t0 = time.perf_counter()
            answer = send(i)
            timings.append((time.perf_counter() - t0) * 1000)
            assert answer.status_code == 200, answer.data
        print(
            f"{backend} {kind} (matcher cache {'on' if cache_matcher else 'off'}): {count} "
            f"requests, mean {statistics.mean(timings):.2f} ms, p50 {percentile(timings, 50):.2f}"
            f" ms, p99 {percentile(timings, 99):.2f} ms without the profiler; "
            f"load {load_average()}"
        )
        profiler = cProfile.Profile()
        profiler.enable()
        for i in range(count, 2 * count):
            send(i)
        profiler.disable()
        for order in ("cumulative", "tottime"):
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).sort_stats(order).print_stats(top)
            print(out.getvalue())


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(
        description="Profile gateway webhooks in-process: "
        "python scripts/bench_common.py profile --backend sqlite --kind ussd"
    )
    parser.add_argument("action", choices=["profile"])
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--kind", choices=["sms", "ussd"], default="sms")
    parser.add_argument("--requests", type=int, default=450)
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--cache-matcher", action="store_true")
    cli = parser.parse_args()
    profile(cli.backend, cli.kind, cli.requests, cli.top, cli.cache_matcher)
