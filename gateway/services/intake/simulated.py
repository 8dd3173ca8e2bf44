"""A simulated phone's SMS (`flask sim sms`, the console's simulator): the Africa's
Talking form it posts, and its replies once the stored message has been handled.

The webhook only stores an SMS. The simulator then handles the queue as a worker
would, but a clock or a worker running beside it (`scripts/run` starts one) may claim
the message first: the replies are read only once the message has left the queue,
whoever handled it, or once the budget is spent.
"""

from __future__ import annotations

import datetime as dt
import time

from sqlalchemy import select

from gateway.models import InboundMessage, OutboxMessage
from gateway.runtime import Runtime
from gateway.services.intake.inbound_queue import QUEUED
from gateway.services.intake.worker import drain

PROVIDER = "africastalking"
# What a simulator waits for its reply at most, however long the queue ahead of it.
SIM_BUDGET = dt.timedelta(seconds=5)
POLL = 0.05  # seconds between looks at a message another worker holds


def webhook_url(rt: Runtime, path: str) -> str:
    """The Africa's Talking webhook `path` (sms, ussd), with its token when one is set."""
    token = rt.settings.at_webhook_token
    return f"/webhooks/{PROVIDER}/{path}" + (f"?token={token}" if token else "")


def sms_form(rt: Runtime, phone: str, text: str, message_id: str) -> dict[str, str]:
    """The form Africa's Talking posts for an inbound SMS."""
    return {
        "from": phone,
        "to": "36000",
        "text": text,
        "id": message_id,
        "date": rt.now().isoformat(),
        "linkId": "",
        "networkCode": "61001",
    }


def replies_once_handled(
    rt: Runtime, message_id: str, *, worker_id: str, budget: dt.timedelta = SIM_BUDGET
) -> list[str]:
    """Handle the queue until the stored message `message_id` is handled (by us or by
    another worker) or `budget` is spent; then its replies, oldest first."""
    deadline = time.monotonic() + budget.total_seconds()
    while True:
        left = dt.timedelta(seconds=max(0.0, deadline - time.monotonic()))
        drain(rt, budget=left, worker_id=worker_id)
        if not _queued(rt, message_id) or time.monotonic() >= deadline:
            break
        time.sleep(POLL)
    with rt.sessions() as session:
        return list(
            session.scalars(
                select(OutboxMessage.body)
                .where(OutboxMessage.dedupe_key.startswith(f"reply:{PROVIDER}:{message_id}:"))
                .order_by(OutboxMessage.id)
            )
        )


def _queued(rt: Runtime, message_id: str) -> bool:
    with rt.sessions() as session:
        outcome = session.scalar(
            select(InboundMessage.outcome).where(
                InboundMessage.provider == PROVIDER, InboundMessage.provider_id == message_id
            )
        )
    return outcome in QUEUED
