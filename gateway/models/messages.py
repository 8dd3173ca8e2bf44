"""Information messages: what an admin or a committee tells the subscribers of an area."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import ForeignKey, Integer, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from gateway.models.base import Base, str_enum


class InfoMessageStatus(enum.StrEnum):
    DRAFT = "draft"  # composed and previewed, not sent
    AWAITING_APPROVAL = "awaiting_approval"  # many recipients: a second admin must approve
    APPROVED = "approved"  # may be sent
    SENDING = "sending"  # being handed to the outbox by the clock, a batch at a time
    SENT = "sent"  # every recipient has a row in the outbox (sent at a bounded rate)
    CANCELLED = "cancelled"


class InfoMessage(Base):
    __tablename__ = "info_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The area: its subscribers and those of every locality under it.
    locality_id: Mapped[int] = mapped_column(ForeignKey("localities.id"), index=True)
    body: Mapped[str] = mapped_column(Text)
    # The text per language ("fr", "en", "bm"); a subscriber gets theirs, else `body`.
    bodies: Mapped[dict[str, Any] | None]
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[dt.datetime]
    # Counted when composed (shown in the preview), again at submit; once every recipient
    # is queued, the page shows `queued` (who joined or left meanwhile makes them differ).
    recipients: Mapped[int] = mapped_column(Integer)
    segments: Mapped[int] = mapped_column(SmallInteger)
    status: Mapped[InfoMessageStatus] = mapped_column(
        str_enum(InfoMessageStatus, "info_message_status")
    )
    approved_by: Mapped[str | None] = mapped_column(String(120))
    approved_at: Mapped[dt.datetime | None]
    sent_at: Mapped[dt.datetime | None]
    # While sending: the last subscription id queued (batches go in id order), and
    # how many recipients the outbox has so far (the console's "x of N").
    fanout_after: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    queued: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
