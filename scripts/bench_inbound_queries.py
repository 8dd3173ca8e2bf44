"""Every query that reads `inbound_messages`, on a table of `--rows` rows: its plan
(EXPLAIN QUERY PLAN on SQLite, EXPLAIN on PostgreSQL) and its time (issue 15: which
indexes can go without any of them turning into a scan of the table).

Builds a fresh database at the migrations' head of the checkout it runs from, fills
it with a history of `--rows` handled SMS over 60 days (2,000 still queued at the
end, 40 of them held by a worker, 50 dead ones, 20,000 reporters), then runs the
gateway's own functions (the claim, the handling's lock and rate-limit read, the
console's backlog and dead letters, a redelivery, retention, key rotation's walk)
and prints each statement's plan and the median time of `--repeat` runs.

    .venv/bin/python scripts/bench_inbound_queries.py --backend sqlite --rows 1000000
    .venv/bin/python scripts/bench_inbound_queries.py --backend postgresql --prefix idx_
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cryptography.fernet import Fernet
from sqlalchemy import Engine, event, insert, text, update

from gateway import migrate
from gateway.crypto import Vault
from gateway.db import make_engine, make_sessionmaker
from gateway.models import Channel, InboundMessage, Outcome, Reporter
from gateway.services.intake import batch as batch_module
from gateway.services.intake import inbound_queue as queue
from gateway.services.intake.inbound import store_inbound
from gateway.services.upkeep.purge import purge_expired

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
END = dt.datetime(2026, 12, 1, 12, tzinfo=dt.UTC)
REPORTERS = 20_000
QUEUED, HELD, DEAD = 2_000, 40, 50
PROVIDERS = ("africastalking", "twilio", "kannel", "android")


def _engine(backend: str, prefix: str, workdir: Path) -> tuple[Engine, Callable[[], None]]:
    if backend == "sqlite":
        return make_engine(f"sqlite:///{workdir / 'inbound.db'}"), lambda: None
    name = f"{prefix}inbound_queries_{os.getpid()}"
    admin = make_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine = make_engine(admin.url.set(database=name).render_as_string(hide_password=False))

    def drop() -> None:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return engine, drop


def _row(i: int, rows: int) -> dict[str, Any]:
    received = END - dt.timedelta(days=60) * (rows - i) / rows
    who = (i * 7919) % REPORTERS
    queued = i > rows - QUEUED
    if queued:
        outcome = Outcome.HANDLING if i <= rows - QUEUED + HELD else Outcome.RECEIVED
    elif i % (rows // DEAD) == 0:
        outcome = Outcome.DEAD
    else:
        outcome = (Outcome.PROCESSED, Outcome.HELP, Outcome.REJECTED)[
            (i % 100 > 89) + (i % 100 > 96)
        ]
    old = received < END - dt.timedelta(days=31)
    return {
        "id": i,
        "provider": PROVIDERS[i % 4],
        "provider_id": f"SM{i:032x}",
        "channel": Channel.SMS,
        "received_at": received,
        "reporter_id": None if queued else who + 1,
        "payload_enc": None if old else "g" * 180,
        "intent": None if queued else "rating",
        "outcome": outcome,
        "sender_ref": f"{who:016x}",
        "attempts": 1 if outcome in (Outcome.HANDLING, Outcome.DEAD) else 0,
        "next_attempt_at": received if outcome == Outcome.RECEIVED else None,
        "lease_until": END + dt.timedelta(minutes=1) if outcome == Outcome.HANDLING else None,
        "last_error": "OperationalError" if outcome == Outcome.DEAD else None,
    }


def fill(engine: Engine, rows: int) -> None:
    start = time.perf_counter()
    with engine.begin() as conn:
        conn.execute(
            insert(Reporter),
            [
                {
                    "pseudonym": f"{r:064x}",
                    "key_version": 1,
                    "opted_out": False,
                    "notice_sent": False,
                    "created_at": END - dt.timedelta(days=90),
                }
                for r in range(REPORTERS)
            ],
        )
    chunk = 20_000
    for first in range(1, rows + 1, chunk):
        with engine.begin() as conn:
            conn.execute(
                insert(InboundMessage),
                [_row(i, rows) for i in range(first, min(first + chunk, rows + 1))],
            )
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":  # what autovacuum would have done
            # The rows came with their ids: the next INSERT must not take id 1.
            conn.execute(
                text(
                    "SELECT setval(pg_get_serial_sequence('inbound_messages', 'id'), "
                    "(SELECT max(id) FROM inbound_messages))"
                )
            )
            conn.execute(text("ANALYZE inbound_messages"))
            conn.execute(text("ANALYZE reporters"))
    print(f"filled {rows:,} rows in {time.perf_counter() - start:.0f} s", flush=True)


class Recorder:
    """The statements each labelled step sent (SQLAlchemy's events)."""

    def __init__(self, engine: Engine) -> None:
        self.label: str | None = None
        self.seen: dict[str, list[tuple[str, Any]]] = {}
        event.listen(engine, "before_cursor_execute", self._note)

    def _note(
        self, _conn: Any, _cursor: Any, statement: str, params: Any, _ctx: Any, many: bool
    ) -> None:
        if (self.label is not None and "inbound_messages" in statement) or (
            self.label is not None and statement.startswith("SELECT set_config")
        ):
            first = params[0] if many and params else params
            seen = self.seen.setdefault(self.label, [])
            if statement not in [known for known, _ in seen]:
                seen.append((statement, first))


def explain(engine: Engine, statements: list[tuple[str, Any]]) -> list[str]:
    lines: list[str] = []
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        for statement, params in statements:
            if statement.startswith("SELECT set_config"):
                cursor.execute(statement, params)
                continue
            prefix = "EXPLAIN QUERY PLAN " if engine.dialect.name == "sqlite" else "EXPLAIN "
            cursor.execute(prefix + statement, params)
            plan = cursor.fetchall()
            lines.append("  " + " ".join(statement.split())[:150])
            for row in plan:
                lines.append("    " + (str(row[-1]) if engine.dialect.name == "sqlite" else row[0]))
        raw.rollback()
    finally:
        raw.close()
    return lines


def timed(repeat: int, action: Callable[[], object]) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def run(engine: Engine, repeat: int) -> None:
    sessions = make_sessionmaker(engine)
    vault = Vault(Fernet.generate_key().decode("ascii"))
    recorder = Recorder(engine)
    now = END
    results: list[tuple[str, float]] = []

    def step(label: str, action: Callable[[], object], times: int = repeat) -> None:
        recorder.label = label
        results.append((label, timed(times, action)))
        recorder.label = None

    claims: list[queue.InboundClaim] = []
    step("claim (20 due, oldest first)", lambda: claims.extend(queue.claim_inbound(sessions, now)))
    last_queued = claims[0].id + 1000
    step(
        "claim one (inline handling)",
        lambda: queue.claim_inbound(sessions, now, only_id=last_queued, limit=1),
    )

    def hold() -> None:
        with sessions() as session, session.begin():
            queue.hold_all(session, claims[:20])
            session.rollback()

    step("hold the claimed rows", hold)
    reporters = {1 + (c.id * 7919) % REPORTERS for c in claims[:20]}

    def recent() -> None:
        with sessions() as session:
            batch_module._recent(session, reporters, now - dt.timedelta(hours=1))

    step("rate limit: reporters' last hour", recent)

    def backlog() -> None:
        with sessions() as session:
            queue.backlog(session)

    step("console: backlog counts", backlog)

    def dead() -> None:
        with sessions() as session:
            queue.dead_inbound(session)

    step("console: dead letters", dead)
    counter = iter(range(10**9))

    def store_as(provider_id: str) -> None:
        store_inbound(
            engine,
            vault,
            provider="twilio",
            provider_id=provider_id,
            channel=Channel.SMS,
            payload={"from": "+22370000000", "text": "x"},
            now=now,
            sender_ref="ffffffffffffffff",
        )

    step("webhook: store (INSERT)", lambda: store_as(f"new{next(counter)}"))
    step("webhook: redelivery (ignored)", lambda: store_as("new0"))

    def stored_id() -> None:
        from sqlalchemy import select

        with sessions() as session:
            session.scalars(
                select(InboundMessage.id).where(
                    InboundMessage.provider == "twilio", InboundMessage.provider_id == f"SM{5:032x}"
                )
            ).all()

    step("redelivery: stored id", stored_id)

    def rotation_walk() -> None:
        from sqlalchemy import select

        with sessions() as session:
            session.execute(
                select(InboundMessage.id, InboundMessage.payload_enc)
                .where(InboundMessage.id > 0, InboundMessage.payload_enc.is_not(None))
                .order_by(InboundMessage.id)
                .limit(500)
            ).all()

    step("key rotation: first batch", rotation_walk)
    step(
        "retention purge (a day's payloads)",
        lambda: purge_expired(SimpleNamespace(sessions=sessions), now),
        1,
    )
    step(
        "retention purge (nothing left)",
        lambda: purge_expired(SimpleNamespace(sessions=sessions), now),
    )

    write_cost(engine, sessions, vault, now)
    for label, ms in results:
        print(f"\n== {label}: {ms:.2f} ms (median of {repeat if 'day' not in label else 1})")
        print("\n".join(explain(engine, recorder.seen.get(label, []))))


def _written(engine: Engine) -> Callable[[], float]:
    """A counter of what was written since: SQLite's WAL frames (pages; the WAL is not
    checkpointed meanwhile), PostgreSQL's WAL bytes."""
    raw = engine.raw_connection()
    cursor = raw.cursor()
    if engine.dialect.name == "sqlite":
        cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        cursor.execute("PRAGMA page_size")
        page = int(cursor.fetchone()[0])
        wal = f"{engine.url.database}-wal"
        return lambda: max(0, os.path.getsize(wal) - 32) / (page + 24)

    def lsn() -> float:
        cursor.execute("SELECT pg_current_wal_lsn() - '0/0'::pg_lsn")
        value = float(cursor.fetchone()[0])
        raw.commit()
        return value

    return lsn


def _store_many(engine: Engine, vault: Vault, now: dt.datetime, n: int) -> None:
    for _ in range(n):
        store_inbound(
            engine,
            vault,
            provider="africastalking",
            provider_id=f"cost-{os.urandom(12).hex()}",
            channel=Channel.SMS,
            payload={"from": "+22370000000", "text": "SOLA 3 Bamako"},
            now=now,
            sender_ref=os.urandom(8).hex(),
        )


def _handle_all(sessions: Any, now: dt.datetime) -> int:
    """Claim and release every due row, 20 at a time, as a worker's handling does to
    this table (the outcome, the reporter, the lease let go); how many."""
    claimed = 0
    while claims := queue.claim_inbound(sessions, now, limit=20):
        claimed += len(claims)
        with sessions() as session, session.begin():
            released = [
                {
                    "id": c.id,
                    "reporter_id": 1 + c.id % REPORTERS,
                    "outcome": Outcome.PROCESSED,
                    "intent": "rating",
                    **queue.RELEASED,
                }
                for c in claims
            ]
            session.execute(update(InboundMessage), released)
    return claimed


def _pg_insert_wal(engine: Engine, vault: Vault, now: dt.datetime, n: int) -> None:
    """PostgreSQL: the WAL of the webhook's own INSERT, from EXPLAIN (ANALYZE, WAL) (the
    server's WAL position counts every database's writes: the server is shared)."""
    from gateway.upsert import _prepared

    totals = {"WAL Records": 0, "WAL Bytes": 0, "WAL FPI": 0}
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        for i in range(2 * n):  # the first n take the full-page images: not counted
            values = {
                "provider": "africastalking",
                "provider_id": f"cost-{os.urandom(12).hex()}",
                "channel": Channel.SMS,
                "received_at": now,
                "reporter_id": None,
                "payload_enc": vault.encrypt('{"from": "+22370000000", "text": "SOLA 3"}'),
                "outcome": Outcome.RECEIVED,
                "sender_ref": os.urandom(8).hex(),
                "attempts": 0,
                "next_attempt_at": now,
            }
            prepared = _prepared(InboundMessage.__table__, engine.dialect, tuple(values))
            cursor.execute(
                "EXPLAIN (ANALYZE, WAL, FORMAT JSON) " + prepared.sql, prepared.parameters(values)
            )
            plan = cursor.fetchone()[0][0]["Plan"]
            raw.commit()
            if i >= n:
                for key in totals:
                    totals[key] += plan.get(key, 0)
    finally:
        raw.close()
    each = ", ".join(f"{v / n:.1f} {k[4:].lower() or 'x'}" for k, v in totals.items())
    print(f"\n== write cost: per stored webhook's INSERT, WAL {each} ({n}, EXPLAIN ANALYZE)")


def write_cost(engine: Engine, sessions: Any, vault: Vault, now: dt.datetime, n: int = 200) -> None:
    """Pages (SQLite) or WAL bytes (PostgreSQL) written per stored webhook, and per
    message by the worker's claim and release (what the handling writes to this
    table). A first round is not counted: on PostgreSQL it takes the full-page images
    of the pages first touched since the last checkpoint."""
    if engine.dialect.name == "postgresql":
        _pg_insert_wal(engine, vault, now, n)
        return
    event.listen(engine, "connect", lambda conn, _r: conn.execute("PRAGMA wal_autocheckpoint=0"))
    engine.dispose()
    later = now + dt.timedelta(hours=1)
    _store_many(engine, vault, now, n)
    _handle_all(sessions, later)
    counter = _written(engine)
    unit = "pages" if engine.dialect.name == "sqlite" else "WAL bytes"
    before = counter()
    _store_many(engine, vault, now, n)
    stored = counter()
    handled = _handle_all(sessions, later)
    done = counter()
    print(f"\n== write cost: {(stored - before) / n:.1f} {unit} per stored webhook ({n})")
    print(
        f"== write cost: {(done - stored) / max(handled, 1):.1f} {unit} per handled message "
        f"(claim and release, {handled} messages, batches of 20)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--prefix", default="idx_", help="PostgreSQL database name prefix")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        engine, drop = _engine(args.backend, args.prefix, Path(tmp))
        try:
            migrate.upgrade(engine)
            fill(engine, args.rows)
            run(engine, args.repeat)
        finally:
            engine.dispose()
            drop()


if __name__ == "__main__":
    main()
