"""`db` and `gazetteer` commands."""

from __future__ import annotations

import click

from gateway import migrate
from gateway.cli.errors import Commands
from gateway.gazetteer.load import GazetteerError, gazetteer_is_empty, load_gazetteer
from gateway.runtime import Runtime, current_runtime

db_group = Commands("db", help="Schema migrations (Alembic, in migrations/).")
gazetteer_group = Commands("gazetteer", help="Mali's localities.")


@db_group.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision: str) -> None:
    """Bring the schema up to date; load the gazetteer into an empty database."""
    rt = current_runtime()
    migrate.upgrade(rt.engine, revision)
    click.echo(f"schema at {revision}")
    if revision == "head" and gazetteer_is_empty(rt.sessions):
        _load(rt)


@db_group.command("downgrade")
@click.option("--revision", default="base", show_default=True)
def db_downgrade(revision: str) -> None:
    """Undo migrations down to REVISION (base removes every table)."""
    migrate.downgrade(current_runtime().engine, revision)
    click.echo(f"schema at {revision}")


@db_group.command("revision")
@click.option("-m", "--message", required=True)
def db_revision(message: str) -> None:
    """Autogenerate a migration from the models (developers)."""
    migrate.revision(current_runtime().engine, message)


@gazetteer_group.command("load")
def gazetteer_load() -> None:
    """Load or refresh the localities and places shipped with the gateway."""
    _load(current_runtime())


def _load(rt: Runtime) -> None:
    try:
        summary = load_gazetteer(rt.sessions)
    except GazetteerError as exc:
        raise click.ClickException(str(exc)) from exc
    rt.forget("gazetteer")
    click.echo("gazetteer: " + ", ".join(f"{n} {kind}" for kind, n in sorted(summary.items())))


keys_group = Commands("keys", help="Key rotation (see README: Rotating keys).")


@keys_group.command("rotate-data")
def keys_rotate_data() -> None:
    """Re-encrypt every stored number and free text under DATA_KEY (old values are read
    with DATA_KEY_PREVIOUS); then DATA_KEY_PREVIOUS can be removed."""
    from gateway.services.upkeep.keys import rotate_data_key

    click.echo(f"re-encrypted {rotate_data_key(current_runtime())} values")
