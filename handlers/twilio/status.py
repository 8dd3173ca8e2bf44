"""Twilio status callback `MessageStatus` → outbox status."""

from __future__ import annotations

from gateway.models import OutboxStatus

STATUSES: dict[str, OutboxStatus] = {
    "accepted": OutboxStatus.SENT,  # taken by a Messaging Service
    "scheduled": OutboxStatus.SENT,
    "queued": OutboxStatus.SENT,
    "sending": OutboxStatus.SENT,
    "sent": OutboxStatus.SENT,  # handed to the carrier
    # Some parts reached the handset; no later callback is promised, keep it open.
    "partially_delivered": OutboxStatus.SENT,
    "delivered": OutboxStatus.DELIVERED,
    "read": OutboxStatus.DELIVERED,  # read implies delivered (RCS/WhatsApp)
    "undelivered": OutboxStatus.FAILED,
    "failed": OutboxStatus.FAILED,
    "canceled": OutboxStatus.FAILED,  # a scheduled message cancelled: it will not go
}


def map_status(raw: str) -> OutboxStatus | None:
    """The outbox status for a callback's `MessageStatus`; None for statuses of inbound
    messages (`receiving`, `received`) and for any we do not know."""
    return STATUSES.get(raw.strip().lower())
