"""Login, lockout, sessions and the audit of each attempt."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

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
