"""What the gateway answered an SMS: the replies queued in the outbox for it."""

from __future__ import annotations

from sqlalchemy import select

from gateway.domain.gsm7 import is_gsm7, septets
from gateway.models import OutboxMessage
from gateway.runtime import Runtime


def replies_to(rt: Runtime, sms_id: str, provider: str = "africastalking") -> list[str]:
    """The replies to the SMS `provider` knows as `sms_id`, in the order queued, each
    checked to fit one GSM 7-bit segment."""
    with rt.sessions() as s:
        bodies = list(
            s.scalars(
                select(OutboxMessage.body)
                .where(OutboxMessage.dedupe_key.startswith(f"reply:{provider}:{sms_id}:"))
                .order_by(OutboxMessage.id)
            )
        )
    for body in bodies:
        assert body is not None and is_gsm7(body) and septets(body) <= 160, body
    return [b for b in bodies if b is not None]
