"""Thresholds, alerts and their history, the outbox, and the clock's watermarks."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import (
    Float,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from gateway.models.base import Base, str_enum


class Threshold(Base):
    """One rule parameter set nationally (locality_id NULL) or for an area."""

    __tablename__ = "thresholds"
    __table_args__ = (
        Index(
            "uq_thresholds_national",
            "rule",
            "param",
            unique=True,
            sqlite_where=text("locality_id IS NULL"),
            postgresql_where=text("locality_id IS NULL"),
        ),
        Index(
            "uq_thresholds_local",
            "rule",
            "param",
            "locality_id",
            unique=True,
            sqlite_where=text("locality_id IS NOT NULL"),
            postgresql_where=text("locality_id IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    rule: Mapped[str] = mapped_column(String(30))
    param: Mapped[str] = mapped_column(String(30))
    locality_id: Mapped[int | None] = mapped_column(ForeignKey("localities.id"))
    value: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[dt.datetime]
    updated_by: Mapped[str] = mapped_column(String(120))


class AlertState(enum.StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    CLOSED = "closed"


class Alert(Base):
    __tablename__ = "alerts"
    __table_args__ = (
        # At most one alert that is not closed per locality and rule.
        Index(
            "uq_alerts_one_open",
            "locality_id",
            "rule",
            unique=True,
            sqlite_where=text("state != 'closed'"),
            postgresql_where=text("state != 'closed'"),
        ),
        Index("ix_alerts_state_opened", "state", "opened_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(12), unique=True)
    rule: Mapped[str] = mapped_column(String(30))
    locality_id: Mapped[int] = mapped_column(ForeignKey("localities.id"))
    severity: Mapped[int] = mapped_column(SmallInteger)
    state: Mapped[AlertState] = mapped_column(str_enum(AlertState, "alert_state"))
    verified: Mapped[bool] = mapped_column(default=True)
    opened_at: Mapped[dt.datetime]
    # The figures and rule values at the time it fired (never who reported).
    figures: Mapped[dict[str, Any]]
    last_seen_at: Mapped[dt.datetime]
    clear_since: Mapped[dt.datetime | None]
    notified_at: Mapped[dt.datetime | None]
    notified_severity: Mapped[int | None] = mapped_column(SmallInteger)
    escalation_level: Mapped[int] = mapped_column(SmallInteger, default=0)
    escalated_at: Mapped[dt.datetime | None]
    # SMS queued to committee members over all rounds; 0 means it reached nobody.
    recipients: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    acknowledged_at: Mapped[dt.datetime | None]
    closed_at: Mapped[dt.datetime | None]
    outcome: Mapped[str | None] = mapped_column(String(20))


class AlertEvent(Base):
    """Every change of an alert, with who and when."""

    __tablename__ = "alert_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id"), index=True)
    at: Mapped[dt.datetime]
    actor: Mapped[str] = mapped_column(String(120))
    action: Mapped[str] = mapped_column(String(30))
    state: Mapped[str] = mapped_column(String(14))
    comment: Mapped[str | None] = mapped_column(String(500))


class OutboxStatus(enum.StrEnum):
    PENDING = "pending"  # waiting for its next attempt
    SENDING = "sending"  # claimed by a dispatcher under a lease
    SENT = "sent"  # the provider accepted it
    DELIVERED = "delivered"  # the handset got it (final)
    FAILED = "failed"  # the provider reported it undeliverable (final)
    DEAD = "dead"  # gave up after the retry limit; an admin may retry


class OutboxMessage(Base):
    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_due", "status", "next_attempt_at"),
        Index("ix_outbox_provider_message", "provider", "provider_message_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[dt.datetime]
    purpose: Mapped[str] = mapped_column(String(12))
    # Encrypted, and erased once the message is final.
    recipient_enc: Mapped[str | None] = mapped_column(String(400))
    recipient_hint: Mapped[str] = mapped_column(String(24))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[OutboxStatus] = mapped_column(str_enum(OutboxStatus, "outbox_status"))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime]
    lease_until: Mapped[dt.datetime | None]
    # The channel asked for (a reply goes back the way its message came), None for
    # the recipient's route; `provider` is the channel that carried it in the end.
    channel: Mapped[str | None] = mapped_column(String(20))
    provider: Mapped[str | None] = mapped_column(String(20))
    provider_message_id: Mapped[str | None] = mapped_column(String(100))
    last_error: Mapped[str | None] = mapped_column(String(300))
    sent_at: Mapped[dt.datetime | None]
    final_at: Mapped[dt.datetime | None]
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("alerts.id"), index=True)
    member_id: Mapped[int | None] = mapped_column(ForeignKey("committee_members.id"))
    # A key per logical message (alert + member + severity, a reply to an inbound id):
    # a second clock or a replayed webhook cannot enqueue it twice.
    dedupe_key: Mapped[str | None] = mapped_column(String(160), unique=True)


class KeptStatus(Base):
    """A delivery report or status callback that came before the commit of its own send
    (the provider answers our API call, then calls us back, before the dispatcher has
    recorded the provider's id): kept until that commit or the next outbox pass applies
    it, or it expires. Neither a number nor a text of the message is kept."""

    __tablename__ = "outbox_kept_status"
    __table_args__ = (Index("ix_outbox_kept_status_message", "provider", "provider_message_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    provider: Mapped[str] = mapped_column(String(20))
    provider_message_id: Mapped[str] = mapped_column(String(100))
    status: Mapped[OutboxStatus] = mapped_column(str_enum(OutboxStatus, "outbox_status"))
    # A provider's words, redacted (as `outbox.last_error`).
    error: Mapped[str | None] = mapped_column(String(300))
    received_at: Mapped[dt.datetime]


class JobState(Base):
    """A clock job's watermark: how far it has processed, so a stopped clock catches up."""

    __tablename__ = "job_state"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    watermark: Mapped[dt.datetime | None]
    updated_at: Mapped[dt.datetime]
    details: Mapped[dict[str, Any] | None]
