"""The audit log: who changed, exported, logged in or read what, and when.

Rows are only ever added. Details hold ids, outcomes and short comments, never a
password, a phone number or a reporter's free text.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gateway.models import AuditLog

_MAX_ACTOR = 120
_MAX_ACTION = 60
_MAX_TARGET = 200


def record(
    session: Session,
    actor: str,
    action: str,
    target: str | None,
    details: Mapping[str, Any] | None,
    now: dt.datetime,
) -> AuditLog:
    """Add one audit row in the caller's transaction and return it."""
    row = AuditLog(
        at=now,
        actor=actor[:_MAX_ACTOR],
        action=action[:_MAX_ACTION],
        target=target[:_MAX_TARGET] if target else None,
        details=dict(details) if details else None,
    )
    session.add(row)
    session.flush()
    return row


def page(session: Session, number: int, size: int = 50) -> tuple[Sequence[AuditLog], int]:
    """Rows of page `number` (1-based), newest first, and the number of pages."""
    total = session.scalar(select(func.count()).select_from(AuditLog)) or 0
    pages = max(1, -(-total // size))
    number = min(max(1, number), pages)
    rows = session.scalars(
        select(AuditLog)
        .order_by(AuditLog.at.desc(), AuditLog.id.desc())
        .offset((number - 1) * size)
        .limit(size)
    ).all()
    return rows, pages
