"""`users` commands: create, list, deactivate console users, set their password or
role (a password is asked, never an option). Deactivating, a new password and a new
role end every open session of the user."""

from __future__ import annotations

import click

from gateway.cli.errors import Commands, said_clearly
from gateway.db import transaction
from gateway.domain.text import CONSOLE_LANGUAGES
from gateway.models import Role
from gateway.runtime import current_runtime
from gateway.services import audit
from gateway.services.admin.auth import (
    UserError,
    check_password,
    create_user,
    list_users,
    normalize_email,
    set_active,
    set_password,
    set_role,
)

users_group = Commands("users", help="Console users (admins, analysts, committee members).")


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
    with said_clearly(UserError):
        normalize_email(email)  # before asking for a password that would be wasted
    password: str = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    with said_clearly(UserError):
        check_password(password)
    rt = current_runtime()
    with said_clearly(UserError), transaction(rt.sessions) as session:
        user = create_user(session, email, password, role, rt.now(), committee_id, language)
        audit.record(session, "cli", "user.create", f"user:{user.id}", {"role": role}, rt.now())
        user_id, address = user.id, user.email
    click.echo(f"created user {user_id} <{address}> with role {role}")


@users_group.command("list")
def users_list() -> None:
    """Every console user: id, e-mail, role, committee, state, last login."""
    rt = current_runtime()
    with rt.sessions() as session:
        users = list_users(session)
        for u in users:
            committee = f"committee {u.committee_id}" if u.committee_id else "-"
            state = "active" if u.active else "deactivated"
            if u.locked_until is not None and u.locked_until > rt.now():
                state += ", locked"
            last = f"{u.last_login_at:%Y-%m-%d %H:%M}" if u.last_login_at else "never logged in"
            click.echo(f"{u.id}\t{u.email}\t{u.role.value}\t{committee}\t{state}\t{last}")
    if not users:
        click.echo("no users")


@users_group.command("deactivate")
@click.option("--email", required=True, help="The user's e-mail.")
def users_deactivate(email: str) -> None:
    """Stop a user from logging in (kept for the audit log)."""
    _set_active(email, False)


@users_group.command("activate")
@click.option("--email", required=True, help="The user's e-mail.")
def users_activate(email: str) -> None:
    """Let a deactivated user log in again."""
    _set_active(email, True)


def _set_active(email: str, active: bool) -> None:
    rt = current_runtime()
    with said_clearly(UserError), transaction(rt.sessions) as session:
        address = set_active(session, email, active, rt.now()).email
    click.echo(f"user <{address}> {'active' if active else 'deactivated'}")


@users_group.command("set-password")
@click.option("--email", required=True, help="The user's e-mail.")
def users_set_password(email: str) -> None:
    """Give a user a new password (asked twice); it also lifts a lock-out."""
    password: str = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    rt = current_runtime()
    with said_clearly(UserError), transaction(rt.sessions) as session:
        address = set_password(session, email, password, rt.now()).email
    click.echo(f"password changed for <{address}>")


@users_group.command("set-role")
@click.option("--email", required=True, help="The user's e-mail.")
@click.option("--role", required=True, type=click.Choice([Role.ADMIN.value, Role.ANALYST.value]))
def users_set_role(email: str, role: str) -> None:
    """Make an admin an analyst or back; the user's open sessions end."""
    rt = current_runtime()
    with said_clearly(UserError), transaction(rt.sessions) as session:
        address = set_role(session, email, role, rt.now()).email
    click.echo(f"<{address}> is now {role}")
