"""The Poisson CUSUM designs kept across restarts (`models.CusumDesign`): the weekly
pass's incident CUSUM designs a chart for each week's in-control mean, a 64-state
Markov chain each (~2 ms of CPU); at 1M ratings a pass uses ~1,200 of them, which the
first pass after a restart computed again (~3 s). Now a process loads the kept ones
at its first pass, and each pass writes the designs it had to compute. A design is a
pure function of its inputs and the version of its arithmetic
(`surveillance.DESIGN_VERSION`), so a kept one is the one it would compute
(tests/integration/test_cusum_designs.py)."""

from __future__ import annotations

import logging

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from gateway.domain import surveillance as sv
from gateway.models import CusumDesign
from gateway.runtime import Runtime
from gateway.upsert import insert_ignore_many

log = logging.getLogger(__name__)
CUSUM_DESIGNS = "alerts.cusum_designs"  # Runtime.cached: the process's DesignBook


def book(rt: Runtime, session: Session) -> sv.DesignBook:
    """The process's designs, read from the table on first use."""
    return rt.cached(CUSUM_DESIGNS, lambda: load(session))


def load(session: Session) -> sv.DesignBook:
    """A DesignBook knowing every kept design of the current version."""
    out = sv.DesignBook()
    D = CusumDesign
    rows = session.execute(
        select(D.mean, D.arl, D.ratio, D.resolution, D.k_units, D.h_units, D.run_length).where(
            D.version == sv.DESIGN_VERSION
        )
    )
    for mean, arl, ratio, r, ku, hu, run_length in rows:
        out.know(arl, ratio, sv.PoissonCusum(mean, r, ku, hu, run_length))
    return out


def save(session: Session, designs: sv.DesignBook) -> None:
    """Keep the designs computed since the last save (in the pass's transaction, in a
    savepoint: a cache that cannot be written is logged and the pass goes on)."""
    if not designs.added:
        return
    rows = [
        {
            "version": sv.DESIGN_VERSION,
            "mean": mean,
            "arl": arl,
            "ratio": ratio,
            "resolution": d.resolution,
            "k_units": d.k_units,
            "h_units": d.h_units,
            "run_length": d.arl,
        }
        for (mean, arl, ratio), d in designs.added.items()
    ]
    try:
        with session.begin_nested():
            session.execute(delete(CusumDesign).where(CusumDesign.version != sv.DESIGN_VERSION))
            insert_ignore_many(session, CusumDesign.__table__, rows)
    except Exception:
        log.exception("CUSUM designs could not be kept; the next restart computes them")
    designs.added.clear()
