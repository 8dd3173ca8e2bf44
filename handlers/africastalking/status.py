"""Africa's Talking delivery report `status` → outbox status."""

from __future__ import annotations

from gateway.models import OutboxStatus

STATUSES: dict[str, OutboxStatus] = {
    "success": OutboxStatus.DELIVERED,  # delivered to the handset (final)
    "sent": OutboxStatus.SENT,  # sent by AT to the network
    "submitted": OutboxStatus.SENT,  # submitted to the mobile operator
    "buffered": OutboxStatus.SENT,  # queued by the operator
    "rejected": OutboxStatus.FAILED,  # final
    "failed": OutboxStatus.FAILED,  # final
    "expired": OutboxStatus.FAILED,  # seen by RapidPro's courier, not in AT's list
}


def map_status(raw: str) -> OutboxStatus | None:
    """The outbox status for a report's `status`; None when AT sent one we do not know."""
    return STATUSES.get(raw.strip().lower())
