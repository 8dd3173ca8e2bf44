"""Console users: Argon2id password hashes and a login that resists guessing.

An account is locked for 15 minutes after 5 failures in a row; an address (IP) that
fails 20 times within a 15-minute window is refused for everyone until the window
ends. Both counts live in the database (the account row, `login_addresses`) and are
counted by atomic updates, so they hold across web workers and concurrent attempts.
Every attempt is audited, without the password; a failed attempt names the account
only when it exists, because people sometimes type their password into the e-mail
field.

A process checks at most VERIFY_SLOTS passwords at once (each check holds 64 MiB for
its duration): a login that gets no slot within SLOT_WAIT is answered "busy" (the
console asks to try again) before anything is counted or checked.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import and_, case, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from gateway.db import transaction
from gateway.domain.text import CONSOLE_LANGUAGES
from gateway.models import Committee, ConsoleUser, LoginAddress, Role
from gateway.services import audit

MIN_PASSWORD = 10
MAX_PASSWORD = 1024
MAX_FAILURES = 5
LOCK_FOR = dt.timedelta(minutes=15)
IP_MAX_FAILURES = 20
IP_WINDOW = dt.timedelta(minutes=15)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# Two checks at once cost a worker 128 MiB at most; a login waits this long for a turn.
VERIFY_SLOTS = 2
SLOT_WAIT = 3.0  # seconds
SLOTS_CACHE = "login_verify_slots"

LoginReason = Literal["ok", "refused", "locked", "ip_limited", "busy"]


class UserError(ValueError):
    """A user cannot be created as asked; the message says why."""


@dataclass(frozen=True)
class LoginResult:
    user: ConsoleUser | None
    reason: LoginReason

    @property
    def ok(self) -> bool:
        return self.user is not None and self.reason == "ok"


class VerifySlots:
    """At most `size` password checks at once in this process (one per Runtime, shared
    by its threads); a login waits up to `wait` seconds for a turn."""

    def __init__(self, size: int = VERIFY_SLOTS, wait: float = SLOT_WAIT) -> None:
        self._slots = threading.BoundedSemaphore(size) if size > 0 else threading.Semaphore(0)
        self.wait = wait

    @contextlib.contextmanager
    def turn(self) -> Iterator[bool]:
        """Whether a slot was free within `wait`; it is held until the block ends."""
        got = self._slots.acquire(timeout=self.wait)
        try:
            yield got
        finally:
            if got:
                self._slots.release()


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
        if not active:
            end_sessions(session, user.id)  # a copied cookie dies with the account
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
    end_sessions(session, user.id)  # whoever held the old password is logged out
    return user


def authenticate(
    sessions: sessionmaker[Session],
    email: str,
    password: str,
    ip: str,
    now: dt.datetime,
    slots: VerifySlots | None = None,
) -> LoginResult:
    """Check a login attempt, update the account's failure count or lock, audit it,
    and return the user on success. Commits its own short transactions. With `slots`,
    it waits its turn first; without one in time it is "busy": nothing counted,
    checked nor audited (no guess was made).

    Each attempt first takes its place in the counts with one atomic UPDATE (per
    address, then per account), committed before the password is checked, and only
    an attempt whose place is within the limits is checked against the hash:
    concurrent guesses cannot all be checked before one of them is counted, and no
    lock is held during the slow hash. Every attempt costs one hash verification,
    whatever the account's state, so timing tells nothing about which accounts exist
    or are locked.
    """
    if slots is None:
        return _authenticate(sessions, email, password, ip, now)
    with slots.turn() as got:
        if not got:
            return LoginResult(None, "busy")
        return _authenticate(sessions, email, password, ip, now)


def _authenticate(
    sessions: sessionmaker[Session], email: str, password: str, ip: str, now: dt.datetime
) -> LoginResult:
    address = (email or "").strip().lower()[:254]
    with transaction(sessions) as session:
        user = session.scalar(select(ConsoleUser).where(ConsoleUser.email == address))
        reason: LoginReason | None = None
        if _count_address(session, ip, now) > IP_MAX_FAILURES:
            reason = "ip_limited"
        elif user is None or not user.active:
            reason = "refused"
        else:
            place, locked = _count_account(session, user.id, now)
            if locked or place > MAX_FAILURES:
                reason = "locked"
    if reason is not None or user is None:
        _verify(None, password)
        with transaction(sessions) as session:
            if reason == "locked" and user is not None:
                _lock(session, user.id, now)
            return _failure(session, user, ip, now, reason or "refused")
    ok = _verify(user.password_hash, password)
    with transaction(sessions) as session:
        if not ok:
            if place >= MAX_FAILURES:
                _lock(session, user.id, now)
            return _failure(session, user, ip, now, "refused")
        return _success(session, user.id, password, ip, now)


def _success(
    session: Session, user_id: int, password: str, ip: str, now: dt.datetime
) -> LoginResult:
    _forget_address_failure(session, ip)
    session.execute(
        update(ConsoleUser)
        .where(ConsoleUser.id == user_id)
        .values(failed_logins=0, locked_until=None, last_login_at=now)
        .execution_options(synchronize_session=False)
    )
    user = _user(session, user_id)
    session.refresh(user)
    if hasher().check_needs_rehash(user.password_hash):
        user.password_hash = hasher().hash(password)
    audit.record(session, user.email, "login.success", f"user:{user.id}", {"ip": ip}, now)
    return LoginResult(user, "ok")


def _count_account(session: Session, user_id: int, now: dt.datetime) -> tuple[int, bool]:
    """Count one more attempt on the account (a lock that has run out starts the count
    again); the attempt's place in the count and whether the account is locked."""
    expired = and_(ConsoleUser.locked_until.is_not(None), ConsoleUser.locked_until <= now)
    row = session.execute(
        update(ConsoleUser)
        .where(ConsoleUser.id == user_id)
        .values(
            failed_logins=case((expired, 1), else_=ConsoleUser.failed_logins + 1),
            locked_until=case((expired, None), else_=ConsoleUser.locked_until),
        )
        .returning(ConsoleUser.failed_logins, ConsoleUser.locked_until)
        .execution_options(synchronize_session=False)
    ).one()
    locked_until: dt.datetime | None = row.locked_until
    return int(row.failed_logins), locked_until is not None and locked_until > now


def _lock(session: Session, user_id: int, now: dt.datetime) -> None:
    session.execute(
        update(ConsoleUser)
        .where(ConsoleUser.id == user_id, ConsoleUser.locked_until.is_(None))
        .values(locked_until=now + LOCK_FOR)
        .execution_options(synchronize_session=False)
    )


def _count_address(session: Session, ip: str, now: dt.datetime) -> int:
    """Count one more attempt from the address in its 15-minute window (a window
    that has run out starts again); the attempt's place in the count. An atomic
    upsert, so concurrent attempts each get their own place."""
    values = {"address": ip[:64], "failures": 1, "window_start": now}
    stale = LoginAddress.window_start <= now - IP_WINDOW
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = (
        insert(LoginAddress)
        .values(values)
        .on_conflict_do_update(
            index_elements=[LoginAddress.address],
            set_={
                "failures": case((stale, 1), else_=LoginAddress.failures + 1),
                "window_start": case((stale, now), else_=LoginAddress.window_start),
            },
        )
        .returning(LoginAddress.failures)
    )
    return int(session.execute(stmt).scalar_one())


def _forget_address_failure(session: Session, ip: str) -> None:
    # A success is not a failure of the address: give its place back.
    session.execute(
        update(LoginAddress)
        .where(LoginAddress.address == ip[:64], LoginAddress.failures > 0)
        .values(failures=LoginAddress.failures - 1)
        .execution_options(synchronize_session=False)
    )


def _verify(password_hash: str | None, password: str) -> bool:
    """One Argon2 verification, against the dummy hash when there is no account to
    check, so every attempt spends the same work."""
    candidate = password if password and len(password) <= MAX_PASSWORD else "x"
    try:
        ok = hasher().verify(password_hash or _dummy_hash(), candidate)
    except (VerificationError, InvalidHashError):
        return False
    return ok and password_hash is not None and candidate == password


def _failure(
    session: Session, user: ConsoleUser | None, ip: str, now: dt.datetime, reason: LoginReason
) -> LoginResult:
    target = f"user:{user.id}" if user is not None else "unknown account"
    details: dict[str, str | int] = {"reason": reason}
    if user is not None:
        user = _user(session, user.id)
        session.refresh(user)
        details |= {"email": user.email, "failures": user.failed_logins}
        if user.locked_until is not None and user.locked_until > now:
            details["locked_until"] = user.locked_until.isoformat()
    audit.record(session, f"ip:{ip}", "login.failure", target, details, now)
    return LoginResult(None, reason)


def end_sessions(session: Session, user_id: int) -> None:
    """Make every session cookie of the user stop working (logout, a password or
    role change, deactivation): the version they carry no longer matches."""
    session.execute(
        update(ConsoleUser)
        .where(ConsoleUser.id == user_id)
        .values(session_version=ConsoleUser.session_version + 1)
        .execution_options(synchronize_session=False)
    )


def _user(session: Session, user_id: int) -> ConsoleUser:
    user = session.get(ConsoleUser, user_id)
    if user is None:
        raise UserError(f"no user {user_id}")
    return user


def set_role(
    session: Session, email: str, role: Role | str, now: dt.datetime, actor: str = "cli"
) -> ConsoleUser:
    """Make an admin an analyst or back (not to or from committee, which needs a
    committee); audited; the user's open sessions end, so the new role applies at once."""
    try:
        role = Role(role)
    except ValueError as exc:
        raise UserError(f"role must be one of {', '.join(r.value for r in Role)}") from exc
    user = find_user(session, email)
    if Role.COMMITTEE in (role, user.role) and role != user.role:
        raise UserError("a committee user's role cannot be changed; create another user")
    if user.role != role:
        details = {"from": user.role.value, "to": role.value}
        user.role = role
        audit.record(session, actor, "user.set_role", f"user:{user.id}", details, now)
        end_sessions(session, user.id)
    return user
