"""What the weekly pass read of the week cells, kept in its process between passes:
per stream, Monday and locality, the same sums `kept.weekly_answers` and the incident
series read, so that a pass reads from the database only the cells changed since.

Why it is exact: every cell the rollup writes bears the generation that wrote it
(`rev`, rollup.py), generations only grow within an epoch, and a new epoch begins
whenever cells may have been deleted. So at each pass (`sync`, under the pass's lock,
after its rollup) the groups (Monday, locality) holding a cell with a newer `rev` than
the last read are read again, whole, and every other group is as it was read; a new
epoch, or a generation lower than the one last read (a rollback), empties all. The
caller empties it too (`forget`) when a pass that synced does not commit.

Bounded: `finish` keeps only the weeks the pass asked for (the rules' horizon, guard
and baseline weeks). One object per Runtime, used by one pass at a time (`lock`).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from gateway.domain.findings import Tally, WeeklyAnswers
from gateway.models import DayCount, WindowCell
from gateway.services.figures import rollup
from gateway.services.figures.kept import _run

C = WindowCell
Groups = dict[int, dict[int, tuple[int, ...]]]  # Monday -> locality -> sums
ANSWERS, COUNTS = "answers", "counts"  # week cells (n, Σx, Σx²); week counts (plain, burst)


@dataclass
class _Kept:
    lo: int  # the Mondays [lo, hi) are held whole: a group missing is an empty one
    hi: int
    weeks: Groups = field(default_factory=dict)


def _answers_query(stream: str, lo: int, hi: int) -> Any:
    return (
        select(C.locality_id, C.day, func.sum(C.n), func.sum(C.total), func.sum(C.total_sq))
        .where(C.stream == stream, C.day >= lo, C.day < hi, C.until >= C.day + 7)
        .group_by(C.locality_id, C.day)
    )


def _changed_answers_query(stream: str, lo: int, hi: int, seen: int) -> Any:
    """The sums of every group holding a cell written after generation `seen` (a group
    whose answers all went, zeros)."""
    changed = (
        select(C.day, C.locality_id)
        .where(C.stream == stream, C.rev > seen, C.day >= lo, C.day < hi)
        .distinct()
        .subquery()
    )
    counted = C.until >= C.day + 7
    return (
        select(
            C.locality_id,
            C.day,
            func.sum(case((counted, C.n), else_=0)),
            func.sum(case((counted, C.total), else_=0)),
            func.sum(case((counted, C.total_sq), else_=0)),
        )
        .join(changed, and_(C.day == changed.c.day, C.locality_id == changed.c.locality_id))
        .where(C.stream == stream)
        .group_by(C.locality_id, C.day)
    )


def _counts_query(stream: str, lo: int, hi: int, seen: int | None = None) -> Any:
    D = DayCount
    stmt = select(D.locality_id, D.day, D.plain, D.burst).where(
        D.stream == stream, D.day >= lo, D.day < hi
    )
    return stmt if seen is None else stmt.where(D.rev > seen)


def _put(weeks: Groups, rows: list[tuple[Any, ...]]) -> None:
    """Set each row's group (locality, Monday, sums...); a group of zeros is dropped,
    as the cold readers drop it (no answers; no report)."""
    for loc, day, *sums in rows:
        if sums[0] or (len(sums) == 2 and sums[1]):
            weeks.setdefault(int(day), {})[int(loc)] = tuple(int(x) for x in sums)
        elif int(day) in weeks:
            weeks[int(day)].pop(int(loc), None)


class WeekCells:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.epoch: str | None = None
        self.seen = 0
        self._streams: dict[tuple[str, str], _Kept] = {}
        self._asked: dict[tuple[str, str], tuple[int, int]] = {}
        self._synced = False

    @property
    def synced(self) -> bool:
        """Whether it answers for the cells of the current transaction (`sync`)."""
        return self._synced

    def forget(self) -> None:
        self.epoch, self.seen, self._streams, self._asked = None, 0, {}, {}
        self._synced = False

    def sync(self, session: Session) -> bool:
        """Bring what is kept up to the cells as they are now (call it under the pass's
        lock, after its rollup); False when the cells have no epoch (kept before
        migration 0011 and not written since): nothing is kept then."""
        epoch, rev = rollup.revision(session)
        if epoch is None or epoch != self.epoch or rev < self.seen:
            self.forget()
            self.epoch = epoch
        elif rev > self.seen:
            try:
                for (kind, stream), kept in self._streams.items():
                    if kind == ANSWERS:
                        stmt = _changed_answers_query(stream, kept.lo, kept.hi, self.seen)
                    else:
                        stmt = _counts_query(stream, kept.lo, kept.hi, self.seen)
                    _put(kept.weeks, _run(session, stmt))
            except BaseException:
                self.forget()
                raise
        self.seen, self._asked = rev, {}
        self._synced = epoch is not None
        return self._synced

    def finish(self) -> None:
        """Keep only the weeks this pass asked for (nothing dropped if it asked none)."""
        if self._asked:
            self._streams = {k: v for k, v in self._streams.items() if k in self._asked}
            for key, kept in self._streams.items():
                kept.lo, kept.hi = self._asked[key]
                kept.weeks = {d: g for d, g in kept.weeks.items() if kept.lo <= d < kept.hi}
        self._synced = False

    def _weeks(self, session: Session, kind: str, stream: str, a: int, periods: int) -> Groups:
        """The groups of the Mondays [a, a + 7 periods), the missing weeks read whole."""
        assert self._synced, "sync first, in the same transaction"
        assert rollup.monday(a) == a, "calendar weeks start on a Monday"
        b = a + 7 * periods
        key = (kind, stream)
        kept = self._streams.get(key)
        if kept is None or b < kept.lo or kept.hi < a:  # nothing kept next to these weeks
            kept = self._streams[key] = _Kept(a, a)
        try:
            # What is kept and what is read must make one run of weeks: [lo, hi) whole.
            for lo, hi in ((a, kept.lo), (kept.hi, b)):
                if lo < hi:
                    read = _answers_query if kind == ANSWERS else _counts_query
                    fresh: Groups = {}
                    _put(fresh, _run(session, read(stream, lo, hi)))
                    for day in range(lo, hi, 7):
                        kept.weeks.pop(day, None)
                    kept.weeks.update(fresh)
        except BaseException:
            self.forget()  # nothing half read is kept
            raise
        kept.lo, kept.hi = min(a, kept.lo), max(b, kept.hi)
        lo, hi = self._asked.get(key, (a, b))
        self._asked[key] = (min(lo, a), max(hi, b))
        return kept.weeks

    def answers(
        self, session: Session, stream: str, a: int, periods: int
    ) -> dict[int, WeeklyAnswers]:
        """`kept.weekly_answers(session, stream, <day a>, periods)`, from what is kept."""
        weeks = self._weeks(session, ANSWERS, rollup.weekly(stream), a, periods)
        out: dict[int, WeeklyAnswers] = {}
        for i in range(periods):
            for loc, (n, s, sq) in weeks.get(a + 7 * i, {}).items():
                cols = out.get(loc)
                if cols is None:
                    zeros = [0.0] * periods
                    cols = out[loc] = WeeklyAnswers(zeros, zeros.copy(), zeros.copy())
                cols.n[i], cols.total[i], cols.total_sq[i] = float(n), float(s), float(sq)
        return out

    def tallies(
        self, session: Session, stream: str, a: int, periods: int
    ) -> dict[tuple[int, int], Tally]:
        """`kept._tallies` of weeks from the Monday `a`, from what is kept."""
        weeks = self._weeks(session, COUNTS, rollup.weekly(stream), a, periods)
        made: dict[tuple[int, ...], Tally] = {}
        out: dict[tuple[int, int], Tally] = {}
        for i in range(periods):
            for loc, pair in weeks.get(a + 7 * i, {}).items():
                tally = made.get(pair)
                if tally is None:
                    tally = made[pair] = Tally(*pair)
                out[(loc, i)] = tally
        return out
