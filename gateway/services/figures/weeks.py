"""What the weekly pass read of the week cells, kept in its process between passes:
per stream and locality, a column of weeks holding the same sums `kept.weekly_answers`
and the incident series read (a pass's series is then a slice of each column), so that
a pass reads from the database only the cells changed since.

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
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from gateway.domain.findings import Tally, WeeklyAnswers
from gateway.models import DayCount, WindowCell
from gateway.services.figures import rollup
from gateway.services.figures.kept import _run

C = WindowCell
ANSWERS, COUNTS = "answers", "counts"  # week cells (n, Σx, Σx²); week counts (plain, burst)


@dataclass
class _Kept:
    """The Mondays [lo, hi) held whole, as columns per locality: a week's value at
    index (Monday - lo) // 7, `zero` where the locality had nothing that week."""

    lo: int
    hi: int
    zeros: tuple[Any, ...]  # one per column: 0.0 (answers' sums) or Tally(0) (counts)
    cols: dict[int, list[list[Any]]] = field(default_factory=dict)
    # Tally is frozen: one instance per value, a few hundred instead of one per week
    # and locality (fewer objects for the garbage collector to walk).
    tallies: dict[tuple[int, int], Tally] = field(default_factory=dict)

    def widen(self, lo: int, hi: int) -> None:
        """Hold [min(lo), max(hi)), the new weeks empty (the caller reads them); the
        columns grow in place (no new objects for the garbage collector to track)."""
        lo, hi = min(lo, self.lo), max(hi, self.hi)
        front, back = (self.lo - lo) // 7, (hi - self.hi) // 7
        if front or back:
            pads = [([z] * front, [z] * back) for z in self.zeros]  # made once, copied in
            for cols in self.cols.values():
                for (head, tail), col in zip(pads, cols, strict=True):
                    if head:
                        col[:0] = head
                    if tail:
                        col.extend(tail)
        self.lo, self.hi = lo, hi

    def narrow(self, lo: int, hi: int) -> None:
        """Hold only [lo, hi), within what is held (in place)."""
        i, j = (lo - self.lo) // 7, (hi - self.lo) // 7
        for cols in self.cols.values():
            for col in cols:
                del col[j:]
                del col[:i]
        self.lo, self.hi = lo, hi

    def put(self, rows: list[tuple[Any, ...]]) -> None:
        """Set each row's group (locality, Monday, sums...) whole; a group of zeros is
        empty, as the cold readers drop it (no answers; no report). Answers are kept as
        floats (n, Σx, Σx²), counts as one Tally (plain, burst). A cold pass puts ~75,000
        rows at 1M ratings: one plain loop per kind, no call per row."""
        weeks, lo, kept = (self.hi - self.lo) // 7, self.lo, self.cols
        if len(self.zeros) == 3:
            for loc, day, n, total, total_sq in rows:
                cols = kept.get(loc)
                if cols is None:
                    cols = kept[loc] = [[0.0] * weeks, [0.0] * weeks, [0.0] * weeks]
                i = (day - lo) // 7
                if n:
                    cols[0][i] = float(n)
                    cols[1][i] = float(total)
                    cols[2][i] = float(total_sq)
                else:
                    cols[0][i] = cols[1][i] = cols[2][i] = 0.0
            return
        zero, tallies = self.zeros[0], self.tallies
        for loc, day, plain, burst in rows:
            cols = kept.get(loc)
            if cols is None:
                cols = kept[loc] = [[zero] * weeks]
            tally = tallies.get((plain, burst))
            if tally is None:
                tally = tallies[(plain, burst)] = Tally(plain, burst) if plain or burst else zero
            cols[0][(day - lo) // 7] = tally

    def window(self, a: int, periods: int) -> Iterator[tuple[int, list[list[Any]]]]:
        """Per locality with something in the Mondays [a, a + 7 periods), its columns
        of those weeks (new lists)."""
        i = (a - self.lo) // 7
        j = i + periods
        empty = self.zeros[0]
        for loc, cols in self.cols.items():
            head = cols[0][i:j]
            # Answers: a week without answers has n = 0.0; counts: the one zero Tally.
            if any(head) if isinstance(empty, float) else any(x is not empty for x in head):
                yield loc, [head, *(col[i:j] for col in cols[1:])]


ANSWER_ZEROS = (0.0, 0.0, 0.0)
COUNT_ZEROS = (Tally(0),)  # frozen: the one instance for every week without a report


def _answers_query(stream: str, lo: int, hi: int) -> Any:
    return (
        select(C.locality_id, C.day, func.sum(C.n), func.sum(C.total), func.sum(C.total_sq))
        .where(C.stream == stream, C.day >= lo, C.day < hi, C.until >= C.day + 7)
        .group_by(C.day, C.locality_id)  # the key's order: read by kept._run(in_key_order)
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
                    kept.put(_run(session, stmt))
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
                kept.narrow(*self._asked[key])
        self._synced = False

    def _weeks(self, session: Session, kind: str, stream: str, a: int, periods: int) -> _Kept:
        """What is kept of `stream`, holding the Mondays [a, a + 7 periods) (the missing
        weeks read whole)."""
        assert self._synced, "sync first, in the same transaction"
        assert rollup.monday(a) == a, "calendar weeks start on a Monday"
        b = a + 7 * periods
        key = (kind, stream)
        kept = self._streams.get(key)
        if kept is None or b < kept.lo or kept.hi < a:  # nothing kept next to these weeks
            zeros = ANSWER_ZEROS if kind == ANSWERS else COUNT_ZEROS
            kept = self._streams[key] = _Kept(a, a, zeros)
        try:
            # What is kept and what is read must make one run of weeks: [lo, hi) whole.
            missing = [(lo, hi) for lo, hi in ((a, kept.lo), (kept.hi, b)) if lo < hi]
            kept.widen(a, b)
            answers = kind == ANSWERS
            read = _answers_query if answers else _counts_query
            for lo, hi in missing:
                kept.put(_run(session, read(stream, lo, hi), in_key_order=answers))
        except BaseException:
            self.forget()  # nothing half read is kept
            raise
        lo, hi = self._asked.get(key, (a, b))
        self._asked[key] = (min(lo, a), max(hi, b))
        return kept

    def answers(
        self, session: Session, stream: str, a: int, periods: int
    ) -> dict[int, WeeklyAnswers]:
        """`kept.weekly_answers(session, stream, <day a>, periods)`, from what is kept."""
        kept = self._weeks(session, ANSWERS, rollup.weekly(stream), a, periods)
        return {loc: WeeklyAnswers(*cols) for loc, cols in kept.window(a, periods)}

    def series(self, session: Session, stream: str, a: int, periods: int) -> dict[int, list[Tally]]:
        """Per locality with a report in them, the counts of the weeks from the Monday
        `a` (`kept._tallies` of those weeks, as one list per locality), from what is kept."""
        kept = self._weeks(session, COUNTS, rollup.weekly(stream), a, periods)
        return {loc: cols[0] for loc, cols in kept.window(a, periods)}

    def totals(self, session: Session, stream: str, a: int, b: int) -> list[tuple[int, int, int]]:
        """Per locality with a report in the Mondays [a, b), (locality, plain, burst)
        summed over them: `kept._counts`'s rows of whole weeks, from what is kept."""
        kept = self._weeks(session, COUNTS, rollup.weekly(stream), a, (b - a) // 7)
        i, j = (a - kept.lo) // 7, (b - kept.lo) // 7
        rows = []
        for loc, (weeks,) in kept.cols.items():
            plain = burst = 0
            for t in weeks[i:j]:
                plain += t.count
                burst += t.burst
            if plain or burst:
                rows.append((loc, plain, burst))
        return rows
