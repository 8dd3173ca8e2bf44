"""`users` commands: create console users (the password is asked, never an option)."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from gateway.db import DB_UNAVAILABLE, transaction
from gateway.domain.text import CONSOLE_LANGUAGES
from gateway.models import Role
from gateway.runtime import Runtime, current_runtime
from gateway.services import audit
from gateway.services.admin.auth import (
    UserError,
    check_password,
    create_user,
    normalize_email,
)

users_group = AppGroup("users", help="Console users (admins, analysts, committee members).")


def _runtime() -> Runtime:
    rt = current_runtime()
    return rt


@users_group.command("create")
@click.option("--email", required=True, help="The user's e-mail, used to log in.")
@click.option(
    "--role",
    required=True,
    type=click.Choice([r.value for r in Role]),
    help="admin: everything; analyst: read only; committee: its own area.",
)
@click.option("--committee", "committee_id", type=int, help="Committee id (committee role).")
@click.option(
    "--lang", "language", default="fr", show_default=True, type=click.Choice(CONSOLE_LANGUAGES)
)
def users_create(email: str, role: str, committee_id: int | None, language: str) -> None:
    """Create a console user; the password (10 characters or more) is asked twice."""
    try:
        normalize_email(email)  # before asking for a password that would be wasted
    except UserError as exc:
        raise click.ClickException(str(exc)) from exc
    password: str = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        check_password(password)
    except UserError as exc:
        raise click.ClickException(str(exc)) from exc
    rt = _runtime()
    try:
        with transaction(rt.sessions) as session:
            user = create_user(session, email, password, role, rt.now(), committee_id, language)
            audit.record(session, "cli", "user.create", f"user:{user.id}", {"role": role}, rt.now())
            user_id, address = user.id, user.email
    except UserError as exc:
        raise click.ClickException(str(exc)) from exc
    except DB_UNAVAILABLE as exc:
        raise click.ClickException("the database does not answer") from exc
    click.echo(f"created user {user_id} <{address}> with role {role}")
