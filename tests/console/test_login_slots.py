"""A process verifies at most a few passwords at once (an Argon2id check holds 64 MiB):
a login that finds no free slot soon is asked to try again, never a 500."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Literal

import pytest
from argon2 import PasswordHasher
from flask.testing import FlaskClient
from sqlalchemy import select

from gateway.models import ConsoleUser
from gateway.models.people import Role
from gateway.runtime import Runtime
from gateway.services.admin import auth
from gateway.services.admin.auth import LoginResult, VerifySlots, authenticate
from tests.console.conftest import PASSWORD, add_user, login

SLOTS = 2


class HeldHasher(PasswordHasher):
    """Argon2id at small costs whose every check waits until the test lets it go,
    counting how many are in flight at once."""

    def __init__(self) -> None:
        super().__init__(time_cost=1, memory_cost=1024, parallelism=1)
        self.lock = threading.Lock()
        self.in_flight = self.most = self.checks = 0
        self.entered = threading.Semaphore(0)
        self.go = threading.Event()

    def verify(self, hash: str | bytes, password: str | bytes) -> Literal[True]:
        with self.lock:
            self.in_flight += 1
            self.checks += 1
            self.most = max(self.most, self.in_flight)
        self.entered.release()
        try:
            assert self.go.wait(timeout=30)
            return super().verify(hash, password)
        finally:
            with self.lock:
                self.in_flight -= 1


@pytest.fixture
def held(monkeypatch: pytest.MonkeyPatch) -> HeldHasher:
    hasher = HeldHasher()
    monkeypatch.setattr(auth, "hasher", lambda: hasher)
    auth._dummy_hash.cache_clear()
    auth._dummy_hash()  # made now, not inside a counted check
    return hasher


def failures(rt: Runtime, email: str) -> int:
    with rt.sessions() as session:
        return int(
            session.scalar(select(ConsoleUser.failed_logins).where(ConsoleUser.email == email)) or 0
        )


def test_a_login_without_a_free_slot_is_busy_and_not_counted(rt: Runtime, held: HeldHasher) -> None:
    user = add_user(rt, Role.ADMIN)
    slots = VerifySlots(SLOTS, wait=0.01)  # how long a login waits; nothing is timed

    def attempt(password: str) -> LoginResult:
        return authenticate(rt.sessions, user.email, password, "10.0.0.1", rt.now(), slots)

    with ThreadPoolExecutor(SLOTS) as pool:
        running = [pool.submit(attempt, PASSWORD) for _ in range(SLOTS)]
        for _ in range(SLOTS):
            assert held.entered.acquire(timeout=30)  # both slots are in their checks
        checks_before = held.checks
        busy = attempt("a wrong password")
        held.go.set()
        results = [future.result(timeout=30) for future in running]
    assert busy == LoginResult(None, "busy")
    assert held.checks == checks_before  # no hash was checked for it
    assert all(result.ok for result in results)
    assert held.most == SLOTS
    assert failures(rt, user.email) == 0  # a busy login is no failure of the account


def test_many_logins_at_once_never_check_more_than_the_slots(rt: Runtime, held: HeldHasher) -> None:
    user = add_user(rt, Role.ADMIN)
    slots = VerifySlots(SLOTS, wait=30)  # every login waits for its turn here
    start = threading.Barrier(8)

    def attempt(_: int) -> LoginResult:
        start.wait(timeout=30)
        return authenticate(rt.sessions, user.email, PASSWORD, "10.0.0.2", rt.now(), slots)

    with ThreadPoolExecutor(8) as pool:
        running = [pool.submit(attempt, n) for n in range(8)]
        assert held.entered.acquire(timeout=30)
        held.go.set()
        results = [future.result(timeout=60) for future in running]
    assert all(result.ok for result in results)
    assert held.most <= SLOTS


def test_the_login_page_says_try_again_when_no_slot_is_free(
    client: FlaskClient, rt: Runtime
) -> None:
    user = add_user(rt, Role.ADMIN)
    rt.cached(auth.SLOTS_CACHE, lambda: VerifySlots(0, wait=0))  # never a free slot
    response = login(client, user.email)
    assert response.status_code == 503
    assert response.headers["Retry-After"]
    page = response.get_data(as_text=True)
    assert "Serveur occupé" in page
    assert client.get("/console/alerts").status_code == 302
