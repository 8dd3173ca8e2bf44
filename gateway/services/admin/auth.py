"""Console users: Argon2id password hashes and a login that resists guessing.

An account is locked for 15 minutes after 5 failures in a row; an address (IP) that
fails 20 times within 15 minutes is refused for everyone until its failures age out.
Both counts live in the database (the account row, the audit log), so they hold
across web workers. Every attempt is audited, without the password; a failed
attempt names the account only when it exists, because people sometimes type their
password into the e-mail field.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from dataclasses import dataclass
from typing import Literal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gateway.domain.text import CONSOLE_LANGUAGES
from gateway.models import AuditLog, Committee, ConsoleUser, Role
from gateway.services import audit

MIN_PASSWORD = 10
MAX_PASSWORD = 1024
MAX_FAILURES = 5
LOCK_FOR = dt.timedelta(minutes=15)
IP_MAX_FAILURES = 20
IP_WINDOW = dt.timedelta(minutes=15)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

LoginReason = Literal["ok", "refused", "locked", "ip_limited"]


class UserError(ValueError):
    """A user cannot be created as asked; the message says why."""


@dataclass(frozen=True)
class LoginResult:
    user: ConsoleUser | None
    reason: LoginReason

    @property
    def ok(self) -> bool:
        return self.user is not None and self.reason == "ok"


@functools.cache
def hasher() -> PasswordHasher:
    """argon2-cffi's defaults are Argon2id per RFC 9106's second recommendation
    (64 MiB, 3 passes, 4 lanes), above OWASP's minimum."""
    return PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    # Verifying against it for unknown accounts keeps their timing like real ones.
    return hasher().hash("not a password of anyone")


def normalize_email(email: str) -> str:
    """The e-mail in the form it is stored (trimmed, lower case); UserError if invalid."""
    value = (email or "").strip().lower()
    if len(value) > 254 or not _EMAIL.match(value):
        raise UserError(f"not a valid e-mail address: {email!r}")
    return value


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise UserError(f"the password must have at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise UserError(f"the password must have at most {MAX_PASSWORD} characters")


def create_user(
    session: Session,
    email: str,
    password: str,
    role: Role | str,
    now: dt.datetime,
    committee_id: int | None = None,
    language: str = "fr",
) -> ConsoleUser:
    """Add a console user; UserError for a bad e-mail, role, committee or password, or
    an e-mail already taken. A committee user must name its committee, others not."""
    address = normalize_email(email)
    try:
        role = Role(role)
    except ValueError as exc:
        raise UserError(f"role must be one of {', '.join(r.value for r in Role)}") from exc
    check_password(password)
    if language not in CONSOLE_LANGUAGES:
        raise UserError(f"language must be one of {', '.join(CONSOLE_LANGUAGES)}")
    if role == Role.COMMITTEE:
        if committee_id is None or session.get(Committee, committee_id) is None:
            raise UserError("a committee user needs an existing committee (--committee ID)")
    elif committee_id is not None:
        raise UserError("only committee users belong to a committee")
    if session.scalar(select(ConsoleUser.id).where(ConsoleUser.email == address)):
        raise UserError(f"a user with e-mail {address} already exists")
    user = ConsoleUser(
        email=address,
        password_hash=hasher().hash(password),
        role=role,
        committee_id=committee_id,
        language=language,
        active=True,
        failed_logins=0,
        created_at=now,
    )
    session.add(user)
    session.flush()
    return user


def list_users(session: Session) -> list[ConsoleUser]:
    """Every console user, by e-mail."""
    return list(session.scalars(select(ConsoleUser).order_by(ConsoleUser.email)))


def find_user(session: Session, email: str) -> ConsoleUser:
    address = normalize_email(email)
    user = session.scalar(select(ConsoleUser).where(ConsoleUser.email == address))
    if user is None:
        raise UserError(f"no user with e-mail {address}")
    return user


def set_active(
    session: Session, email: str, active: bool, now: dt.datetime, actor: str = "cli"
) -> ConsoleUser:
    """Deactivate a user (they can no longer log in, and a session they hold stops
    working at its next request) or make them active again; audited when it changes."""
    user = find_user(session, email)
    if user.active != active:
        user.active = active
        if active:
            user.failed_logins, user.locked_until = 0, None
        action = "user.activate" if active else "user.deactivate"
        audit.record(session, actor, action, f"user:{user.id}", {"email": user.email}, now)
    return user


def set_password(
    session: Session, email: str, password: str, now: dt.datetime, actor: str = "cli"
) -> ConsoleUser:
    """A new password (checked like a new user's); it also lifts a lock-out."""
    check_password(password)
    user = find_user(session, email)
    user.password_hash = hasher().hash(password)
    user.failed_logins, user.locked_until = 0, None
    audit.record(session, actor, "user.set_password", f"user:{user.id}", None, now)
    return user


def authenticate(
    session: Session, email: str, password: str, ip: str, now: dt.datetime
) -> LoginResult:
    """Check a login attempt, update the account's failure count or lock, audit it,
    and return the user on success. The caller commits whatever the result."""
    address = (email or "").strip().lower()[:254]
    user = session.scalar(select(ConsoleUser).where(ConsoleUser.email == address))
    if _ip_failures(session, ip, now) >= IP_MAX_FAILURES:
        return _failure(session, user, ip, now, "ip_limited")
    if user is not None and user.locked_until is not None:
        if user.locked_until > now:
            return _failure(session, user, ip, now, "locked")
        user.locked_until = None
        user.failed_logins = 0
    if user is None or not user.active or not _verify(user.password_hash, password):
        if user is not None and user.active:
            user.failed_logins = (user.failed_logins or 0) + 1
            if user.failed_logins >= MAX_FAILURES:
                user.locked_until = now + LOCK_FOR
        return _failure(session, user, ip, now, "refused")
    user.failed_logins = 0
    user.last_login_at = now
    if hasher().check_needs_rehash(user.password_hash):
        user.password_hash = hasher().hash(password)
    audit.record(session, user.email, "login.success", f"user:{user.id}", {"ip": ip}, now)
    return LoginResult(user, "ok")


def _verify(password_hash: str | None, password: str) -> bool:
    if not password or len(password) > MAX_PASSWORD:
        return False
    try:
        return hasher().verify(password_hash or _dummy_hash(), password)
    except (VerificationError, InvalidHashError):
        return False


def _ip_failures(session: Session, ip: str, now: dt.datetime) -> int:
    count = session.scalar(
        select(func.count())
        .select_from(AuditLog)
        .where(
            AuditLog.action == "login.failure",
            AuditLog.actor == f"ip:{ip}",
            AuditLog.at > now - IP_WINDOW,
        )
    )
    return count or 0


def _failure(
    session: Session, user: ConsoleUser | None, ip: str, now: dt.datetime, reason: LoginReason
) -> LoginResult:
    if user is None:
        _verify(None, "x")  # same work as for a real account
    target = f"user:{user.id}" if user is not None else "unknown account"
    details: dict[str, str | int] = {"reason": reason}
    if user is not None:
        details |= {"email": user.email, "failures": user.failed_logins}
        if user.locked_until is not None and user.locked_until > now:
            details["locked_until"] = user.locked_until.isoformat()
    audit.record(session, f"ip:{ip}", "login.failure", target, details, now)
    return LoginResult(None, reason)
