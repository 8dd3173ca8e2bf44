"""Reading and checking the gazetteer CSVs shipped in gateway/data/gazetteer/.

Standard library only. The files are produced by scripts/build_gazetteer.py (see
PROVENANCE.md next to them). Every problem is reported as
`GazetteerError("<file>:<line>: <reason>")` so a bad edit is easy to find.
"""

from __future__ import annotations

import csv
import math
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "DATA_DIR",
    "KINDS",
    "GazetteerError",
    "LocalityRow",
    "PlaceRow",
    "read_localities",
    "read_places",
]

DATA_DIR = Path(__file__).resolve().parents[1] / "data" / "gazetteer"
LOCALITIES_FILE = "localities.csv"
PLACES_FILE = "places.csv"

KINDS = ("region", "cercle", "commune", "camp")
PLACE_KINDS = ("town", "village", "alt-name")
# The kind a parent must have, per child kind (camps have no parent).
_PARENT_KIND = {"region": None, "cercle": "region", "commune": "cercle", "camp": None}
# Counts the shipped files must have (checked only when reading the default file).
EXPECTED_COUNTS = {"region": 11, "cercle": 53, "camp": 5}
MIN_COMMUNES = 700

# The files' columns, in order (the reader checks them; scripts/build_gazetteer.py writes them).
LOCALITY_COLUMNS = (
    "pcode",
    "kind",
    "name",
    "parent_pcode",
    "lat",
    "lon",
    "country",
    "code_scheme",
    "aliases",
)
PLACE_COLUMNS = ("name", "commune_pcode", "lat", "lon", "kind")


class GazetteerError(ValueError):
    """A gazetteer file is missing, malformed or inconsistent."""


@dataclass(frozen=True)
class LocalityRow:
    pcode: str
    kind: str
    name: str
    parent_pcode: str | None
    lat: float | None
    lon: float | None
    country: str
    code_scheme: str
    aliases: tuple[str, ...]


@dataclass(frozen=True)
class PlaceRow:
    name: str
    commune_pcode: str
    lat: float | None
    lon: float | None
    kind: str


def _rows(path: Path, columns: tuple[str, ...]) -> Iterator[tuple[int, dict[str, str]]]:
    """Yield (line number, row) for each data row, after checking the header."""
    name = path.name
    try:
        fh = path.open(encoding="utf-8", newline="")
    except OSError as exc:
        raise GazetteerError(f"{name}:0: cannot open ({exc.strerror or exc})") from exc
    with fh:
        reader = csv.reader(fh)
        try:
            header = next(reader, None)
            if header is None:
                raise GazetteerError(f"{name}:1: empty file (no header row)")
            missing = [c for c in columns if c not in header]
            if missing:
                raise GazetteerError(f"{name}:1: missing column(s) {', '.join(missing)}")
            index = {c: header.index(c) for c in columns}
            for fields in reader:
                line = reader.line_num
                if not fields or all(not f.strip() for f in fields):
                    continue
                if len(fields) != len(header):
                    raise GazetteerError(
                        f"{name}:{line}: expected {len(header)} fields, found {len(fields)}"
                    )
                yield line, {c: fields[i].strip() for c, i in index.items()}
        except csv.Error as exc:
            raise GazetteerError(f"{name}:{reader.line_num}: bad CSV ({exc})") from exc
        except UnicodeDecodeError as exc:
            raise GazetteerError(f"{name}:{reader.line_num}: not UTF-8 ({exc.reason})") from exc


def _coord(value: str, *, limit: float, what: str, where: str) -> float | None:
    if not value:
        return None
    try:
        number = float(value)
    except ValueError:
        raise GazetteerError(f"{where}: bad float for {what}: {value!r}") from None
    if not math.isfinite(number) or abs(number) > limit:
        raise GazetteerError(f"{where}: {what} out of range: {value!r}")
    return number


def read_localities(path: Path | str | None = None) -> list[LocalityRow]:
    """All localities (regions, cercles, communes, camps), in file order.

    Checks: required columns, known kind, non-empty pcode/name, floats in range,
    unique pcode, every parent present with the right kind. For the shipped file
    (no `path`), also the expected counts (11 regions, 53 cercles, 700+ communes,
    5 camps)."""
    file = Path(path) if path is not None else DATA_DIR / LOCALITIES_FILE
    name = file.name
    rows: list[LocalityRow] = []
    lines: dict[str, int] = {}
    for line, r in _rows(file, LOCALITY_COLUMNS):
        where = f"{name}:{line}"
        _check_locality(r, where, lines)
        lines[r["pcode"]] = line
        rows.append(_locality_row(r, where))
    _check_parents(rows, {pcode: f"{name}:{line}" for pcode, line in lines.items()})
    if path is None:
        _check_counts(rows, name)
    return rows


def _check_locality(r: dict[str, str], where: str, lines: dict[str, int]) -> None:
    if not r["pcode"]:
        raise GazetteerError(f"{where}: empty pcode")
    if r["kind"] not in KINDS:
        raise GazetteerError(f"{where}: unknown kind {r['kind']!r}")
    if not r["name"]:
        raise GazetteerError(f"{where}: empty name")
    if r["pcode"] in lines:
        raise GazetteerError(
            f"{where}: duplicate pcode {r['pcode']} (first on line {lines[r['pcode']]})"
        )
    if len(r["country"]) != 2:
        raise GazetteerError(f"{where}: bad country code {r['country']!r}")
    if not r["code_scheme"]:
        raise GazetteerError(f"{where}: empty code_scheme")


def _locality_row(r: dict[str, str], where: str) -> LocalityRow:
    return LocalityRow(
        pcode=r["pcode"],
        kind=r["kind"],
        name=r["name"],
        parent_pcode=r["parent_pcode"] or None,
        lat=_coord(r["lat"], limit=90, what="lat", where=where),
        lon=_coord(r["lon"], limit=180, what="lon", where=where),
        country=r["country"],
        code_scheme=r["code_scheme"],
        aliases=tuple(a.strip() for a in r["aliases"].split("|") if a.strip()),
    )


def _check_parents(rows: list[LocalityRow], where_of: dict[str, str]) -> None:
    by_pcode = {row.pcode: row for row in rows}
    for row in rows:
        where = where_of[row.pcode]
        wanted = _PARENT_KIND[row.kind]
        if row.parent_pcode is None:
            if wanted is not None:
                raise GazetteerError(f"{where}: {row.kind} {row.pcode} has no parent")
            continue
        parent = by_pcode.get(row.parent_pcode)
        if parent is None:
            raise GazetteerError(f"{where}: unknown parent {row.parent_pcode} of {row.pcode}")
        if parent.kind != wanted:
            raise GazetteerError(
                f"{where}: parent {row.parent_pcode} of {row.kind} {row.pcode} is a "
                f"{parent.kind}, expected a {wanted}"
            )


def _check_counts(rows: list[LocalityRow], name: str) -> None:
    counts = Counter(row.kind for row in rows)
    for kind, expected in EXPECTED_COUNTS.items():
        if counts[kind] != expected:
            raise GazetteerError(f"{name}:0: expected {expected} {kind} rows, found {counts[kind]}")
    if counts["commune"] < MIN_COMMUNES:
        raise GazetteerError(
            f"{name}:0: expected {MIN_COMMUNES}+ communes, found {counts['commune']}"
        )


def read_places(path: Path | str | None = None, communes: set[str] | None = None) -> list[PlaceRow]:
    """Towns, villages and alternate town spellings, each pointing at a commune.

    `communes` = the known commune pcodes; by default those of the shipped
    localities.csv. A place whose commune is not among them is an error."""
    file = Path(path) if path is not None else DATA_DIR / PLACES_FILE
    if communes is None:
        communes = {r.pcode for r in read_localities() if r.kind == "commune"}
    name = file.name
    rows: list[PlaceRow] = []
    for line, r in _rows(file, PLACE_COLUMNS):
        where = f"{name}:{line}"
        if not r["name"]:
            raise GazetteerError(f"{where}: empty name")
        if r["kind"] not in PLACE_KINDS:
            raise GazetteerError(f"{where}: unknown place kind {r['kind']!r}")
        if r["commune_pcode"] not in communes:
            raise GazetteerError(f"{where}: unknown commune {r['commune_pcode']!r}")
        rows.append(
            PlaceRow(
                name=r["name"],
                commune_pcode=r["commune_pcode"],
                lat=_coord(r["lat"], limit=90, what="lat", where=where),
                lon=_coord(r["lon"], limit=180, what="lon", where=where),
                kind=r["kind"],
            )
        )
    return rows
