"""Delivery reports and status callbacks update the outbox row they concern."""

from __future__ import annotations

from gateway.db import transaction
from gateway.models import OutboxStatus
from gateway.runtime import Runtime
from gateway.services.outbox.queue import record_status


def record_delivery(
    rt: Runtime,
    *,
    provider: str,
    provider_message_id: str,
    status: OutboxStatus,
    error: str | None,
) -> bool:
    """True when an outbox row matched; a report for a message we never sent is ignored."""
    with transaction(rt.sessions) as session:
        return record_status(
            session,
            provider=provider,
            provider_message_id=provider_message_id,
            status=status,
            error=error[:300] if error else None,
            now=rt.now(),
        )
