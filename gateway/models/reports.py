"""What arrives: inbound messages, USSD sessions, trust ratings and incidents."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from gateway.models.base import Base, str_enum

# A partial index over the rows the rollup has still to fold in: small, however large
# the table (the rollup and the "are the cells complete" check read it).
UNROLLED: dict[str, Any] = {
    "sqlite_where": text("rolled = false"),
    "postgresql_where": text("rolled = false"),
}


class Channel(enum.StrEnum):
    SMS = "sms"
    USSD = "ussd"
    USSD_EVENT = "ussd_event"
    DELIVERY = "delivery"


class Outcome(enum.StrEnum):
    RECEIVED = "received"
    PROCESSED = "processed"
    HELP = "help"  # matched nothing: answered with help, kept for review
    REJECTED = "rejected"  # opted out, rate limited
    FAILED = "failed"
    HANDLING = "handling"  # claimed by a worker until its lease runs out
    DEAD = "dead"  # handling kept failing: kept for an admin to retry


QUEUED_SQL = "outcome IN ('received', 'handling')"
DEAD_SQL = "outcome = 'dead'"


class InboundMessage(Base):
    """One provider callback, stored before it is answered; the unique pair
    (provider, provider_id) makes a second delivery harmless."""

    __tablename__ = "inbound_messages"
    __table_args__ = (
        UniqueConstraint("provider", "provider_id"),
        # Every index here but the next two is written by every stored webhook, which
        # SQLite's one writer pays for (migration 0012): these two are partial on
        # what a webhook never writes, a dead row and a reporter (set by the handling).
        Index(
            "ix_inbound_dead", "id", sqlite_where=text(DEAD_SQL), postgresql_where=text(DEAD_SQL)
        ),
        Index(
            "ix_inbound_reporter",
            "reporter_id",
            "received_at",
            sqlite_where=text("reporter_id IS NOT NULL"),
            postgresql_where=text("reporter_id IS NOT NULL"),
        ),
        # Only rows still waiting or held: the queue's indexes stay small however
        # long the history grows.
        Index(
            "ix_inbound_queue",
            "id",
            sqlite_where=text(QUEUED_SQL),
            postgresql_where=text(QUEUED_SQL),
        ),
        Index(
            "ix_inbound_sender",
            "sender_ref",
            "id",
            sqlite_where=text(QUEUED_SQL),
            postgresql_where=text(QUEUED_SQL),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    provider: Mapped[str] = mapped_column(String(20))
    provider_id: Mapped[str] = mapped_column(String(100))
    channel: Mapped[Channel] = mapped_column(str_enum(Channel, "channel"))
    received_at: Mapped[dt.datetime]
    reporter_id: Mapped[int | None] = mapped_column(ForeignKey("reporters.id"))
    # The whole callback, encrypted; purged after the retention period.
    payload_enc: Mapped[str | None] = mapped_column(Text)
    intent: Mapped[str | None] = mapped_column(String(20))
    outcome: Mapped[Outcome] = mapped_column(str_enum(Outcome, "outcome"))
    # The handling queue (stored first, handled by workers): one phone's messages are
    # handled in order of `sender_ref` (a short keyed hash of the number); a worker
    # holds a row until `lease_until`, and a failed attempt waits for `next_attempt_at`.
    sender_ref: Mapped[str | None] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_attempt_at: Mapped[dt.datetime | None]
    lease_until: Mapped[dt.datetime | None]
    last_error: Mapped[str | None] = mapped_column(String(300))


KEPT_INPUT_SQL = "kept_input IS NOT NULL"


class UssdSession(Base):
    __tablename__ = "ussd_sessions"
    __table_args__ = (
        UniqueConstraint("provider", "session_id"),
        # The clock erases the kept paths of sessions that are over (few at a time).
        Index(
            "ix_ussd_sessions_kept",
            "last_step_at",
            sqlite_where=text(KEPT_INPUT_SQL),
            postgresql_where=text(KEPT_INPUT_SQL),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    provider: Mapped[str] = mapped_column(String(20))
    session_id: Mapped[str] = mapped_column(String(100))
    reporter_id: Mapped[int] = mapped_column(ForeignKey("reporters.id"), index=True)
    started_at: Mapped[dt.datetime]
    last_step_at: Mapped[dt.datetime]
    steps: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str | None] = mapped_column(String(30))
    # The provider's whole errorMessage of the end event (scrubbed of numbers).
    end_cause: Mapped[str | None] = mapped_column(String(300))
    # The caller's language when the session began: the menu replays the whole path
    # from it, so a language chosen during the session does not shift the answers.
    start_language: Mapped[str | None] = mapped_column(String(2))
    # Likewise the home locality and the subscription it began with (NULL in sessions
    # older than these columns: the current ones are used).
    start_home_id: Mapped[int | None] = mapped_column(Integer)
    start_subscribed: Mapped[bool | None] = mapped_column(Boolean)
    # USSD_INPUT=latest: the session's path so far, its last sequence value and when it
    # changed (domain.ussd_input.Kept), encrypted: what a caller typed is dangerous.
    kept_input: Mapped[str | None] = mapped_column(Text)


class TrustRating(Base):
    __tablename__ = "trust_ratings"
    __table_args__ = (
        CheckConstraint("value BETWEEN 1 AND 5", name="value_1_to_5"),
        Index("ix_trust_ratings_locality_time", "locality_id", "rated_at"),
        Index("ix_trust_ratings_reporter", "reporter_id", "locality_id", "question", "rated_at"),
        # Covers the evaluation's window queries (index-only scans on PostgreSQL).
        Index(
            "ix_trust_ratings_window",
            "question",
            "rated_at",
            "locality_id",
            "reporter_id",
            "value",
            "burst",
        ),
        # The ratings the figures' rollup has not folded into its cells yet.
        Index("ix_trust_ratings_unrolled", "rated_at", **UNROLLED),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reporter_id: Mapped[int] = mapped_column(ForeignKey("reporters.id"))
    locality_id: Mapped[int] = mapped_column(ForeignKey("localities.id"))
    question: Mapped[str] = mapped_column(String(40))
    value: Mapped[int] = mapped_column(SmallInteger)
    rated_at: Mapped[dt.datetime]
    source: Mapped[str] = mapped_column(String(12))
    # Where it came from (a USSD session and question, an SMS id, an import line):
    # unique, so a replayed session or a re-run import stores it once.
    source_ref: Mapped[str] = mapped_column(String(160), unique=True)
    burst: Mapped[bool] = mapped_column(Boolean, default=False)
    # Folded into the figures' cells (gateway/services/figures/rollup.py); stored false,
    # so whatever inserts a rating leaves it to the rollup.
    rolled: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))


class Incident(Base):
    __tablename__ = "incidents"
    __table_args__ = (
        Index("ix_incidents_locality_time", "locality_id", "reported_at"),
        Index("ix_incidents_window", "reported_at", "locality_id", "reporter_id", "burst"),
        Index("ix_incidents_unrolled", "reported_at", **UNROLLED),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ref_code: Mapped[str] = mapped_column(String(12), unique=True)
    kind: Mapped[str] = mapped_column(String(20))
    locality_id: Mapped[int] = mapped_column(ForeignKey("localities.id"))
    reporter_id: Mapped[int | None] = mapped_column(ForeignKey("reporters.id"), index=True)
    # Coarse on purpose (`today`, `yesterday`, `week`, `earlier`): an exact time can
    # identify the person who reported.
    occurred: Mapped[str] = mapped_column(String(12))
    reported_at: Mapped[dt.datetime]
    danger_now: Mapped[bool] = mapped_column(Boolean, default=False)
    text_enc: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(12))
    source_ref: Mapped[str] = mapped_column(String(160), unique=True)
    burst: Mapped[bool] = mapped_column(Boolean, default=False)
    rolled: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    details: Mapped[dict[str, Any] | None]
