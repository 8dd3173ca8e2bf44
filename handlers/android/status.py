"""SMS Gateway for Android outgoing-message events → outbox status."""

from __future__ import annotations

from gateway.models import OutboxStatus

STATUSES: dict[str, OutboxStatus] = {
    "sms:sent": OutboxStatus.SENT,  # the phone handed it to its network
    "sms:delivered": OutboxStatus.DELIVERED,  # the handset's delivery report (final)
    "sms:failed": OutboxStatus.FAILED,  # the phone could not send it (final)
}


def map_status(raw: str) -> OutboxStatus | None:
    """The outbox status for an event name; None for events that are not about an
    outgoing message (`sms:received`, `system:ping`...)."""
    return STATUSES.get(raw.strip().lower())
