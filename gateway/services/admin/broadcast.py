"""The clock's broadcast job: information messages being sent are handed to the
outbox in bounded batches, each in a transaction of its own (info_messages.queue_batch),
so a web request never waits on a large area and a clock that dies loses at most the
batch it had not committed. On PostgreSQL the message row is locked for each batch,
so a second clock waits and then goes on from the first one's place; on either
backend the outbox's dedupe keys keep a recipient from being queued twice."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from gateway.db import transaction
from gateway.models import InfoMessageStatus
from gateway.runtime import Runtime
from gateway.services.admin import info_messages

# At most this many batches a run, so one run stays short; the next run goes on.
MAX_BATCHES = 20


@dataclass(frozen=True)
class BroadcastSummary:
    messages: int  # messages that were being sent
    queued: int  # outbox rows added
    finished: int  # messages no longer being sent: fully queued, or cancelled


def broadcast_due(
    rt: Runtime, now: dt.datetime, max_batches: int = MAX_BATCHES
) -> BroadcastSummary:
    """Queue up to `max_batches` batches of the messages being sent, oldest first."""
    with rt.sessions() as session:
        message_ids = [m.id for m in info_messages.sending(session)]
    queued = finished = batches = 0
    for message_id in message_ids:
        done = False
        while not done and batches < max_batches:
            batches += 1
            try:
                added, done = _one_batch(rt, message_id, now)
            except info_messages.BatchRaced:
                break  # rolled back; the next run goes on from where the other got to
            queued += added
        finished += done
    return BroadcastSummary(messages=len(message_ids), queued=queued, finished=finished)


def _one_batch(rt: Runtime, message_id: int, now: dt.datetime) -> tuple[int, bool]:
    """One batch in its own transaction: the rows added, and whether the message is
    no longer being sent (fully queued, cancelled, sent by another clock)."""
    with transaction(rt.sessions) as session:
        message = info_messages.lock_sending(session, message_id)
        if message is None:
            return 0, True
        added = info_messages.queue_batch(session, rt, message, now)
        return added, message.status != InfoMessageStatus.SENDING
