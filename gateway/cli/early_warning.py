"""`alerts`, `thresholds` and `clock`."""

from __future__ import annotations

import contextlib
import datetime as dt
import signal
from typing import Any

import click
from sqlalchemy import select

from gateway.cli.command_logging import log_to_stderr
from gateway.cli.errors import Commands
from gateway.db import transaction
from gateway.domain.rules import RULE_KINDS
from gateway.gazetteer.index import gazetteer
from gateway.models import Alert, AlertState
from gateway.runtime import Runtime, current_runtime
from gateway.services import audit
from gateway.services.alerts.thresholds import overrides, resolved, set_threshold

alerts_group = Commands("alerts", help="Evaluate the rules and list alerts.")
thresholds_group = Commands("thresholds", help="Rule values, nationally or per area.")


def _rt() -> Runtime:
    rt = current_runtime()
    return rt


def _as_of(value: str | None, rt: Runtime) -> dt.datetime:
    if not value:
        return rt.now()
    try:
        when = dt.datetime.fromisoformat(value)
    except ValueError as exc:
        raise click.BadParameter(f"{value!r} is not an ISO date-time") from exc
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


@alerts_group.command("evaluate")
@click.option("--as-of", "as_of", help="Evaluate as of this ISO time (default: now).")
def alerts_evaluate(as_of: str | None) -> None:
    """Run one evaluation pass (and the urgent check) now."""
    from gateway.services.alerts.engine import run_alert_cycle
    from gateway.services.alerts.urgent import check_urgent

    rt = _rt()
    now = _as_of(as_of, rt)
    summary = run_alert_cycle(rt, now, force=True)
    urgent = check_urgent(rt, now)
    if summary.skipped:
        click.echo("another evaluation is running; skipped")
        return
    click.echo(
        f"checked {summary.localities} localities: opened {len(summary.opened) + len(urgent)}"
        f" ({', '.join(summary.opened + urgent) or 'none'}), updated {summary.updated},"
        f" closed {summary.closed}, SMS queued {summary.queued_sms}"
    )


@alerts_group.command("rollup")
@click.option("--rebuild", is_flag=True, help="Build every cell again from all reports.")
def alerts_rollup(rebuild: bool) -> None:
    """Fold the reports stored since the last pass into the figures' cells now."""
    from gateway.services.alerts.engine import roll_up_figures

    folded = roll_up_figures(_rt(), rebuild=rebuild)
    if folded is None:
        click.echo("an evaluation is running; skipped")
    else:
        click.echo(f"folded {folded} reports into the figure cells")


@alerts_group.command("list")
@click.option("--all", "show_all", is_flag=True, help="Include closed alerts.")
@click.option(
    "--unreached", is_flag=True, help="Only alerts that reached nobody (no SMS to any member)."
)
def alerts_list(show_all: bool, unreached: bool) -> None:
    """Alerts, newest first, with how many SMS each sent; `reached nobody` when none."""
    rt = _rt()
    gaz = gazetteer(rt)
    with rt.sessions() as session:
        query = select(Alert).order_by(Alert.opened_at.desc()).limit(200)
        if not show_all:
            query = query.where(Alert.state != AlertState.CLOSED)
        if unreached:
            query = query.where(Alert.recipients == 0)
        rows = session.scalars(query).all()
        for a in rows:
            reach = f"{a.recipients} SMS" if a.recipients else "REACHED NOBODY"
            click.echo(
                f"{a.code:6} {a.rule:18} sev {a.severity} {a.state:13} "
                f"{a.opened_at:%Y-%m-%d %H:%M} {gaz.name_of(a.locality_id)}  {reach}"
            )
    if not rows:
        click.echo("no alert reached nobody" if unreached else "no alerts")


def _locality(text: str, rt: Runtime) -> int | None:
    if text.lower() in ("national", "nation", "mali"):
        return None
    found = gazetteer(rt).lookup(text)
    if found is None:
        raise click.BadParameter(f"no locality clearly matches {text!r}; use its P-code")
    return found


@thresholds_group.command("set")
@click.option("--locality", required=True, help="national, a P-code or a name")
@click.option("--rule", required=True, type=click.Choice(sorted(RULE_KINDS)))
@click.option("--param", default=None, help="the rule's parameter (default: its main one)")
@click.option("--value", required=True, type=float)
def thresholds_set(locality: str, rule: str, param: str | None, value: float) -> None:
    """Set a rule value nationally or for an area (the nearest setting wins)."""
    rt = _rt()
    loc = _locality(locality, rt)
    now = rt.now()
    try:
        with transaction(rt.sessions) as session:
            old, new = set_threshold(
                session,
                rt,
                rule=rule,
                param=param,
                value=value,
                locality_id=loc,
                actor="cli",
                now=now,
            )
            audit.record(
                session,
                "cli",
                "threshold.set",
                f"{rule}.{param or 'main'}",
                {"locality": locality, "old": old, "new": new},
                now,
            )
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    was = f"was {old:g}" if old is not None else "was not set here: inherited before"
    click.echo(f"{rule} {param or 'main'} = {new:g} for {locality} ({was})")


@thresholds_group.command("list")
@click.option("--locality", default="national", help="national, a P-code or a name")
def thresholds_list(locality: str) -> None:
    """Every rule value for an area, and where it comes from."""
    rt = _rt()
    loc = _locality(locality, rt)
    gaz = gazetteer(rt)
    with rt.sessions() as session:
        stored = overrides(session)
    for rule in sorted(rt.reference.rules):
        for param, value in resolved(rt, gaz, stored, rule, loc).items():
            source = value.source_scope
            if source not in ("national", "default"):
                source = gaz.name_of(gaz.id_of(source)) + f" ({source})"
            click.echo(f"{rule:18} {param:16} {value.value:>8g}  {source}")


@click.command("clock")
def clock_command() -> None:
    """Run the scheduler (evaluation, urgent incidents, outbox, escalations, digests,
    retention) until stopped. Run exactly one (a second one is harmless)."""
    from gateway.scheduler import build_scheduler

    log_to_stderr()
    scheduler = build_scheduler(_rt())

    def stop(*_: Any) -> None:
        scheduler.shutdown(wait=False)

    signal.signal(signal.SIGTERM, stop)
    click.echo("clock running; Ctrl-C stops it")
    with contextlib.suppress(KeyboardInterrupt, SystemExit):
        scheduler.start()
