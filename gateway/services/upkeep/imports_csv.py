"""Reading import files: UTF-8 CSV (with or without BOM) with a checked header, and
the per-line parsers the imports share. Every problem becomes a `LineError`, so a file
is checked whole before anything is stored."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import hmac
import io
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.orm import InstrumentedAttribute, Session

from gateway.gazetteer.index import Gazetteer, unresolved
from gateway.models import Incident
from gateway.services.intake.reports import new_ref_code

T = TypeVar("T")
CHUNK = 2000
# Dates before this are typing mistakes rather than old surveys.
EARLIEST = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
_NOON = dt.time(12, 0, tzinfo=dt.UTC)


@dataclass(frozen=True)
class LineError:
    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


class ImportFailed(Exception):
    """The file was refused; `errors` holds every problem found, in line order."""

    def __init__(self, errors: Sequence[LineError]) -> None:
        self.errors = tuple(sorted(errors, key=lambda e: e.line))
        super().__init__("; ".join(str(e) for e in self.errors[:3]))


@dataclass(frozen=True)
class Table:
    """A checked CSV file: its column names and its records with their line numbers."""

    columns: tuple[str, ...]
    rows: list[tuple[int, dict[str, str]]]


def read_table(data: bytes, required: Sequence[str], optional: Sequence[str] = ()) -> Table:
    """Decode and split `data`; raise ImportFailed for a file that is not UTF-8, a
    header with missing, unknown or repeated columns, or lines with the wrong number of
    fields. Values are stripped; blank lines are skipped."""
    text = _decode(data)
    delimiter = _delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        header = next((row for row in reader if any(cell.strip() for cell in row)), None)
        if header is None:
            raise ImportFailed([LineError(1, "the file is empty")])
        columns = tuple(cell.strip().lower() for cell in header)
        _check_header(columns, required, optional, reader.line_num)
        rows: list[tuple[int, dict[str, str]]] = []
        errors: list[LineError] = []
        for record in reader:
            if not any(cell.strip() for cell in record):
                continue
            if len(record) != len(columns):
                errors.append(LineError(reader.line_num, _width_error(columns, len(record))))
                continue
            rows.append(
                (reader.line_num, {c: v.strip() for c, v in zip(columns, record, strict=True)})
            )
    except csv.Error as exc:
        raise ImportFailed([LineError(reader.line_num, f"not valid CSV ({exc})")]) from exc
    if errors:
        raise ImportFailed(errors)
    return Table(columns, rows)


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        byte = data[exc.start : exc.start + 1].hex()
        raise ImportFailed(
            [LineError(line, f"the file is not UTF-8 text (byte 0x{byte}); save it as UTF-8")]
        ) from exc


def _delimiter(text: str) -> str:
    """A comma, or the semicolon that spreadsheets in French write instead."""
    first = text.lstrip("\r\n").split("\n", 1)[0]
    return ";" if ";" in first and "," not in first else ","


def _check_header(
    columns: tuple[str, ...], required: Sequence[str], optional: Sequence[str], line: int
) -> None:
    known = (*required, *optional)
    problems = [f"missing column '{c}'" for c in required if c not in columns]
    problems += [f"unknown column '{c}'" for c in columns if c not in known]
    problems += [f"column '{c}' twice" for c in sorted(set(columns)) if columns.count(c) > 1]
    if problems:
        expected = ",".join(required) + "".join(f" [,{c}]" for c in optional)
        raise ImportFailed([LineError(line, f"{'; '.join(problems)} (expected {expected})")])


def _width_error(columns: tuple[str, ...], found: int) -> str:
    return f"expected {len(columns)} fields ({','.join(columns)}), found {found}"


def parse_when(text: str, now: dt.datetime) -> dt.datetime:
    """An ISO date (noon UTC that day, or now if that is still to come today) or date-time
    (UTC when it has no offset). ValueError saying what is expected otherwise."""
    raw = text.strip()
    try:
        if "T" in raw or " " in raw or ":" in raw:
            value = dt.datetime.fromisoformat(raw)
            value = value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value
            value = value.astimezone(dt.UTC)
        else:
            day = dt.date.fromisoformat(raw)
            value = (
                min(dt.datetime.combine(day, _NOON), now)
                if day == now.date()
                else (dt.datetime.combine(day, _NOON))
            )
    except ValueError as exc:
        raise ValueError(
            f"date '{raw}' is not an ISO date (2026-05-31) or date-time (2026-05-31T14:30)"
        ) from exc
    if value > now:
        raise ValueError(f"date '{raw}' is in the future")
    if value < EARLIEST:
        raise ValueError(f"date '{raw}' is before {EARLIEST:%Y}")
    return value


class LocalityResolver:
    """Turns the locality column into locality ids, resolving each distinct text once."""

    def __init__(self, gaz: Gazetteer) -> None:
        self._gaz = gaz
        self._seen: dict[str, int | str] = {}

    def __call__(self, text: str) -> int:
        """The locality id; ValueError naming the candidates when the name is ambiguous."""
        if text not in self._seen:
            self._seen[text] = self._resolve(text)
        found = self._seen[text]
        if isinstance(found, str):
            raise ValueError(found)
        return found

    def _resolve(self, text: str) -> int | str:
        if not text:
            return "locality is empty"
        found = self._gaz.lookup(text)
        return found if found is not None else unresolved(self._gaz, text)


def keyed_ref(key: str, content: str) -> str:
    """`import:` and a keyed hash of a normalised line: the same line gives the same
    reference on every run, and the reference reveals nothing of its content."""
    digest = hmac.new(key.encode("utf-8"), content.encode("utf-8"), hashlib.sha256)
    return "import:" + digest.hexdigest()[:48]


def chunks(items: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def existing(
    session: Session, column: InstrumentedAttribute[str], values: Iterable[str]
) -> set[str]:
    """Which of `values` the column already holds (queried in chunks)."""
    found: set[str] = set()
    for part in chunks(sorted(set(values)), 500):
        found.update(session.scalars(select(column).where(column.in_(part))))
    return found


def new_ref_codes(session: Session, count: int) -> list[str]:
    """`count` new incident reference codes, distinct and not yet in the database."""
    codes: set[str] = set()
    while len(codes) < count:
        fresh = {new_ref_code() for _ in range(count - len(codes))} - codes
        codes |= fresh - existing(session, Incident.ref_code, fresh)
    return sorted(codes)
