"""Kannel delivery report type (`%d` in the dlr-url) → outbox status."""

from __future__ import annotations

from gateway.models import OutboxStatus

# Kannel user guide, "dlr-mask": one bit per report type, one type per report.
STATUSES: dict[str, OutboxStatus] = {
    "1": OutboxStatus.DELIVERED,  # delivered to the phone (final)
    "2": OutboxStatus.FAILED,  # not delivered to the phone (final)
    "4": OutboxStatus.SENT,  # queued on the SMSC (buffered)
    "8": OutboxStatus.SENT,  # delivered to the SMSC (its submit acknowledgement)
    "16": OutboxStatus.FAILED,  # rejected by the SMSC (final)
}


def map_status(raw: str) -> OutboxStatus | None:
    """The outbox status for a report's type; None for a type Kannel does not send."""
    return STATUSES.get(raw.strip())
