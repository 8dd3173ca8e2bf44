"""`import`, `committees` and `demo` commands: data brought in by admins."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import click

from gateway.cli.errors import Commands, said_clearly
from gateway.db import transaction
from gateway.gazetteer.index import gazetteer
from gateway.runtime import Runtime, current_runtime
from gateway.services.admin.committees import (
    CommitteeError,
    add_committee,
    add_member,
    describe,
    list_committees,
    namesakes,
    remove_member,
    set_committee_active,
)
from gateway.services.upkeep.demo import DemoRefused, plan_demo, seed_demo
from gateway.services.upkeep.imports import (
    ImportFailed,
    ImportSummary,
    import_incidents,
    import_ratings,
    read_incidents,
    read_ratings,
)
from gateway.services.upkeep.imports_csv import Table

import_group = Commands("import", help="Import earlier ratings and incidents from CSV files.")
committees_group = Commands("committees", help="Local committees on security and their members.")
demo_group = Commands("demo", help="Invented data for development databases.")

MAX_SHOWN_ERRORS = 20
BAR_FROM = 1000  # lines; shorter files import without a progress bar
LANG = click.Choice(["fr", "bm", "en"])
FILE = click.Path(exists=True, dir_okay=False, readable=True, path_type=Path)


@contextlib.contextmanager
def _bar(length: int, label: str) -> Iterator[Callable[[int], None]]:
    if length < BAR_FROM:
        yield lambda _n: None
        return
    with click.progressbar(length=length, label=label) as bar:
        yield bar.update


# --- import ------------------------------------------------------------------------


def _run_import(
    path: Path,
    read: Callable[[bytes], Table],
    store: Callable[[Runtime, Table, Callable[[int], None]], ImportSummary],
) -> None:
    rt, started = current_runtime(), time.monotonic()
    try:
        table = read(path.read_bytes())
        with _bar(2 * len(table.rows), f"importing {path.name}") as tick:
            summary = store(rt, table, tick)
    except ImportFailed as failed:
        for error in failed.errors[:MAX_SHOWN_ERRORS]:
            click.echo(str(error), err=True)
        more = len(failed.errors) - MAX_SHOWN_ERRORS
        if more > 0:
            click.echo(f"... and {more} more", err=True)
        raise click.ClickException(
            f"{path.name}: {len(failed.errors)} bad line(s); nothing was imported"
        ) from failed
    except OSError as exc:
        raise click.ClickException(f"{path}: {exc.strerror or exc}") from exc
    click.echo(
        f"{summary.rows} rows read, {summary.stored} stored, {summary.already} already "
        f"present, {summary.repeated} repeated in the file "
        f"({time.monotonic() - started:.1f} s)"
    )
    for name, count in summary.top_localities:
        click.echo(f"  {count:>7}  {name}")


@import_group.command("ratings")
@click.argument("file", type=FILE)
def import_ratings_command(file: Path) -> None:
    """Import trust ratings from FILE (CSV: date,locality,reporter,value[,question]).

    The whole file is checked first; nothing is stored unless every line is good.
    Reporters are pseudonymised; running the same file again stores nothing twice."""
    _run_import(file, read_ratings, import_ratings)


@import_group.command("incidents")
@click.argument("file", type=FILE)
def import_incidents_command(file: Path) -> None:
    """Import incidents from FILE (CSV: date,locality,kind[,danger_now][,description]).

    Kinds: attack, kidnapping, banditry, intercommunal, abuse, explosive, threat, other.
    Descriptions are stored encrypted."""
    _run_import(file, read_incidents, import_incidents)


# --- committees --------------------------------------------------------------------


@committees_group.command("add")
@click.option(
    "--locality", required=True, help="P-code or name of the area covered; ML: the whole country."
)
@click.option("--name", required=True, help="The committee's name.")
def committees_add(locality: str, name: str) -> None:
    """Add a committee covering a locality; prints its id and the level it resolved to."""
    rt = current_runtime()
    gaz = gazetteer(rt)
    with said_clearly(CommitteeError), transaction(rt.sessions) as session:
        committee = add_committee(session, gaz, locality, name, rt.now())
    click.echo(f"committee {committee.id} added: {committee.name}")
    click.echo(f"covers {describe(gaz, committee.locality_id)}")
    others = namesakes(gaz, committee.locality_id)
    if others:
        click.echo(f"also named so: {', '.join(others)}; give the P-code to cover one of them")


@committees_group.command("deactivate")
@click.option("--committee", "committee_ref", required=True, help="Committee id or exact name.")
def committees_deactivate(committee_ref: str) -> None:
    """Stop sending a committee alerts and digests (kept for the history)."""
    _set_active(committee_ref, False)


@committees_group.command("activate")
@click.option("--committee", "committee_ref", required=True, help="Committee id or exact name.")
def committees_activate(committee_ref: str) -> None:
    """Make a deactivated committee active again."""
    _set_active(committee_ref, True)


def _set_active(committee_ref: str, active: bool) -> None:
    rt = current_runtime()
    with said_clearly(CommitteeError), transaction(rt.sessions) as session:
        committee = set_committee_active(session, committee_ref, active, rt.now())
        name, cid = committee.name, committee.id
    click.echo(f"committee {cid} {'active' if active else 'deactivated'}: {name}")


@committees_group.command("add-member")
@click.option("--committee", "committee_ref", required=True, help="Committee id or exact name.")
@click.option("--phone", required=True, help="The member's phone number.")
@click.option("--name", required=True, help="The member's name.")
@click.option("--lang", default="fr", show_default=True, type=LANG, help="Language of alerts.")
def committees_add_member(committee_ref: str, phone: str, name: str, lang: str) -> None:
    """Add a member who gets the committee's alerts by SMS."""
    rt = current_runtime()
    with said_clearly(CommitteeError), transaction(rt.sessions) as session:
        member = add_member(session, rt, committee_ref, phone, name, lang)
    click.echo(f"member {member.id} added: {member.name} {member.phone_hint} ({member.language})")


@committees_group.command("remove-member")
@click.option("--committee", "committee_ref", required=True, help="Committee id or exact name.")
@click.option("--phone", required=True, help="The member's phone number.")
def committees_remove_member(committee_ref: str, phone: str) -> None:
    """Stop sending a member the committee's alerts (the member is deactivated)."""
    rt = current_runtime()
    with said_clearly(CommitteeError), transaction(rt.sessions) as session:
        member = remove_member(session, rt, committee_ref, phone)
    click.echo(f"member {member.id} removed: {member.name} {member.phone_hint}")


@committees_group.command("list")
def committees_list() -> None:
    """List committees with their locality and members (numbers masked)."""
    rt = current_runtime()
    with rt.sessions() as session:
        views = list_committees(session, gazetteer(rt))
    if not views:
        click.echo("no committees")
    for c in views:
        state = "" if c.active else " [inactive]"
        click.echo(f"{c.id}\t{c.name}\t{c.locality}{state}")
        for m in c.members:
            gone = "" if m.active else "\t[removed]"
            click.echo(f"\t{m.name}\t{m.phone_hint}\t{m.language}{gone}")
        if not c.members:
            click.echo("\t(no members)")


# --- demo --------------------------------------------------------------------------


@demo_group.command("seed")
@click.option("--seed", "seed", default=1, show_default=True, help="Random seed.")
@click.option("--force", is_flag=True, help="Seed again over earlier demo data.")
def demo_seed(seed: int, force: bool) -> None:
    """Fill a development database with six months of invented data that raises alerts."""
    rt, started = current_runtime(), time.monotonic()
    if rt.settings.is_production:
        raise click.ClickException("demo seed refuses to run with GATEWAY_ENV=production")
    plan = plan_demo(rt, seed)
    try:
        with click.progressbar(
            length=len(plan.ratings) + len(plan.incidents), label="seeding"
        ) as bar:
            summary = seed_demo(rt, plan, force=force, progress=bar.update)
    except DemoRefused as exc:
        if exc.already_seeded:
            click.echo(str(exc))
            return
        raise click.ClickException(str(exc)) from exc
    click.echo(
        f"{summary.localities} localities, {summary.reporters} reporters, "
        f"{summary.ratings} ratings, {summary.incidents} incidents, "
        f"{summary.committees} committees with {summary.members} new members "
        f"({time.monotonic() - started:.1f} s)"
    )
    click.echo(f"trust falls in {summary.drop_commune}; incidents spike in {summary.spike_commune}")
    click.echo(
        f"an urgent report in {summary.national_commune}, where no committee is, "
        "goes up to the national committee"
    )
    if summary.admin_password:
        click.echo(f"console admin: admin@example.org / {summary.admin_password}")
    for note in summary.notes:
        click.echo(note)
