"""The login lock holds under a burst of concurrent guesses (real concurrency needs
PostgreSQL: SQLite serialises every writer)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Literal

import pytest
from argon2 import PasswordHasher

from gateway.db import transaction
from gateway.models import ConsoleUser, Role
from gateway.runtime import Runtime
from gateway.services.admin import auth
from gateway.services.admin.auth import LoginResult, authenticate, create_user

PASSWORD = "correct horse battery"
BURST = 40


class WatchedHasher(PasswordHasher):
    """Cheap Argon2id that counts checks against the account's real hash and says
    when the fifth has begun."""

    def __init__(self) -> None:
        super().__init__(time_cost=1, memory_cost=1024, parallelism=1)
        self.lock = threading.Lock()
        self.real_checks = 0
        self.fifth = threading.Event()

    def verify(self, hash: str | bytes, password: str | bytes) -> Literal[True]:
        if hash != auth._dummy_hash():
            with self.lock:
                self.real_checks += 1
                if self.real_checks >= auth.MAX_FAILURES:
                    self.fifth.set()
        return super().verify(hash, password)


@pytest.mark.postgres
def test_forty_concurrent_guesses_lock_the_account_and_the_right_password_waits(
    rt: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    watched = WatchedHasher()
    monkeypatch.setattr(auth, "hasher", lambda: watched)
    auth._dummy_hash.cache_clear()
    with transaction(rt.sessions) as session:
        user = create_user(session, "admin@example.org", PASSWORD, Role.ADMIN, rt.now())
    start = threading.Barrier(BURST)

    def guess(n: int) -> LoginResult:
        start.wait(timeout=30)
        # Each guess from its own address, as a botnet would: the account lock alone
        # must hold.
        return authenticate(rt.sessions, user.email, f"wrong {n}", f"10.0.0.{n}", rt.now())

    def right_password() -> LoginResult:
        assert watched.fifth.wait(timeout=30)  # sent while the burst is in flight
        return authenticate(rt.sessions, user.email, PASSWORD, "10.0.1.1", rt.now())

    with ThreadPoolExecutor(max_workers=BURST + 1) as pool:
        guesses = [pool.submit(guess, n) for n in range(BURST)]
        right = pool.submit(right_password)
        results = [f.result(timeout=60) for f in guesses]
        late = right.result(timeout=60)
    auth._dummy_hash.cache_clear()
    assert not any(r.ok for r in results)
    assert not late.ok and late.reason == "locked"
    assert watched.real_checks == auth.MAX_FAILURES  # only five guesses reached the hash
    with rt.sessions() as session:
        row = session.get(ConsoleUser, user.id)
        assert row is not None and row.locked_until is not None
        assert row.locked_until > rt.now()


@pytest.mark.postgres
def test_concurrent_failures_from_one_address_are_all_counted(
    rt: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    watched = WatchedHasher()
    monkeypatch.setattr(auth, "hasher", lambda: watched)
    auth._dummy_hash.cache_clear()
    start = threading.Barrier(BURST)

    def guess(n: int) -> LoginResult:
        start.wait(timeout=30)
        return authenticate(rt.sessions, f"u{n}@example.org", "guess", "10.9.9.9", rt.now())

    with ThreadPoolExecutor(max_workers=BURST) as pool:
        results = [f.result(timeout=60) for f in [pool.submit(guess, n) for n in range(BURST)]]
    auth._dummy_hash.cache_clear()
    reasons = [r.reason for r in results]
    assert reasons.count("refused") == auth.IP_MAX_FAILURES
    assert reasons.count("ip_limited") == BURST - auth.IP_MAX_FAILURES
