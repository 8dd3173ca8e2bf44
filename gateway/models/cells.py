"""The figures' kept aggregates: per locality and day, what the evaluation's windows
sum instead of scanning the reports (gateway/services/figures/rollup.py keeps them).
"""

from __future__ import annotations

from sqlalchemy import Double, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from gateway.models.base import Base


class WindowCell(Base):
    """Reports of one stream, locality and day whose author's next report of the same
    stream and locality falls on day `until` (capped; see rollup.CAP): a report counts
    in the day-aligned window [a, b) as its author's latest iff a <= day < b <= until.
    Streams: `trust:<question>` (unflagged answers, with their sums), `incident`
    (unflagged incidents with a reporter), `contact:<question>` (answers to the
    question and incidents, flagged or not), `resid:<question>` (week cells only, the
    primary question: each unflagged answer's residual against its author's earlier
    answers there, in hundredths, `rollup.residuals`).

    `rev` (both tables): the rollup's generation that last wrote the cell (rollup.py),
    so the weekly pass rereads only the cells changed since its last read."""

    __tablename__ = "window_cells"
    # SQLite: the cells live in their key's b-tree (a window reads no second lookup).
    __table_args__ = (
        Index("ix_window_cells_rev", "stream", "rev"),
        {"sqlite_with_rowid": False},
    )

    stream: Mapped[str] = mapped_column(String(48), primary_key=True)
    day: Mapped[int] = mapped_column(Integer, primary_key=True)  # days since 1970-01-01 UTC
    locality_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    until: Mapped[int] = mapped_column(Integer, primary_key=True)
    n: Mapped[int] = mapped_column(Integer)
    total: Mapped[int] = mapped_column(Integer)
    total_sq: Mapped[int] = mapped_column(Integer)
    low: Mapped[int] = mapped_column(Integer)
    rev: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))


class DayCount(Base):
    """Reports of one stream (`rating:<question>`, `incident`), locality and day:
    unflagged and burst-flagged, counted without any de-duplication."""

    __tablename__ = "day_counts"
    __table_args__ = (
        Index("ix_day_counts_rev", "stream", "rev"),
        {"sqlite_with_rowid": False},
    )

    stream: Mapped[str] = mapped_column(String(48), primary_key=True)
    day: Mapped[int] = mapped_column(Integer, primary_key=True)
    locality_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    plain: Mapped[int] = mapped_column(Integer)
    burst: Mapped[int] = mapped_column(Integer)
    rev: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))


class CusumDesign(Base):
    """A Poisson CUSUM design (`surveillance.poisson_cusum_design`) kept by its inputs
    (mean, arl, ratio) and the version of its arithmetic, so a restarted process finds
    the last passes' designs instead of computing a Markov chain for each; a cache: any
    row may go, and is computed again when needed (gateway/services/alerts/designs.py)."""

    __tablename__ = "cusum_designs"

    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    mean: Mapped[float] = mapped_column(Double, primary_key=True)
    arl: Mapped[float] = mapped_column(Double, primary_key=True)
    ratio: Mapped[float] = mapped_column(Double, primary_key=True)
    resolution: Mapped[int] = mapped_column(Integer)
    k_units: Mapped[int] = mapped_column(Integer)
    h_units: Mapped[int] = mapped_column(Integer)
    run_length: Mapped[float] = mapped_column(Double)  # the design's in-control ARL
