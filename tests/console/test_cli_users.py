"""`flask users create`."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from gateway.cli.users import users_group
from gateway.models import AuditLog, ConsoleUser, Role
from gateway.runtime import Runtime
from tests.console.conftest import MOPTI, add_committee

GOOD = "a long enough password\na long enough password\n"


def _run(app: Flask, args: list[str], given: str = GOOD) -> tuple[int, str]:
    result = app.test_cli_runner().invoke(users_group, ["create", *args], input=given)
    return result.exit_code, result.output


def test_creates_a_user_with_the_password_asked_twice(app: Flask, rt: Runtime) -> None:
    code, output = _run(app, ["--email", "Ana@Example.org", "--role", "analyst"])
    assert code == 0, output
    assert "a long enough password" not in output
    with rt.sessions() as session:
        user = session.scalars(select(ConsoleUser)).one()
        assert (user.email, user.role) == ("ana@example.org", Role.ANALYST)
        assert session.scalars(select(AuditLog.action)).all() == ["user.create"]


def test_a_committee_user_needs_an_existing_committee(
    app: Flask, rt: Runtime, ids: dict[str, int]
) -> None:
    code, output = _run(app, ["--email", "c@example.org", "--role", "committee"])
    assert code != 0 and "committee" in output
    committee_id = add_committee(rt, ids[MOPTI])
    args = ["--email", "c@example.org", "--role", "committee", "--committee", str(committee_id)]
    assert _run(app, args)[0] == 0


def test_bad_input_is_refused_with_a_message(app: Flask, rt: Runtime) -> None:
    cases = [
        (["--email", "not-an-email", "--role", "admin"], GOOD, "e-mail"),
        (["--email", "a@example.org", "--role", "boss"], GOOD, "boss"),
        (["--email", "a@example.org", "--role", "admin"], "short\nshort\n", "10 characters"),
        (
            ["--email", "a@example.org", "--role", "admin"],
            "a long enough password\nanother long password\n" * 3,
            "do not match",
        ),
    ]
    for args, given, message in cases:
        code, output = _run(app, args, given)
        assert code != 0 and message in output, (args, output)
    with rt.sessions() as session:
        assert session.scalars(select(ConsoleUser)).all() == []


def test_an_email_already_taken_is_refused(app: Flask) -> None:
    assert _run(app, ["--email", "a@example.org", "--role", "admin"])[0] == 0
    code, output = _run(app, ["--email", "A@example.org", "--role", "analyst"])
    assert code != 0 and "already exists" in output


def _users(app: Flask, *args: str, given: str = "") -> tuple[int, str]:
    result = app.test_cli_runner().invoke(users_group, list(args), input=given)
    return result.exit_code, result.output


def test_users_are_listed_deactivated_and_given_a_new_password(
    app: Flask, rt: Runtime, client: FlaskClient
) -> None:
    assert _run(app, ["--email", "ana@example.org", "--role", "admin"])[0] == 0
    code, listing = _users(app, "list")
    assert code == 0 and "ana@example.org\tadmin\t-\tactive\tnever logged in" in listing
    assert "None" not in listing
    new = "another long password"
    email = ["--email", "ana@example.org"]
    code, output = _users(app, "set-password", *email, given=f"{new}\n{new}\n")
    assert code == 0, output
    login = {"email": "ana@example.org", "password": new}
    assert client.post("/console/login", data=login).status_code == 302
    assert _users(app, "deactivate", "--email", "ana@example.org")[0] == 0
    assert "deactivated" in _users(app, "list")[1]
    client.get("/console/logout")
    assert client.post("/console/login", data=login).status_code != 302
    assert _users(app, "deactivate", "--email", "nobody@example.org")[0] != 0
    with rt.sessions() as session:
        actions = session.scalars(select(AuditLog.action).order_by(AuditLog.id)).all()
    assert {"user.set_password", "user.deactivate"} <= set(actions)


def test_cli_changes_end_the_users_sessions(app: Flask, rt: Runtime) -> None:
    from tests.console.conftest import PASSWORD, add_user, login

    user = add_user(rt, Role.ADMIN)
    new = "another long password"
    for args, given, password in (
        (["set-password", "--email", user.email], f"{new}\n{new}\n", PASSWORD),
        (["set-role", "--email", user.email, "--role", "analyst"], "", new),
        (["deactivate", "--email", user.email], "", new),
    ):
        client = app.test_client()
        assert login(client, user.email, password).status_code == 302, args[0]
        code, output = _users(app, *args, given=given)
        assert code == 0, output
        assert client.get("/console/alerts").status_code == 302, args[0]
    with rt.sessions() as session:
        row = session.get_one(ConsoleUser, user.id)
        assert (row.role, row.active) == (Role.ANALYST, False)
        actions = session.scalars(select(AuditLog.action).order_by(AuditLog.id)).all()
    assert [a for a in actions if a.startswith("user.")] == [
        "user.set_password",
        "user.set_role",
        "user.deactivate",
    ]
