"""What the gateway knows of each SMS channel's health (a row per channel)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from gateway.models.base import Base


class ChannelHealth(Base):
    """Last success, last error and last sign of life of one channel (`kannel`,
    `kannel-orange`, `android`...). A phone relay that stops showing signs of life
    raises an operations alarm (`alarm_since`), cleared when it is heard again."""

    __tablename__ = "channel_health"

    channel: Mapped[str] = mapped_column(String(20), primary_key=True)
    last_success_at: Mapped[dt.datetime | None]
    last_error_at: Mapped[dt.datetime | None]
    # A provider's words, redacted: never a number or a secret.
    last_error: Mapped[str | None] = mapped_column(String(300))
    last_seen_at: Mapped[dt.datetime | None]
    alarm_since: Mapped[dt.datetime | None]
    updated_at: Mapped[dt.datetime]
