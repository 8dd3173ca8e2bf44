"""Handling the inbound queue: claim stored SMS, handle each, give back what failed.

The clock runs `handle_due` every few seconds and `flask --app gateway inbound work`
runs it in a loop; any number of them may run at once (the queue's claims keep them
apart). A worker killed mid-batch only delays its rows until their lease runs out.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import dataclass

from gateway.db import DB_UNAVAILABLE
from gateway.runtime import Runtime
from gateway.services.intake.inbound_queue import InboundClaim, claim_inbound
from gateway.services.intake.sms import give_up_attempt, handle_claim, handle_claims

log = logging.getLogger(__name__)
# SMS handled per transaction. SQLite has one writer: a shorter batch keeps the
# webhooks, which store while a batch is handled, waiting less.
BATCH = {"postgresql": 50, "sqlite": 20}


@dataclass
class HandlingSummary:
    claimed: int = 0
    handled: int = 0
    retried: int = 0  # raised; back in the queue (dead after the last attempt)
    lost: int = 0  # our lease ran out and another worker took the row

    def add(self, other: HandlingSummary) -> None:
        self.claimed += other.claimed
        self.handled += other.handled
        self.retried += other.retried
        self.lost += other.lost

    def __str__(self) -> str:
        return f"claimed {self.claimed}, handled {self.handled}, retried {self.retried}" + (
            f", lost lease {self.lost}" if self.lost else ""
        )


def handle_due(
    rt: Runtime, now: dt.datetime, *, limit: int | None = None, worker_id: str = "worker"
) -> HandlingSummary:
    """Claim one batch of due SMS (oldest first, one per phone) and handle it in one
    transaction; when that fails, each on its own, so only the failing one is given
    back. A database outage propagates: the rows come back when their lease runs
    out."""
    limit = limit or BATCH.get(rt.engine.dialect.name, 20)
    claims = claim_inbound(rt.sessions, now, limit=limit)
    summary = HandlingSummary(claimed=len(claims))
    if not claims:
        return summary
    try:
        results = handle_claims(rt, claims)
    except Exception as exc:  # nothing of the batch was kept
        log.warning(
            "inbound: a batch of %d failed (%s); one by one", len(claims), type(exc).__name__
        )
        _one_by_one(rt, claims, summary)
    else:
        summary.handled = sum(1 for replies in results.values() if replies is not None)
        summary.lost = len(claims) - summary.handled
    log.info("inbound: %s: %s", worker_id, summary)
    return summary


def _one_by_one(rt: Runtime, claims: list[InboundClaim], summary: HandlingSummary) -> None:
    for claim in claims:
        try:
            replies = handle_claim(rt, claim)
        except DB_UNAVAILABLE:
            raise
        except Exception as exc:
            give_up_attempt(rt, claim, exc, rt.now())
            summary.retried += 1
            continue
        if replies is None:
            summary.lost += 1
        else:
            summary.handled += 1


def drain(
    rt: Runtime, *, budget: dt.timedelta = dt.timedelta(seconds=30), worker_id: str = "worker"
) -> HandlingSummary:
    """Handle batches until nothing is due or `budget` is spent (the clock's job: a
    backlog is worked through without waiting for the next run)."""
    total = HandlingSummary()
    deadline = time.monotonic() + budget.total_seconds()
    while time.monotonic() < deadline:
        batch = handle_due(rt, rt.now(), worker_id=worker_id)
        total.add(batch)
        if batch.claimed == 0:
            break
    return total
