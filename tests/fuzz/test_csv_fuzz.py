"""Bounded fuzzing of the CSV importers (ratings and incidents) with hypothesis.

Whatever the file holds (arbitrary bytes, invalid UTF-8, a BOM, semicolons, quotes,
injection strings, dates and values out of range), an import either stores every
line or refuses the file with ImportFailed (line errors), and a refused file leaves
nothing behind. A file stored once stores nothing the second time.
"""

from __future__ import annotations

import csv
import io

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from gateway.models import Incident, Reporter, TrustRating
from gateway.runtime import Runtime
from gateway.services.upkeep.imports import (
    ImportFailed,
    import_incidents,
    import_ratings,
    read_incidents,
    read_ratings,
)

pytestmark = pytest.mark.slow

FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    derandomize=True,
)
INJECTIONS = [
    "'; DROP TABLE reporters;--",
    "{{7*7}}",
    "{0.__class__}",
    "%s%s%n",
    '=HYPERLINK("http://x")',
    "\x00",
    "🙂",
    'a "quoted" value',
    "line\nbreak",
]


def cells(*good: str) -> st.SearchStrategy[str]:
    return st.one_of(st.sampled_from(good), st.sampled_from(INJECTIONS), st.text(max_size=40))


DATES = cells(
    "2025-03-01", "2025-03-01T10:00:00Z", "2025-03-01 10:00", "1999-12-31", "2999-01-01", ""
)
LOCALITIES = cells("Mopti", "Sevare", "Sévaré", "ML0501", "Gao", "Tombouctou", "Kidal", "")
REPORTERS = cells("+22376123456", "76123456", "survey-17", "R1", "")
VALUES = cells("1", "3", "5", "0", "6", "-1", "4.5", "")
KINDS = cells("attack", "kidnapping", "banditry", "explosive", "other", "ATTACK", "fire", "")
DANGER = cells("yes", "no", "oui", "non", "", "maybe")


def rows_to_bytes(header: list[str], rows: list[list[str]], delimiter: str, bom: bool) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter)
    writer.writerow(header)
    writer.writerows(rows)
    return ("\ufeff" if bom else "").encode() + out.getvalue().encode("utf-8", "surrogatepass")


@st.composite
def ratings_files(draw: st.DrawFn) -> bytes:
    header = ["date", "locality", "reporter", "value"]
    if draw(st.booleans()):
        header.append("question")
    if draw(st.integers(0, 9)) == 0:
        header = draw(st.permutations(header))[: draw(st.integers(0, len(header)))]
    row = st.tuples(DATES, LOCALITIES, REPORTERS, VALUES, cells("trust_dsf", "q9", ""))
    rows = [list(r[: len(header)]) for r in draw(st.lists(row, max_size=8))]
    data = rows_to_bytes(header, rows, draw(st.sampled_from([",", ";"])), draw(st.booleans()))
    if draw(st.integers(0, 9)) == 0:  # damage the bytes: invalid UTF-8, truncation
        cut = draw(st.integers(0, len(data)))
        data = data[:cut] + draw(st.binary(max_size=8)) + data[cut:]
    return data


@st.composite
def incidents_files(draw: st.DrawFn) -> bytes:
    header = ["date", "locality", "kind", "danger_now", "description"]
    header = header[: draw(st.integers(3, 5))]
    row = st.tuples(DATES, LOCALITIES, KINDS, DANGER, cells("tirs entendus", "x" * 3000))
    rows = [list(r[: len(header)]) for r in draw(st.lists(row, max_size=8))]
    data = rows_to_bytes(header, rows, draw(st.sampled_from([",", ";"])), draw(st.booleans()))
    if draw(st.integers(0, 9)) == 0:
        cut = draw(st.integers(0, len(data)))
        data = data[:cut] + draw(st.binary(max_size=8)) + data[cut:]
    return data


def counts(rt: Runtime) -> tuple[int, int, int]:
    with rt.sessions() as session:
        return tuple(  # type: ignore[return-value]
            int(session.scalar(select(func.count()).select_from(m)) or 0)
            for m in (TrustRating, Incident, Reporter)
        )


@pytest.mark.timeout(180)
@FUZZ
@given(data=st.one_of(ratings_files(), st.binary(max_size=500)))
def test_a_ratings_file_is_stored_whole_or_refused_whole(rt: Runtime, data: bytes) -> None:
    before = counts(rt)
    try:
        summary = import_ratings(rt, read_ratings(data))
    except ImportFailed as failed:
        event("refused")
        assert failed.errors and all(e.line >= 1 and e.reason for e in failed.errors)
        assert counts(rt) == before  # nothing half-stored
        return
    event("stored")
    after = counts(rt)
    assert after[0] - before[0] == summary.stored
    assert summary.stored + summary.already + summary.repeated == summary.rows
    again = import_ratings(rt, read_ratings(data))
    assert again.stored == 0
    assert counts(rt) == after


@pytest.mark.timeout(180)
@FUZZ
@given(data=st.one_of(incidents_files(), st.binary(max_size=500)))
def test_an_incidents_file_is_stored_whole_or_refused_whole(rt: Runtime, data: bytes) -> None:
    before = counts(rt)
    try:
        summary = import_incidents(rt, read_incidents(data))
    except ImportFailed as failed:
        event("refused")
        assert failed.errors and all(e.line >= 1 and e.reason for e in failed.errors)
        assert counts(rt) == before
        return
    event("stored")
    after = counts(rt)
    assert after[1] - before[1] == summary.stored
    again = import_incidents(rt, read_incidents(data))
    assert again.stored == 0
    assert counts(rt) == after
