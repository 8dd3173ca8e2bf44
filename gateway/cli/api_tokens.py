"""`api-tokens` commands: make, list and revoke the read-only API's bearer tokens.
A token is printed once when made; only its SHA-256 is kept."""

from __future__ import annotations

import click
from sqlalchemy import select

from gateway.api.tokens import ROLES, create_token, revoke
from gateway.cli.errors import Commands
from gateway.db import transaction
from gateway.models import ApiToken, Role
from gateway.runtime import current_runtime
from gateway.services import audit

api_tokens_group = Commands("api-tokens", help="Bearer tokens for the read-only JSON API.")


@api_tokens_group.command("create")
@click.option("--name", required=True, help="Who or what uses the token (a partner, a system).")
@click.option(
    "--role",
    required=True,
    type=click.Choice([r.value for r in ROLES]),
    help="analyst: aggregates suppressed under k reporters; admin: everything.",
)
def api_tokens_create(name: str, role: str) -> None:
    """Make a token and print it once: store it now, it cannot be shown again."""
    name = name.strip()
    if not name or len(name) > 120:
        raise click.ClickException("the name must be 1 to 120 characters")
    rt = current_runtime()
    with transaction(rt.sessions) as session:
        row, token = create_token(session, name, Role(role), rt.now())
        details = {"name": name, "role": role}
        audit.record(session, "cli", "api_token.create", f"api_token:{row.id}", details, rt.now())
        token_id = row.id
    click.echo(f"created API token {token_id} ({name}, {role}); it is shown only this once:")
    click.echo(token)


@api_tokens_group.command("list")
def api_tokens_list() -> None:
    """Every token: id, name, role, created, revoked (never the token)."""
    with current_runtime().sessions() as session:
        rows = session.scalars(select(ApiToken).order_by(ApiToken.id)).all()
    for r in rows:
        revoked = f"revoked {r.revoked_at:%Y-%m-%d}" if r.revoked_at else "active"
        click.echo(f"{r.id}\t{r.name}\t{r.role.value}\t{r.created_at:%Y-%m-%d}\t{revoked}")


@api_tokens_group.command("revoke")
@click.argument("token_id", type=int)
def api_tokens_revoke(token_id: int) -> None:
    """Revoke token TOKEN_ID: it is refused (401) from now on."""
    rt = current_runtime()
    with transaction(rt.sessions) as session:
        if not revoke(session, token_id, rt.now()):
            raise click.ClickException(f"no active API token with id {token_id}")
        audit.record(session, "cli", "api_token.revoke", f"api_token:{token_id}", None, rt.now())
    click.echo(f"revoked API token {token_id}")
