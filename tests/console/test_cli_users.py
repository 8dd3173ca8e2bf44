"""`flask users create`."""

from __future__ import annotations

from flask import Flask
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
