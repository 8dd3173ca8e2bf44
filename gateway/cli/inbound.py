"""`inbound` commands: handle stored SMS once or in a loop, list and retry dead ones."""

from __future__ import annotations

import logging

import click

from gateway.cli.command_logging import log_to_stderr
from gateway.cli.errors import Commands
from gateway.cli.worker_loop import run_until_signalled, worker_id
from gateway.db import transaction
from gateway.runtime import current_runtime
from gateway.services.intake.inbound_queue import backlog, dead_inbound, retry_dead_inbound
from gateway.services.intake.worker import handle_due

log = logging.getLogger(__name__)

inbound_group = Commands("inbound", help="The queue of stored SMS waiting to be handled.")


@inbound_group.command("handle")
def inbound_handle() -> None:
    """Handle what is due now (one batch) and print a summary."""
    rt = current_runtime()
    summary = handle_due(rt, rt.now(), worker_id=worker_id())
    click.echo(str(summary))


@inbound_group.command("work")
@click.option("--interval", default=1.0, show_default=True, help="Seconds between passes.")
def inbound_work(interval: float) -> None:
    """Handle stored SMS until SIGTERM or Ctrl-C (the Procfile's inbound process)."""
    log_to_stderr()
    rt = current_runtime()
    run_until_signalled(
        "inbound", interval, lambda worker: handle_due(rt, rt.now(), worker_id=worker).claimed
    )


@inbound_group.command("status")
def inbound_status() -> None:
    """How many stored SMS wait, are being handled, or are dead."""
    with current_runtime().sessions() as session:
        counts = backlog(session)
    click.echo(", ".join(f"{name} {count}" for name, count in counts.items()))


@inbound_group.command("dead")
@click.option("--limit", default=100, show_default=True, type=click.IntRange(1, 10000))
def inbound_dead(limit: int) -> None:
    """List SMS whose handling kept failing: id, received, provider, attempts, error."""
    with current_runtime().sessions() as session:
        rows = dead_inbound(session, limit)
    if not rows:
        click.echo("no dead inbound SMS")
    for d in rows:
        click.echo(
            f"{d.id}\t{d.received_at:%Y-%m-%d %H:%M}Z\t{d.provider}\t{d.attempts}\t"
            f"{d.last_error or '-'}"
        )


@inbound_group.command("retry")
@click.argument("inbound_id", metavar="ID", type=int)
def inbound_retry(inbound_id: int) -> None:
    """Put dead inbound SMS ID back in the queue, with a fresh round of attempts."""
    rt = current_runtime()
    with transaction(rt.sessions) as session:
        moved = retry_dead_inbound(session, inbound_id, rt.now())
    if not moved:
        raise click.ClickException(
            f"inbound SMS {inbound_id} is not dead, or its payload is gone (see `inbound dead`)"
        )
    click.echo(f"inbound SMS {inbound_id} is queued again")
