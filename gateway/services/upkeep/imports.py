"""Importing earlier trust ratings and incidents (surveys, dialogue sessions) from CSV.

A file is checked whole first; only when every line is good is it stored, in one
transaction, so a refused import leaves nothing behind. Each line gets a `source_ref`
keyed on its normalised content, so running the same file again stores nothing twice.
Reporters are pseudonymised as they are read: a phone number gets the pseudonym its
owner has when they text; any other id is keyed under an `import:` prefix so it can
never match a phone. The raw id is never stored.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from gateway.db import transaction
from gateway.gazetteer.index import gazetteer
from gateway.models import Incident, Reporter, TrustRating
from gateway.phones import PhoneError, normalize_phone
from gateway.runtime import Runtime
from gateway.services.upkeep.imports_csv import (
    ImportFailed,
    LineError,
    LocalityResolver,
    Table,
    chunks,
    existing,
    keyed_ref,
    new_ref_codes,
    parse_when,
    read_table,
)
from gateway.upsert import insert_ignore_many

__all__ = [
    "INCIDENT_KINDS",
    "ImportFailed",
    "ImportSummary",
    "LineError",
    "Progress",
    "import_incidents",
    "import_ratings",
    "read_incidents",
    "read_ratings",
]

INCIDENT_KINDS = (
    "attack", "kidnapping", "banditry", "intercommunal", "abuse", "explosive", "threat", "other",
)  # fmt: skip
YES = {"yes", "oui", "1", "true", "y", "o"}
NO = {"no", "non", "0", "false", "n", ""}
MAX_DESCRIPTION = 2000
Progress = Callable[[int], None]


@dataclass(frozen=True)
class ImportSummary:
    rows: int  # records read from the file
    stored: int  # new rows in the database
    already: int  # lines stored by an earlier run
    repeated: int  # lines that repeat an earlier line of the same file
    top_localities: tuple[tuple[str, int], ...]  # rows read per locality, top 5


def read_ratings(data: bytes) -> Table:
    return read_table(data, ("date", "locality", "reporter", "value"), ("question",))


def read_incidents(data: bytes) -> Table:
    return read_table(data, ("date", "locality", "kind"), ("danger_now", "description"))


# --- ratings -----------------------------------------------------------------------


@dataclass(frozen=True)
class _Rating:
    rated_at: dt.datetime
    locality_id: int
    pseudonym: str
    question: str
    value: int
    ref: str


def import_ratings(rt: Runtime, table: Table, progress: Progress | None = None) -> ImportSummary:
    """Check every line of a ratings table, then store them all or nothing. Raises
    ImportFailed listing the bad lines. `progress(n)` is told of each n lines done,
    twice per line (checked, then stored)."""
    tick = progress or (lambda _n: None)
    reporters = _ReporterKeys(rt)
    ratings = _check_ratings(rt, table, reporters, tick)
    unique = list({r.ref: r for r in ratings}.values())
    with transaction(rt.sessions) as session:
        ids = _reporter_ids(session, rt, reporters, unique)
        already = existing(session, TrustRating.source_ref, (r.ref for r in unique))
        new = [r for r in unique if r.ref not in already]
        for part in chunks(new):
            insert_ignore_many(session, TrustRating.__table__, [_rating_row(r, ids) for r in part])
            tick(len(part))
    tick(len(ratings) - len(new))
    return _summary(rt, ratings, len(new), len(already), [r.locality_id for r in ratings])


def _check_ratings(
    rt: Runtime, table: Table, reporters: _ReporterKeys, tick: Progress
) -> list[_Rating]:
    now, places = rt.now(), LocalityResolver(gazetteer(rt))
    questions = {q.id for q in rt.reference.menu.questions}
    default_question = rt.reference.primary_question
    ratings: list[_Rating] = []
    errors: list[LineError] = []
    for n, (line, rec) in enumerate(table.rows, 1):
        try:
            rated_at = parse_when(rec["date"], now)
            locality_id = places(rec["locality"])
            pseudonym = reporters.pseudonym(rec["reporter"])
            value = _value(rec["value"])
            question = rec.get("question") or default_question
            if question not in questions:
                raise ValueError(
                    f"unknown question '{question}' (one of {', '.join(sorted(questions))})"
                )
        except ValueError as exc:
            errors.append(LineError(line, str(exc)))
            continue
        content = f"rating|{rated_at.isoformat()}|{locality_id}|{pseudonym}|{question}|{value}"
        ref = keyed_ref(rt.settings.phone_hash_key, content)
        ratings.append(_Rating(rated_at, locality_id, pseudonym, question, value, ref))
        if n % 1000 == 0:
            tick(1000)
    if errors:
        raise ImportFailed(errors)
    tick(len(table.rows) % 1000)
    return ratings


def _value(text: str) -> int:
    if text not in {"1", "2", "3", "4", "5"}:
        raise ValueError(f"value '{text}' is not a whole number from 1 to 5")
    return int(text)


class _ReporterKeys:
    """Pseudonyms of the reporter column, each distinct id keyed once."""

    def __init__(self, rt: Runtime) -> None:
        self._rt = rt
        self._seen: dict[str, str] = {}
        self.previous: dict[str, str] = {}  # pseudonym -> the same under the previous key

    def pseudonym(self, raw: str) -> str:
        if not raw:
            raise ValueError("reporter is empty")
        if raw not in self._seen:
            self._seen[raw] = self._key(raw)
        return self._seen[raw]

    def _key(self, raw: str) -> str:
        pseudonyms = self._rt.pseudonyms
        try:
            e164 = normalize_phone(raw, self._rt.settings.phone_regions)
        except PhoneError:
            # The same HMAC key, but a prefix no phone number has: never equal to a
            # phone's pseudonym.
            return _hmac(pseudonyms.key, "import:" + raw)
        current = pseudonyms.pseudonym(e164)
        previous = pseudonyms.previous_pseudonym(e164)
        if previous is not None:
            self.previous[current] = previous
        return current


def _hmac(key: str, text: str) -> str:
    return hmac.new(key.encode("utf-8"), text.encode("utf-8"), hashlib.sha256).hexdigest()


def _reporter_ids(
    session: Session, rt: Runtime, keys: _ReporterKeys, ratings: Sequence[_Rating]
) -> dict[str, int]:
    """Reporter ids by pseudonym, creating the reporters not yet known (dated by their
    first rating) and re-keying those known under the previous PHONE_HASH_KEY."""
    first: dict[str, dt.datetime] = {}
    for r in ratings:
        first[r.pseudonym] = min(first.get(r.pseudonym, r.rated_at), r.rated_at)
    for current, previous in keys.previous.items():
        if current in first:
            session.execute(
                update(Reporter)
                .where(Reporter.pseudonym == previous)
                .values(pseudonym=current, key_version=rt.pseudonyms.version)
            )
    rows = [
        {
            "pseudonym": p,
            "key_version": rt.pseudonyms.version,
            "opted_out": False,
            "notice_sent": False,
            "created_at": at,
        }
        for p, at in first.items()
    ]
    for part in chunks(rows):
        insert_ignore_many(session, Reporter.__table__, part)
    ids: dict[str, int] = {}
    for names in chunks(sorted(first), 500):
        query = select(Reporter.pseudonym, Reporter.id).where(Reporter.pseudonym.in_(names))
        ids.update({row.pseudonym: row.id for row in session.execute(query)})
    return ids


def _rating_row(r: _Rating, ids: dict[str, int]) -> dict[str, Any]:
    return {
        "reporter_id": ids[r.pseudonym],
        "locality_id": r.locality_id,
        "question": r.question,
        "value": r.value,
        "rated_at": r.rated_at,
        "source": "import",
        "source_ref": r.ref,
        "burst": False,
    }


# --- incidents ---------------------------------------------------------------------


@dataclass(frozen=True)
class _Incident:
    reported_at: dt.datetime
    locality_id: int
    kind: str
    danger_now: bool
    description: str | None
    ref: str


def import_incidents(rt: Runtime, table: Table, progress: Progress | None = None) -> ImportSummary:
    """As import_ratings, for incidents; descriptions are encrypted with DATA_KEY and each
    incident gets a new reference code."""
    tick = progress or (lambda _n: None)
    incidents = _check_incidents(rt, table)
    tick(len(incidents))
    unique = list({i.ref: i for i in incidents}.values())
    with transaction(rt.sessions) as session:
        already = existing(session, Incident.source_ref, (i.ref for i in unique))
        new = [i for i in unique if i.ref not in already]
        codes = new_ref_codes(session, len(new))
        for part, part_codes in zip(chunks(new), chunks(codes), strict=True):
            rows = [_incident_row(rt, i, c) for i, c in zip(part, part_codes, strict=True)]
            insert_ignore_many(session, Incident.__table__, rows)
            tick(len(part))
    tick(len(incidents) - len(new))
    return _summary(rt, incidents, len(new), len(already), [i.locality_id for i in incidents])


def _check_incidents(rt: Runtime, table: Table) -> list[_Incident]:
    now, places = rt.now(), LocalityResolver(gazetteer(rt))
    incidents: list[_Incident] = []
    errors: list[LineError] = []
    for line, rec in table.rows:
        try:
            reported_at = parse_when(rec["date"], now)
            locality_id = places(rec["locality"])
            kind = rec["kind"].lower()
            if kind not in INCIDENT_KINDS:
                raise ValueError(
                    f"unknown kind '{rec['kind']}' (one of {', '.join(INCIDENT_KINDS)})"
                )
            danger = _yes_no(rec.get("danger_now", ""))
            description = rec.get("description") or None
            if description is not None and len(description) > MAX_DESCRIPTION:
                raise ValueError(f"description is longer than {MAX_DESCRIPTION} characters")
        except ValueError as exc:
            errors.append(LineError(line, str(exc)))
            continue
        content = (
            f"incident|{reported_at.isoformat()}|{locality_id}|{kind}|{danger}|{description or ''}"
        )
        ref = keyed_ref(rt.settings.phone_hash_key, content)
        incidents.append(_Incident(reported_at, locality_id, kind, danger, description, ref))
    if errors:
        raise ImportFailed(errors)
    return incidents


def _yes_no(text: str) -> bool:
    folded = text.strip().lower()
    if folded in YES:
        return True
    if folded in NO:
        return False
    raise ValueError(f"danger_now '{text}' is not yes/no (oui/non, 1/0)")


def _incident_row(rt: Runtime, i: _Incident, code: str) -> dict[str, Any]:
    return {
        "ref_code": code,
        "kind": i.kind,
        "locality_id": i.locality_id,
        "reporter_id": None,
        # The line's date is when it happened; the coarse `occurred` is relative to it.
        "occurred": "today",
        "reported_at": i.reported_at,
        "danger_now": i.danger_now,
        "text_enc": rt.vault.encrypt(i.description) if i.description else None,
        "source": "import",
        "source_ref": i.ref,
        "burst": False,
        "details": None,
    }


# --- both --------------------------------------------------------------------------


def _summary(
    rt: Runtime, lines: Sequence[object], stored: int, already: int, localities: list[int]
) -> ImportSummary:
    places = gazetteer(rt)
    top = Counter(localities).most_common(5)
    return ImportSummary(
        rows=len(lines),
        stored=stored,
        already=already,
        repeated=len(lines) - stored - already,
        top_localities=tuple((f"{places.name_of(i)} ({places.pcodes[i]})", n) for i, n in top),
    )
