"""Provider delivery statuses → outbox statuses."""

from __future__ import annotations

import pytest

from gateway.models import OutboxStatus
from handlers.africastalking import status as at
from handlers.kannel import status as kannel
from handlers.twilio import status as tw

D, S, F = OutboxStatus.DELIVERED, OutboxStatus.SENT, OutboxStatus.FAILED


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Success", D),
        ("Sent", S),
        ("Submitted", S),
        ("Buffered", S),
        ("Rejected", F),
        ("Failed", F),
        ("Expired", F),
        ("success", D),  # case does not matter
        (" Failed ", F),
        ("Delivered", None),  # not an AT status
        ("", None),
    ],
)
def test_africastalking_delivery_report_status(raw: str, expected: OutboxStatus | None) -> None:
    assert at.map_status(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("queued", S),
        ("accepted", S),
        ("scheduled", S),
        ("sending", S),
        ("sent", S),
        ("partially_delivered", S),
        ("delivered", D),
        ("read", D),
        ("undelivered", F),
        ("failed", F),
        ("canceled", F),
        ("received", None),  # inbound statuses are not ours
        ("receiving", None),
        ("bogus", None),
    ],
)
def test_twilio_status_callback_status(raw: str, expected: OutboxStatus | None) -> None:
    assert tw.map_status(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1", D),  # delivered to the phone
        ("2", F),  # not delivered to the phone
        ("4", S),  # buffered on the SMSC
        ("8", S),  # submitted to the SMSC
        ("16", F),  # rejected by the SMSC
        (" 8 ", S),
        ("3", None),  # not a single report type
        ("32", None),
        ("", None),
    ],
)
def test_kannel_dlr_type(raw: str, expected: OutboxStatus | None) -> None:
    assert kannel.map_status(raw) == expected


def test_final_provider_statuses_are_final_outbox_statuses() -> None:
    for table in (at.STATUSES, tw.STATUSES, kannel.STATUSES):
        assert set(table.values()) <= {S, D, F}
