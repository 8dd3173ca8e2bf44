"""What the clock's alert jobs share: a transaction-level advisory lock so a second
clock skips a job, and each job's watermark."""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from gateway.models import JobState

# pg advisory lock keys: a second clock skips the job holding one.
CYCLE_LOCK = 727_274_001
URGENT_LOCK = 727_274_002
ESCALATION_LOCK = 727_274_003


@functools.lru_cache(maxsize=256)
def days(n: float) -> dt.timedelta:
    """n days (cached: a weekly pass asks ~5,000 times for a few rule values)."""
    return dt.timedelta(days=float(n))


def holds_lock(session: Session, key: int) -> bool:
    """On PostgreSQL, whether this transaction holds the lock `key` (another clock
    running the same job makes this one skip). On SQLite, which has one writer at a
    time, the job takes the database's write lock now, before it reads: in WAL mode a
    transaction that read first cannot write over a commit made since (the clock's other
    jobs, the web's webhooks), SQLite answers "database is locked" at once, and the
    whole job was lost. Other writers now wait for it (busy_timeout)."""
    if session.get_bind().dialect.name != "postgresql":
        session.execute(text("UPDATE job_state SET name = name WHERE 0 = 1"))
        return True
    # JIT compiling the window queries costs more than it saves at these sizes.
    session.execute(text("SET LOCAL jit = off"))
    return bool(session.scalar(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": key}))


def record_watermark(session: Session, name: str, now: dt.datetime, **details: Any) -> None:
    """How far the job `name` has processed (shown on the health page)."""
    state = session.get(JobState, name)
    if state is None:
        session.add(JobState(name=name, watermark=now, updated_at=now, details=details or None))
    else:
        state.watermark, state.updated_at = now, now
        if details:
            state.details = details
