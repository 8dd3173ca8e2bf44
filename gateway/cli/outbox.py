"""`outbox` commands: dispatch once, run the worker, list and retry dead letters."""

from __future__ import annotations

import logging

import click

from gateway.cli.command_logging import log_to_stderr
from gateway.cli.errors import Commands
from gateway.cli.worker_loop import run_until_signalled, worker_id
from gateway.db import transaction
from gateway.runtime import current_runtime
from gateway.services.outbox.dispatch import dispatch_all_due, dispatch_due
from gateway.services.outbox.queue import dead_letters, retry_dead

log = logging.getLogger(__name__)

outbox_group = Commands("outbox", help="The outbox of SMS the gateway sends.")


@outbox_group.command("dispatch")
def outbox_dispatch() -> None:
    """Send everything that is due now, batch after batch, and print the totals."""
    rt = current_runtime()
    summary = dispatch_all_due(rt, rt.now(), worker_id=worker_id())
    click.echo(str(summary))


@outbox_group.command("work")
@click.option("--interval", default=2.0, show_default=True, help="Seconds between passes.")
def outbox_work(interval: float) -> None:
    """Dispatch until SIGTERM or Ctrl-C (the Procfile's worker process)."""
    log_to_stderr()
    rt = current_runtime()
    run_until_signalled(
        "outbox", interval, lambda worker: dispatch_due(rt, rt.now(), worker_id=worker).claimed
    )


@outbox_group.command("dead")
@click.option("--limit", default=100, show_default=True, type=click.IntRange(1, 10000))
def outbox_dead(limit: int) -> None:
    """List dead letters: id, created, purpose, masked number, attempts, last error."""
    with current_runtime().sessions() as session:
        letters = dead_letters(session, limit)
    if not letters:
        click.echo("no dead letters")
        return
    for d in letters:
        note = "" if d.can_retry else " [number erased: cannot retry]"
        click.echo(
            f"{d.id}\t{d.created_at:%Y-%m-%d %H:%M}Z\t{d.purpose}\t{d.recipient_hint}\t"
            f"{d.attempts}\t{d.last_error or '-'}{note}"
        )


@outbox_group.command("retry")
@click.argument("outbox_id", metavar="ID", type=int)
def outbox_retry(outbox_id: int) -> None:
    """Move dead letter ID back to pending, with a fresh round of attempts."""
    rt = current_runtime()
    with transaction(rt.sessions) as session:
        moved = retry_dead(session, outbox_id, rt.now())
    if not moved:
        raise click.ClickException(
            f"message {outbox_id} is not a dead letter that can be retried (see `outbox dead`)"
        )
    click.echo(f"message {outbox_id} is pending again")
