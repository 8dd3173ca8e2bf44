"""Login, lockout, sessions and the audit of each attempt."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Literal

import pytest
from argon2 import PasswordHasher
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.db import transaction
from gateway.models import AuditLog, ConsoleUser, Role
from gateway.runtime import Runtime
from gateway.services.admin import auth
from tests.conftest import Clock
from tests.console.conftest import PASSWORD, add_user, login


def _audit(rt: Runtime) -> list[AuditLog]:
    with rt.sessions() as session:
        return list(session.scalars(select(AuditLog).order_by(AuditLog.id)))


def test_anonymous_visitors_are_sent_to_login(client: FlaskClient) -> None:
    for path in ("/console/", "/console/alerts", "/console/committees", "/console/audit"):
        response = client.get(path)
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/console/login?next=")


def test_login_opens_a_session_and_audits_it(client: FlaskClient, rt: Runtime) -> None:
    user = add_user(rt, Role.ADMIN)
    response = login(client, user.email)
    assert response.status_code == 302
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Expires=" in cookie
    assert client.get("/console/alerts").status_code == 200
    [row] = _audit(rt)
    assert (row.actor, row.action) == (user.email, "login.success")
    assert PASSWORD not in str(row.details)


def test_a_wrong_password_is_refused_and_audited_without_it(
    client: FlaskClient, rt: Runtime
) -> None:
    user = add_user(rt, Role.ANALYST)
    response = login(client, user.email, "wrong password!")
    assert response.status_code == 401
    assert client.get("/console/alerts").status_code == 302
    [row] = _audit(rt)
    assert row.action == "login.failure" and row.target == f"user:{user.id}"
    assert "wrong password" not in str(row.details) + str(row.target)


def test_an_unknown_account_is_not_written_in_the_audit(client: FlaskClient, rt: Runtime) -> None:
    login(client, "my secret password typed here")
    [row] = _audit(rt)
    assert row.target == "unknown account" and "secret" not in str(row.details)


def test_five_failures_lock_the_account_for_15_minutes(
    client: FlaskClient, rt: Runtime, clock: Clock
) -> None:
    user = add_user(rt, Role.ADMIN)
    for _ in range(5):
        assert login(client, user.email, "not the password").status_code == 401
    assert login(client, user.email).status_code == 401  # right password, still locked
    clock.advance(minutes=14)
    assert login(client, user.email).status_code == 401
    clock.advance(minutes=2)
    assert login(client, user.email).status_code == 302
    with rt.sessions() as session:
        row = session.get(ConsoleUser, user.id)
        assert row is not None and row.failed_logins == 0 and row.locked_until is None


def test_a_success_resets_the_failure_count(client: FlaskClient, rt: Runtime) -> None:
    user = add_user(rt, Role.ADMIN)
    for _ in range(4):
        login(client, user.email, "not the password")
    assert login(client, user.email).status_code == 302
    for _ in range(4):
        login(client, user.email, "not the password")
    assert login(client, user.email).status_code == 302


def test_an_address_failing_too_often_is_refused(
    client: FlaskClient, rt: Runtime, clock: Clock
) -> None:
    user = add_user(rt, Role.ADMIN)
    for n in range(auth.IP_MAX_FAILURES):
        login(client, f"nobody{n}@example.org", "guess")
    response = login(client, user.email)
    assert response.status_code == 401
    clock.advance(minutes=16)
    assert login(client, user.email).status_code == 302


def test_an_inactive_user_cannot_log_in_and_is_logged_out(app: Flask, rt: Runtime) -> None:
    user = add_user(rt, Role.ADMIN)
    client = app.test_client()
    login(client, user.email)
    with rt.sessions.begin() as session:
        row = session.get(ConsoleUser, user.id)
        assert row is not None
        row.active = False
    assert client.get("/console/alerts").status_code == 302
    assert login(client, user.email).status_code == 401


def test_logout_ends_the_session(client: FlaskClient, rt: Runtime) -> None:
    user = add_user(rt, Role.ADMIN)
    login(client, user.email)
    assert client.post("/console/logout").status_code == 302
    assert client.get("/console/alerts").status_code == 302
    assert [r.action for r in _audit(rt)] == ["login.success", "logout"]


def test_login_goes_back_to_the_asked_console_page_only(client: FlaskClient, rt: Runtime) -> None:
    user = add_user(rt, Role.ADMIN)
    data = {"email": user.email, "password": PASSWORD, "next": "/console/incidents"}
    assert client.post("/console/login", data=data).headers["Location"] == "/console/incidents"
    client.post("/console/logout")
    data["next"] = "https://evil.example/console"
    assert client.post("/console/login", data=data).headers["Location"] == "/console/"


def test_passwords_are_stored_as_argon2id(rt: Runtime) -> None:
    user = add_user(rt, Role.ADMIN)
    assert user.password_hash.startswith("$argon2id$")
    assert PASSWORD not in user.password_hash


class CountingHasher(PasswordHasher):
    """The tests' cheap Argon2id, counting verifications against real accounts'
    hashes and against the dummy hash."""

    def __init__(self) -> None:
        super().__init__(time_cost=1, memory_cost=1024, parallelism=1)
        self.real = 0
        self.dummy = 0

    def verify(self, hash: str | bytes, password: str | bytes) -> Literal[True]:
        if hash == auth._dummy_hash():
            self.dummy += 1
        else:
            self.real += 1
        return super().verify(hash, password)


def test_every_attempt_costs_one_hash_whatever_the_account(
    app: Flask, rt: Runtime, monkeypatch: pytest.MonkeyPatch, clock: Clock
) -> None:
    counting = CountingHasher()
    monkeypatch.setattr(auth, "hasher", lambda: counting)
    auth._dummy_hash.cache_clear()
    active = add_user(rt, Role.ADMIN)
    gone = add_user(rt, Role.ANALYST)
    with transaction(rt.sessions) as session:
        auth.set_active(session, gone.email, False, rt.now())
    client = app.test_client()
    cases = [
        (active.email, "not the password"),  # a wrong password
        ("nobody@example.org", PASSWORD),  # no such account
        (gone.email, PASSWORD),  # a deactivated account
    ]
    cases += [(active.email, "not the password")] * 4  # the 5th failure locks
    cases += [(active.email, PASSWORD)]  # locked
    for n, (email, password) in enumerate(cases, start=1):
        assert login(client, email, password).status_code == 401
        assert counting.real + counting.dummy == n, (email, password)
    for n in range(auth.IP_MAX_FAILURES):
        login(client, f"nobody{n}@example.org", "guess")
    before = counting.real + counting.dummy
    assert login(client, active.email, PASSWORD).status_code == 401  # address limited
    assert counting.real + counting.dummy == before + 1
    auth._dummy_hash.cache_clear()


def _copied_session(app: Flask, client: FlaskClient) -> FlaskClient:
    cookie = client.get_cookie("session")
    assert cookie is not None
    thief = app.test_client()
    thief.set_cookie("session", cookie.value)
    return thief


def test_a_copied_session_cookie_dies_at_logout(app: Flask, rt: Runtime) -> None:
    user = add_user(rt, Role.ADMIN)
    client = app.test_client()
    assert login(client, user.email).status_code == 302
    thief = _copied_session(app, client)
    assert thief.get("/console/alerts").status_code == 200
    client.post("/console/logout")
    assert thief.get("/console/alerts").status_code == 302


@pytest.mark.parametrize(
    "change",
    [
        lambda s, email, now: auth.set_password(s, email, "another long password", now),
        lambda s, email, now: auth.set_active(s, email, False, now),
        lambda s, email, now: auth.set_role(s, email, Role.ANALYST, now),
    ],
    ids=["password change", "deactivation", "role change"],
)
def test_sessions_end_when_the_account_changes(
    app: Flask, rt: Runtime, change: Callable[[Session, str, dt.datetime], object]
) -> None:
    user = add_user(rt, Role.ADMIN)
    client = app.test_client()
    assert login(client, user.email).status_code == 302
    with transaction(rt.sessions) as session:
        change(session, user.email, rt.now())
    assert client.get("/console/alerts").status_code == 302


@pytest.mark.parametrize("bad", ["/console/\r\nSet-Cookie: x=1", "/console/\n", "/console\x00"])
def test_control_characters_in_next_are_ignored(client: FlaskClient, rt: Runtime, bad: str) -> None:
    user = add_user(rt, Role.ADMIN)
    data = {"email": user.email, "password": PASSWORD, "next": bad}
    response = client.post("/console/login", data=data)
    assert (response.status_code, response.headers["Location"]) == (302, "/console/")
    response = client.get("/console/login", query_string={"next": bad})
    assert (response.status_code, response.headers["Location"]) == (302, "/console/")
