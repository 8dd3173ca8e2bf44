"""Reporters (pseudonymous citizens), committees and their members, console users."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from gateway.models.base import Base, str_enum


class Reporter(Base):
    """A citizen, known only by the keyed HMAC of their number."""

    __tablename__ = "reporters"

    id: Mapped[int] = mapped_column(primary_key=True)
    pseudonym: Mapped[str] = mapped_column(String(64), unique=True)
    key_version: Mapped[int] = mapped_column(Integer, default=1)
    language: Mapped[str | None] = mapped_column(String(2))
    home_locality_id: Mapped[int | None] = mapped_column(ForeignKey("localities.id"))
    opted_out: Mapped[bool] = mapped_column(Boolean, default=False)
    notice_sent: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime]
    # What the reporter still has to answer (an ambiguous locality, a pending rating),
    # and until when it is kept; never holds a phone number or free text in clear.
    pending: Mapped[dict[str, Any] | None]
    pending_until: Mapped[dt.datetime | None]


class Subscription(Base):
    """Consent to receive information messages for an area; the number is kept
    encrypted only while the subscription lasts."""

    __tablename__ = "subscriptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    reporter_id: Mapped[int] = mapped_column(ForeignKey("reporters.id"), unique=True)
    locality_id: Mapped[int] = mapped_column(ForeignKey("localities.id"), index=True)
    phone_enc: Mapped[str] = mapped_column(String(400))
    created_at: Mapped[dt.datetime]


class Committee(Base):
    """A committee covers a locality and all under it; no locality means the whole
    country (the national committee, which also covers the refugee camps)."""

    __tablename__ = "committees"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    locality_id: Mapped[int | None] = mapped_column(ForeignKey("localities.id"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime]


class CommitteeMember(Base):
    __tablename__ = "committee_members"
    __table_args__ = (UniqueConstraint("committee_id", "phone_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    committee_id: Mapped[int] = mapped_column(ForeignKey("committees.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    # The HMAC recognises an inbound SMS from the member; the ciphertext lets us send.
    phone_hash: Mapped[str] = mapped_column(String(64), index=True)
    phone_enc: Mapped[str] = mapped_column(String(400))
    phone_hint: Mapped[str] = mapped_column(String(24))
    language: Mapped[str] = mapped_column(String(2), default="fr")
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Role(enum.StrEnum):
    ADMIN = "admin"
    ANALYST = "analyst"
    COMMITTEE = "committee"


class ConsoleUser(Base):
    __tablename__ = "console_users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[Role] = mapped_column(str_enum(Role, "role"))
    committee_id: Mapped[int | None] = mapped_column(ForeignKey("committees.id"))
    language: Mapped[str] = mapped_column(String(2), default="fr")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime]
    last_login_at: Mapped[dt.datetime | None]
    # Kept in the signed session cookie at login and compared on every request;
    # raised by logout, a password or role change and deactivation, so a copied
    # cookie stops working on the server's word, not only when it expires.
    session_version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")


class LoginAddress(Base):
    """Login attempts counted per address, in a window that starts at the first
    attempt: one row updated atomically, so concurrent attempts cannot read a count
    before each other's increment."""

    __tablename__ = "login_addresses"

    address: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    window_start: Mapped[dt.datetime]


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[Role] = mapped_column(str_enum(Role, "role"))
    created_at: Mapped[dt.datetime]
    revoked_at: Mapped[dt.datetime | None]


class AuditLog(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(index=True)
    actor: Mapped[str] = mapped_column(String(120))
    action: Mapped[str] = mapped_column(String(60))
    target: Mapped[str | None] = mapped_column(String(200))
    details: Mapped[dict[str, Any] | None]
