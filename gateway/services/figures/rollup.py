"""Keeping the figures' cells (gateway/models/cells.py) up to date as reports arrive.

A report is stored with `rolled = false`; `roll_up` (the clock, before every
evaluation pass, under its lock: one writer) folds such reports into the cells. The
cells always equal `cells_of(rolled reports)`: for each chain a new report joins (the
same stream, locality and reporter) the rollup adds `cells_of(chain with the new
reports) - cells_of(chain without them)`, so a report older than its author's latest
(an import, a late delivery) moves its predecessor's `until` exactly as a new one does.

The only changes to a stored report are its insertion and this flag: `burst` is set
when it is stored (gateway/services/intake/reports.py, the imports), never after, and
reports are never deleted except by the demo seed, which calls `rebuild`. Any future
change of a stored report's locality, time, value, author or flag must call `rebuild`
(or unroll what it changes together with the cells it left).
"""

from __future__ import annotations

import datetime as dt
import heapq
import itertools
import secrets
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, NamedTuple

from sqlalchemy import delete, func, literal_column, select, text, true, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from gateway.domain.trust_index import LOW_ANSWER_MAX
from gateway.models import DayCount, Incident, JobState, TrustRating, WindowCell

# `until` is capped here, in days: a report whose author's next one is further away
# counts in any window holding it up to CAP - 7 days long (a rule's baseline may be
# 730 days; the week cells take `until` back up to 6 days).
CAP = 740
DAY = 86400
BATCH = 2000  # reports folded per round: bounded memory and statement sizes
STATE = "figure_cells"  # JobState: the question the contact stream is kept for
INCIDENT = "incident"


def unrolled(model: Any) -> Any:
    """`rolled = false` written as the partial indexes' predicate (SQLite uses an index
    only for the very expression it was made with; SQLAlchemy would write `= 0`)."""
    return model.rolled == literal_column("false")


def day_of(t: dt.datetime) -> int:
    """Days since 1970-01-01 UTC (naive values are UTC, as SQLite returns them)."""
    aware = t if t.tzinfo is not None else t.replace(tzinfo=dt.UTC)
    return int(aware.timestamp() // DAY)


def trust_stream(question: str) -> str:
    return f"trust:{question}"


def contact_stream(question: str) -> str:
    return f"contact:{question}"


def rating_stream(question: str) -> str:
    return f"rating:{question}"


def residual_stream(question: str) -> str:
    return f"{RESIDUAL}{question}"


RESIDUAL = "resid:"
# A residual is kept in hundredths of a point: the cells are 32-bit integers, and
# 100·r (|r| <= 4) squared and summed over a cell's reports stays far below 2^31.
RESIDUAL_SCALE = 100
# A residual needs this many earlier answers of the same reporter. One is enough: the
# residual's variance, 0.64·(1 + 1/k) in the bench's world, is largest then, but the
# chart sees as much at equal false alarms with k >= 1 as with k >= 2, 3, 4 or 6
# (BENCHMARKS.md), and it covers a new reporter from their second answer on.
MIN_EARLIER = 1


def residuals(values: Sequence[int]) -> list[int | None]:
    """For a chain's answers x_0, x_1, ... (oldest first), each answer's residual
    against the mean of the chain's earlier answers, in RESIDUAL_SCALE units and
    rounded half to even: round(RESIDUAL_SCALE·(x_k - (x_0 + ... + x_{k-1})/k)) for
    k >= MIN_EARLIER, None before (integer arithmetic: the same on every database)."""
    out: list[int | None] = []
    total = 0
    for k, x in enumerate(values):
        if k < MIN_EARLIER:
            out.append(None)
        else:
            q, r = divmod(RESIDUAL_SCALE * (k * x - total), k)
            out.append(q + 1 if 2 * r > k or (2 * r == k and q % 2) else q)
        total += x
    return out


class Report(NamedTuple):
    """One stored report as the cells see it; `order` sorts a chain."""

    id: int
    table: str  # "r" rating, "i" incident
    locality_id: int
    reporter_id: int | None
    question: str | None
    value: int
    at: dt.datetime
    burst: bool
    rolled: bool
    day: int  # day_of(at)

    @property
    def order(self) -> tuple[dt.datetime, int, str]:
        return (self.at, self.id, self.table)


def _ratings(rows: Iterable[Any]) -> Iterator[Report]:
    return (Report(r[0], "r", r[1], r[2], r[3], r[4], r[5], r[6], r[7], day_of(r[5])) for r in rows)


def _incidents(rows: Iterable[Any]) -> Iterator[Report]:
    return (Report(r[0], "i", r[1], r[2], None, 0, r[3], r[4], r[5], day_of(r[3])) for r in rows)


RATING_COLS = (
    TrustRating.id,
    TrustRating.locality_id,
    TrustRating.reporter_id,
    TrustRating.question,
    TrustRating.value,
    TrustRating.rated_at,
    TrustRating.burst,
    TrustRating.rolled,
)
INCIDENT_COLS = (
    Incident.id,
    Incident.locality_id,
    Incident.reporter_id,
    Incident.reported_at,
    Incident.burst,
    Incident.rolled,
)

Cells = dict[tuple[str, int, int, int], list[int]]  # (stream, day, locality, until) -> sums
Counts = dict[tuple[str, int, int], list[int]]  # (stream, day, locality) -> plain, burst


def chain_streams(r: Report, primary: str) -> list[str]:
    """The window streams a report belongs to (its chain is stream, locality, author)."""
    out: list[str] = []
    if r.table == "r":
        if not r.burst:
            out.append(trust_stream(str(r.question)))
        if not r.burst and r.question == primary:
            out.append(residual_stream(primary))
        if r.question == primary:
            out.append(contact_stream(primary))
    elif r.reporter_id is not None:
        if not r.burst:
            out.append(INCIDENT)
        out.append(contact_stream(primary))
    return out


def monday(day: int) -> int:
    """The Monday on or before `day` (day 4, 1970-01-05, was a Monday)."""
    return day - (day - 4) % 7


def weekly(stream: str) -> str:
    """The week cells of a stream: keyed by the Monday of the report's week, `until`
    taken back to its Monday, which decides the same for every window ending on a
    Monday (the weekly pass's), with a seventh of the cells to read."""
    return f"{stream}{WEEKLY}"


WEEKLY = "/w"


def add_chain(cells: Cells, stream: str, chain: Sequence[Report], sign: int) -> None:
    """Add (sign +1) or take away (-1) one chain's reports, sorted, to `cells`, as day
    cells and week cells. A report followed the same day (the same week) never counts
    in a window of whole days (weeks): it gets no such cell. A residual stream holds
    each report's `residuals` value (none for the first MIN_EARLIER of the chain), in
    week cells only (only the weekly chart reads it), `low` 0."""
    by_week = weekly(stream)
    resid = stream.startswith(RESIDUAL)
    values = residuals([r.value for r in chain]) if resid else [r.value for r in chain]
    for (here, after), v in zip(itertools.zip_longest(chain, chain[1:]), values, strict=True):
        if v is None:
            continue
        until = here.day + CAP if after is None else min(after.day, here.day + CAP)
        low = 0 if resid else int(v <= LOW_ANSWER_MAX)
        delta = (sign, sign * v, sign * v * v, sign * low)
        if until > here.day and not resid:
            _add(cells, (stream, here.day, here.locality_id, until), delta)
        week, until_week = monday(here.day), monday(until)
        if until_week > week:
            _add(cells, (by_week, week, here.locality_id, until_week), delta)


def _add(cells: Cells, key: tuple[str, int, int, int], delta: tuple[int, ...]) -> None:
    sums = cells.get(key)
    if sums is None:
        cells[key] = list(delta)
    else:
        for i, x in enumerate(delta):
            sums[i] += x


def count_reports(counts: Counts, reports: Iterable[Report]) -> None:
    """Each report counted in its day and in its week (keyed by the Monday)."""
    for r in reports:
        stream = rating_stream(str(r.question)) if r.table == "r" else INCIDENT
        for key in ((stream, r.day, r.locality_id), (weekly(stream), monday(r.day), r.locality_id)):
            pair = counts.setdefault(key, [0, 0])
            pair[int(r.burst)] += 1


def _upsert(session: Session, model: Any, keys: list[str], rows: list[dict[str, Any]]) -> None:
    """Add each row's sums to the stored cell (created at zero if missing), and stamp
    it with the row's `rev`."""
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    make = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = make(model)
    sums = [k for k in rows[0] if k not in keys and k != "rev"]
    set_ = {k: getattr(model.__table__.c, k) + getattr(stmt.excluded, k) for k in sums}
    stmt = stmt.on_conflict_do_update(index_elements=keys, set_={**set_, "rev": stmt.excluded.rev})
    for chunk in _chunks(rows, 1000):
        session.execute(stmt, chunk)


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def write(session: Session, cells: Cells, counts: Counts, rev: int) -> None:
    """Add the deltas to the stored cells, each stamped with the generation `rev`
    (cells left at zero are harmless: every reader drops a locality whose sums are
    zero)."""
    cell_rows = [
        {"stream": s, "day": d, "locality_id": loc, "until": u, "n": n, "total": t,
         "total_sq": q, "low": low, "rev": rev}
        for (s, d, loc, u), (n, t, q, low) in cells.items()
        if n or t or q or low
    ]  # fmt: skip
    count_rows = [
        {"stream": s, "day": d, "locality_id": loc, "plain": p, "burst": b, "rev": rev}
        for (s, d, loc), (p, b) in counts.items()
    ]
    _upsert(session, WindowCell, ["stream", "day", "locality_id", "until"], cell_rows)
    _upsert(session, DayCount, ["stream", "day", "locality_id"], count_rows)


def _mark_rolled(session: Session, reports: Iterable[Report]) -> None:
    for model, table in ((TrustRating, "r"), (Incident, "i")):
        ids = sorted(r.id for r in reports if r.table == table and not r.rolled)
        for chunk in _chunks(ids, 1000):
            session.execute(update(model).where(model.id.in_(chunk)).values(rolled=True))


def _unrolled(session: Session, limit: int) -> list[Report]:
    """Up to `limit` unrolled reports of each table, in the partial indexes' order (by
    id, SQLite would walk the whole table for them); any subset folds correctly."""
    ratings = session.execute(
        select(*RATING_COLS)
        .where(unrolled(TrustRating))
        .order_by(TrustRating.rated_at)
        .limit(limit)
    ).all()
    incidents = session.execute(
        select(*INCIDENT_COLS).where(unrolled(Incident)).order_by(Incident.reported_at).limit(limit)
    ).all()
    return [*_ratings(ratings), *_incidents(incidents)]


def _neighbours(session: Session, new: Sequence[Report]) -> list[Report]:
    """Every stored report of the (author, locality) pairs of `new`: their chains. Read
    by author (the reporter indexes), the pairs kept in Python: a row-value IN would
    scan the table on SQLite."""
    pairs = {(r.reporter_id, r.locality_id) for r in new if r.reporter_id is not None}
    authors = sorted({who for who, _ in pairs})
    out: list[Report] = []
    for chunk in _chunks(authors, 500):
        for read, model in ((_ratings, TrustRating), (_incidents, Incident)):
            cols = RATING_COLS if model is TrustRating else INCIDENT_COLS
            rows = session.execute(select(*cols).where(model.reporter_id.in_(chunk)))
            out += [r for r in read(rows) if (r.reporter_id, r.locality_id) in pairs]
    return out


def chains(reports: Iterable[Report], primary: str) -> dict[tuple[str, int, int], list[Report]]:
    """Reports by chain (stream, locality, author), each sorted; reports without an
    author belong to none."""
    out: dict[tuple[str, int, int], list[Report]] = defaultdict(list)
    for r in reports:
        for stream in chain_streams(r, primary):
            out[(stream, r.locality_id, int(r.reporter_id or 0))].append(r)
    for chain in out.values():
        chain.sort(key=lambda r: r.order)
    return out


def fold(session: Session, primary: str, limit: int = BATCH) -> int:
    """Fold up to `limit` unrolled reports of each table into the cells; how many."""
    new = _unrolled(session, limit)
    if not new:
        return 0
    fresh = {(r.table, r.id) for r in new}
    known = [r for r in _neighbours(session, new) if r.rolled or (r.table, r.id) in fresh]
    cells: Cells = {}
    counts: Counts = {}
    count_reports(counts, new)
    touched = {key for key in chains(new, primary)}
    for key, chain in chains(known, primary).items():
        if key in touched:
            add_chain(cells, key[0], chain, +1)
            add_chain(cells, key[0], [r for r in chain if r.rolled], -1)
    write(session, cells, counts, _next_rev(session))
    _mark_rolled(session, new)
    return len(new)


def backlog(session: Session, at_least: int) -> bool:
    """Whether, in one table, the reports waiting (the partial index) number
    `at_least` or more and a tenth of the table (its highest id: the primary key's
    end) or more: a week of a busy year is folded, an import is built again."""
    for model in (TrustRating, Incident):
        size = session.scalar(select(func.max(model.id))) or 0
        bound = max(at_least, size // BACKLOG_SHARE)
        waiting = select(model.id).where(unrolled(model)).limit(bound).subquery()
        if (session.scalar(select(func.count()).select_from(waiting)) or 0) >= bound:
            return True
    return False


BACKLOG_SHARE = 10  # a backlog of a tenth of a table or more is built again


def roll_up(session: Session, primary: str) -> int:
    """Fold every unrolled report into the cells; how many. A change of the primary
    question, or a backlog too large to fold report by report (the first run after
    the migration, an import), builds them again from all reports. Call it under the
    evaluation's lock: it is the cells' only writer."""
    state = session.get(JobState, STATE)
    if not _current(state, primary):
        return rebuild(session, primary)
    if backlog(session, BULK):  # a rebuild reads every report; a fold, the new ones' chains
        return rebuild(session, primary)
    done = 0
    while n := fold(session, primary):
        done += n
    return done


BULK = 20 * BATCH


def rebuild(session: Session, primary: str) -> int:
    """Build the cells again from every stored report; how many were not rolled."""
    session.execute(delete(WindowCell))
    session.execute(delete(DayCount))
    # Mark first, then read what is marked: a report stored meanwhile stays unrolled
    # and out of the cells, so they hold exactly the rolled reports.
    marked = 0
    for model in (TrustRating, Incident):
        result = session.execute(update(model).where(unrolled(model)).values(rolled=True))
        marked += result.rowcount or 0  # type: ignore[attr-defined]
    cells: Cells = {}
    counts: Counts = {}
    for group in _all_by_author(session):
        count_reports(counts, group)
        for (stream, _, _), chain in chains(group, primary).items():
            add_chain(cells, stream, chain, +1)
        if len(cells) > 200_000:
            write(session, cells, counts, 0)
            cells, counts = {}, {}
    write(session, cells, counts, 0)
    _cluster(session)
    _remember(session, primary)
    return marked


def _cluster(session: Session) -> None:
    """PostgreSQL: lay the new cells out in key order, so a window reads contiguous
    pages (SQLite keeps them in key order already: WITHOUT ROWID)."""
    if session.get_bind().dialect.name == "postgresql":
        for table in ("window_cells", "day_counts"):
            session.execute(text(f"CLUSTER {table} USING pk_{table}"))
            session.execute(text(f"ANALYZE {table}"))


# The streams the cells hold: 2 since the residuals (`resid:<question>`). Cells built
# under another layout lack a stream, so they are built again, and scanned until then.
LAYOUT = 2


def _current(state: JobState | None, primary: str) -> bool:
    """Whether the cells were built for `primary` and in this layout."""
    details = (state.details if state is not None else None) or {}
    return details.get("question") == primary and details.get("layout") == LAYOUT


def invalidate(session: Session) -> None:
    """Mark the cells out of date (after reports were deleted or changed): the
    evaluation scans until the next rollup has built them again from every report."""
    session.execute(delete(JobState).where(JobState.name == STATE))


def _remember(session: Session, primary: str) -> None:
    """The cells were built again (rev 0): a new epoch, so that what any process kept
    of the cells before is dropped (`revision`)."""
    now = dt.datetime.now(dt.UTC)
    details = {"question": primary, "epoch": secrets.token_hex(8), "rev": 0, "layout": LAYOUT}
    state = session.get(JobState, STATE)
    if state is None:
        session.add(JobState(name=STATE, watermark=None, updated_at=now, details=details))
    else:
        state.details, state.updated_at = details, now
    session.flush()


def revision(session: Session) -> tuple[str | None, int]:
    """The cells' epoch and generation. Every cell written since the epoch began bears
    the generation that wrote it (`rev`), and generations only grow within an epoch;
    a new epoch begins whenever cells may have been deleted (a rebuild, `invalidate`
    then the rebuild it causes). No epoch (None): cells kept before migration 0011."""
    state = session.get(JobState, STATE)
    details = (state.details if state is not None else None) or {}
    epoch = details.get("epoch")
    return (str(epoch) if epoch is not None else None), int(details.get("rev", 0))


def _next_rev(session: Session) -> int:
    """A new generation for the cells this fold writes."""
    state = session.get(JobState, STATE)
    details = dict((state.details if state is not None else None) or {})
    rev = int(details.get("rev", 0)) + 1
    details["rev"] = rev
    details.setdefault("epoch", secrets.token_hex(8))  # cells kept before migration 0011
    if state is not None:  # None only for a direct `fold` before any rebuild (tests)
        state.details = details  # a new dict: the JSON column sees the change
    return rev


def _all_by_author(session: Session) -> Iterator[list[Report]]:
    """Every rolled report, grouped by (locality, author): two sorted streams merged;
    incidents without an author come one by one."""
    ratings = session.execute(
        select(*RATING_COLS)
        .where(TrustRating.rolled == true())
        .order_by(TrustRating.locality_id, TrustRating.reporter_id, TrustRating.id)
        .execution_options(yield_per=20_000)
    )
    rolled = Incident.rolled == true()
    incidents = session.execute(
        select(*INCIDENT_COLS)
        .where(rolled, Incident.reporter_id.is_not(None))
        .order_by(Incident.locality_id, Incident.reporter_id, Incident.id)
        .execution_options(yield_per=20_000)
    )

    def key(r: Report) -> tuple[int, int]:
        return (r.locality_id, int(r.reporter_id or 0))

    merged = heapq.merge(_ratings(ratings), _incidents(incidents), key=key)
    for _, group in itertools.groupby(merged, key=key):
        yield list(group)
    anonymous = session.execute(
        select(*INCIDENT_COLS).where(rolled, Incident.reporter_id.is_(None))
    )
    yield list(_incidents(anonymous))


def complete_before(session: Session, end: dt.datetime, primary: str) -> bool:
    """Whether the cells hold every report before `end` (the partial indexes answer),
    kept for the primary question `primary`."""
    state = session.get(JobState, STATE)
    if not _current(state, primary):
        return False
    for model, when in ((TrustRating, TrustRating.rated_at), (Incident, Incident.reported_at)):
        if session.scalar(select(model.id).where(unrolled(model), when < end).limit(1)):
            return False
    return True
