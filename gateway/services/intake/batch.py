"""What the SMS handled in one transaction share: looked up once for the batch (the
senders, whether they sit on a committee, their recent messages for the rate limit)
and written once at its end (the messages' outcomes, the replies)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from gateway.models import InboundMessage, Outcome, Reporter
from gateway.runtime import Runtime
from gateway.services.intake.committee_sms import members_among
from gateway.services.intake.inbound_queue import RELEASED
from gateway.services.intake.reporters import identify_reporters
from gateway.services.outbox.queue import enqueue_many, outbox_row

RATE_WINDOW = dt.timedelta(hours=1)
RATE_LIMIT = 20  # messages per reporter per hour; beyond, kept but not acted on


@dataclass
class Batch:
    """Looked up for the batch: `reporters` by number, `members` (the hashes of the
    numbers on an active committee, each with its membership's language), `recent`
    (each reporter's handled messages of the rate window: id, received). Kept for its
    end: `outcomes`, `replies`."""

    rt: Runtime
    reporters: dict[str, Reporter]
    members: dict[str, str]
    recent: dict[int, list[tuple[int, dt.datetime]]]
    outcomes: dict[int, dict[str, Any]] = field(default_factory=dict)
    replies: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def prepare(
        cls, session: Session, rt: Runtime, senders: Sequence[tuple[str, dt.datetime]]
    ) -> Batch:
        """`senders`: each message's number and time received."""
        numbers = [e164 for e164, _ in senders]
        reporters = identify_reporters(session, rt.pseudonyms, numbers, rt.now())
        members = members_among(session, {r.pseudonym for r in reporters.values()})
        since = min(received for _, received in senders) - RATE_WINDOW
        ids = {r.id for r in reporters.values()}
        return cls(rt, reporters, members, _recent(session, ids, since))

    def member_language(self, reporter: Reporter) -> str | None:
        """The language of the reporter's committee membership; None for a citizen."""
        return self.members.get(reporter.pseudonym)

    def handling(self, inbound_id: int, reporter_id: int) -> None:
        """The message is being handled for this reporter: unless an outcome is set,
        it ends `processed`, its lease released."""
        self.outcomes[inbound_id] = {
            "id": inbound_id,
            "reporter_id": reporter_id,
            "outcome": Outcome.PROCESSED,
            "intent": None,
            **RELEASED,
        }

    def set_outcome(self, inbound_id: int, outcome: Outcome, intent: str) -> None:
        self.outcomes[inbound_id].update(outcome=outcome, intent=intent[:20])

    def over_rate_limit(self, reporter_id: int, inbound_id: int, now: dt.datetime) -> bool:
        """More than RATE_LIMIT messages in the hour before `now`, this one included."""
        since = now - RATE_WINDOW
        recent = self.recent.get(reporter_id, ())
        earlier = sum(1 for other, received in recent if other != inbound_id and received > since)
        return earlier + 1 > RATE_LIMIT

    def reply(self, e164: str, body: str, now: dt.datetime, key: str, channel: str) -> None:
        self.replies.append(
            outbox_row(
                self.rt.vault,
                to_e164=e164,
                body=body,
                purpose="reply",
                now=now,
                dedupe_key=key,
                channel=channel,
            )
        )

    def write(self, session: Session) -> None:
        """What the batch changed: the reporters (ORM), each message's outcome and
        release, the replies; one statement each (executemany)."""
        session.flush()
        if self.outcomes:
            session.execute(update(InboundMessage), list(self.outcomes.values()))
        enqueue_many(session, self.replies)


def _recent(
    session: Session, reporter_ids: set[int], since: dt.datetime
) -> dict[int, list[tuple[int, dt.datetime]]]:
    """Each reporter's latest handled messages since `since`, RATE_LIMIT + 2 at most:
    enough to tell whether a message is over the limit (the latest ones are those of
    any hour that matters), and a flood from one phone is not read back whole for each
    of its messages."""
    found: dict[int, list[tuple[int, dt.datetime]]] = defaultdict(list)
    if not reporter_ids:
        return found
    m = InboundMessage
    latest = func.row_number().over(partition_by=m.reporter_id, order_by=m.received_at.desc())
    ranked = (
        select(m.reporter_id, m.id, m.received_at, latest.label("n"))
        .where(m.reporter_id.in_(sorted(reporter_ids)), m.received_at > since)
        .subquery()
    )
    rows = session.execute(
        select(ranked.c.reporter_id, ranked.c.id, ranked.c.received_at).where(
            ranked.c.n <= RATE_LIMIT + 2
        )
    )
    for reporter_id, inbound_id, received in rows:
        if reporter_id is not None:
            found[reporter_id].append((inbound_id, received))
    return found
