"""`import ratings` and `import incidents`: pseudonymised, all or nothing, idempotent."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from click.testing import Result
from flask import Flask
from sqlalchemy import func, select, text

from gateway.models import Incident, Reporter, TrustRating
from gateway.runtime import Runtime
from gateway.services.upkeep.imports import read_ratings
from gateway.services.upkeep.imports_csv import ImportFailed, parse_when

PHONE = "+22376123456"
GOOD_RATINGS = (
    "date,locality,reporter,value,question\n"
    f"2026-06-01,ML050109,{PHONE},4,\n"
    "2026-06-02T08:15:00,Sevare,enquete-17,2,\n"
    "2026-06-02T08:15:00+02:00,Niono,enquete-17,5,respect\n"
    "2026-06-03,Bandiagara,76 12 34 56,3,protection\n"
)


def run_cli(app: Flask, *args: str) -> Result:
    return app.test_cli_runner().invoke(args=list(args))


def write(tmp_path: Path, content: str | bytes, name: str = "data.csv") -> str:
    path = tmp_path / name
    if isinstance(content, str):
        path.write_text(content, "utf-8")
    else:
        path.write_bytes(content)
    return str(path)


def count(rt: Runtime, model: type[TrustRating] | type[Incident] | type[Reporter]) -> int:
    with rt.sessions() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def dump(rt: Runtime, table: str) -> str:
    with rt.engine.connect() as conn:
        return repr(conn.execute(text(f"SELECT * FROM {table}")).all())


def test_a_good_ratings_file_is_stored_with_pseudonyms(
    app: Flask, rt: Runtime, tmp_path: Path
) -> None:
    result = run_cli(app, "import", "ratings", write(tmp_path, GOOD_RATINGS))
    assert result.exit_code == 0, result.output
    assert "4 rows read, 4 stored, 0 already present" in result.output
    with rt.sessions() as session:
        rows = session.execute(
            select(TrustRating.value, TrustRating.question, TrustRating.rated_at,
                   TrustRating.source, Reporter.pseudonym)
            .join(Reporter, Reporter.id == TrustRating.reporter_id)
            .order_by(TrustRating.rated_at)
        ).all()  # fmt: skip
    assert [(r.value, r.question) for r in rows] == [
        (4, "trust_dsf"), (5, "respect"), (2, "trust_dsf"), (3, "protection"),
    ]  # fmt: skip
    assert rows[0].rated_at == dt.datetime(2026, 6, 1, 12, tzinfo=dt.UTC)  # a date is noon UTC
    assert rows[1].rated_at == dt.datetime(2026, 6, 2, 6, 15, tzinfo=dt.UTC)
    assert {r.source for r in rows} == {"import"}
    # The phone gets the pseudonym its owner has when texting, written either way.
    assert rows[0].pseudonym == rows[3].pseudonym == rt.pseudonyms.pseudonym(PHONE)
    # Any other id is keyed under a prefix, so it never equals a phone's pseudonym.
    assert rows[1].pseudonym == rows[2].pseudonym != rt.pseudonyms.pseudonym("enquete-17")
    assert count(rt, Reporter) == 2
    stored = dump(rt, "trust_ratings") + dump(rt, "reporters")
    for raw in (PHONE, "76123456", "enquete-17"):
        assert raw not in stored


def test_running_the_same_file_again_stores_nothing_twice(
    app: Flask, rt: Runtime, tmp_path: Path
) -> None:
    path = write(tmp_path, GOOD_RATINGS + "2026-06-01,ML050109,+223 76 12 34 56,4,\n")
    first = run_cli(app, "import", "ratings", path)
    assert "5 rows read, 4 stored, 0 already present, 1 repeated" in first.output
    again = run_cli(app, "import", "ratings", path)
    assert again.exit_code == 0, again.output
    assert "5 rows read, 0 stored, 4 already present" in again.output
    assert count(rt, TrustRating) == 4


@pytest.mark.parametrize(
    ("label", "line", "reason"),
    [
        ("value 7", "2026-06-04,Mopti,r1,7", "value '7' is not a whole number from 1 to 5"),
        ("unknown locality", "2026-06-04,Atlantis,r1,3", "unknown locality 'Atlantis'"),
        (
            "ambiguous name",
            "2026-06-04,Benkadi,r1,3",
            "locality 'Benkadi' is ambiguous: Ben Kadi (ML020601), Benkadi",
        ),
        ("bad date", "2026-13-04,Mopti,r1,3", "date '2026-13-04' is not an ISO date"),
        ("future date", "2027-01-01,Mopti,r1,3", "date '2027-01-01' is in the future"),
        ("missing column", "2026-06-04,Mopti,3", "expected 4 fields"),
        ("unknown question", "2026-06-04,Mopti,r1,3", "unknown question 'mood'"),
    ],
)
def test_a_bad_line_refuses_the_whole_file(
    app: Flask, rt: Runtime, tmp_path: Path, label: str, line: str, reason: str
) -> None:
    header, good = "date,locality,reporter,value", "2026-06-01,Mopti,r0,4"
    if label == "unknown question":
        header, good, line = header + ",question", good + ",", line + ",mood"
    content = f"{header}\n{good}\n{good.replace('r0', 'r9')}\n{line}\n{good}\n"
    result = run_cli(app, "import", "ratings", write(tmp_path, content))
    assert result.exit_code != 0
    assert f"line 4: {reason}" in result.output
    assert "nothing was imported" in result.output
    assert count(rt, TrustRating) == count(rt, Reporter) == 0


def test_every_bad_line_is_listed_up_to_twenty(app: Flask, rt: Runtime, tmp_path: Path) -> None:
    lines = "".join(f"2026-06-01,Mopti,r{n},{n % 7 + 3}\n" for n in range(60))
    result = run_cli(
        app, "import", "ratings", write(tmp_path, "date,locality,reporter,value\n" + lines)
    )
    assert result.exit_code != 0
    assert result.output.count(" is not a whole number from 1 to 5") == 20
    bad = sum(n % 7 + 3 > 5 for n in range(60))
    assert f"... and {bad - 20} more" in result.output and f"{bad} bad line(s)" in result.output


def test_a_file_that_is_not_utf8_is_refused_naming_the_line(
    app: Flask, rt: Runtime, tmp_path: Path
) -> None:
    content = "date,locality,reporter,value\n2026-06-01,Mopti,r1,4\n2026-06-01,Ségou,r2,4\n"
    result = run_cli(app, "import", "ratings", write(tmp_path, content.encode("latin-1")))
    assert result.exit_code != 0
    assert "line 3: the file is not UTF-8 text (byte 0xe9)" in result.output
    assert count(rt, TrustRating) == 0


def test_a_bom_and_semicolons_are_accepted(app: Flask, rt: Runtime, tmp_path: Path) -> None:
    content = "\ufeffdate;locality;reporter;value\n2026-06-01;Ségou;r1;4\n"
    result = run_cli(app, "import", "ratings", write(tmp_path, content))
    assert result.exit_code == 0, result.output
    assert "Ségou (ML040224)" in result.output


def test_a_header_with_a_missing_or_unknown_column_is_refused(
    app: Flask, rt: Runtime, tmp_path: Path
) -> None:
    result = run_cli(
        app,
        "import",
        "ratings",
        write(tmp_path, "date,locality,reporter,valeur\n2026-06-01,Mopti,r1,4\n"),
    )
    assert result.exit_code != 0
    assert "line 1: missing column 'value'; unknown column 'valeur'" in result.output


def test_incidents_are_imported_with_encrypted_descriptions(
    app: Flask, rt: Runtime, tmp_path: Path
) -> None:
    content = (
        "date,locality,kind,danger_now,description\n"
        "2026-10-01,Mopti,attack,oui,tirs entendus pres du marche\n"
        "2026-10-02T22:00Z,ML040506,banditry,no,\n"
        "2026-10-03,Niono,threat,,hommes armes vus\n"
    )
    path = write(tmp_path, content)
    result = run_cli(app, "import", "incidents", path)
    assert result.exit_code == 0, result.output
    assert "3 rows read, 3 stored" in result.output
    with rt.sessions() as session:
        incidents = session.scalars(select(Incident).order_by(Incident.reported_at)).all()
    assert [(i.kind, i.danger_now, i.source) for i in incidents] == [
        ("attack", True, "import"), ("banditry", False, "import"), ("threat", False, "import"),
    ]  # fmt: skip
    assert len({i.ref_code for i in incidents}) == 3
    assert incidents[0].text_enc and rt.vault.decrypt(incidents[0].text_enc) == (
        "tirs entendus pres du marche"
    )
    assert incidents[1].text_enc is None
    assert "tirs entendus" not in dump(rt, "incidents")
    again = run_cli(app, "import", "incidents", path)
    assert "0 stored, 3 already present" in again.output
    assert count(rt, Incident) == 3


def test_an_unknown_incident_kind_or_danger_is_a_line_error(
    app: Flask, rt: Runtime, tmp_path: Path
) -> None:
    content = (
        "date,locality,kind,danger_now\n"
        "2026-10-01,Mopti,attack,yes\n"
        "2026-10-01,Mopti,fire,peut-etre\n"
    )
    result = run_cli(app, "import", "incidents", write(tmp_path, content))
    assert result.exit_code != 0
    assert "line 3: unknown kind 'fire'" in result.output
    assert count(rt, Incident) == 0


def test_dates_without_time_or_offset_are_read_as_utc() -> None:
    now = dt.datetime(2026, 11, 2, 9, 30, tzinfo=dt.UTC)
    assert parse_when("2026-11-01", now) == dt.datetime(2026, 11, 1, 12, tzinfo=dt.UTC)
    assert parse_when("2026-11-02", now) == now  # noon today has not come yet
    assert parse_when("2026-11-01 07:00", now) == dt.datetime(2026, 11, 1, 7, tzinfo=dt.UTC)
    with pytest.raises(ValueError, match="before 2000"):
        parse_when("1999-12-31", now)


def test_a_header_only_file_reads_as_empty() -> None:
    assert read_ratings(b"date,locality,reporter,value\n").rows == []
    with pytest.raises(ImportFailed, match="line 1: the file is empty"):
        read_ratings(b"\n\n")


@pytest.mark.slow
def test_a_hundred_thousand_lines_import_in_well_under_a_minute(
    app: Flask, rt: Runtime, tmp_path: Path
) -> None:
    places = ["Mopti", "Sevare", "ML040506", "Bandiagara", "Kidal", "Gao", "Niono", "Djenné"]
    lines = [
        f"2026-{n % 9 + 1:02d}-{n % 28 + 1:02d},{places[n % 8]},"
        f"{'+2237600' + str(n % 5000).zfill(4) if n % 2 else 'p' + str(n % 3000)},{n % 5 + 1}\n"
        for n in range(100_000)
    ]
    path = write(tmp_path, "date,locality,reporter,value\n" + "".join(lines))
    result = run_cli(app, "import", "ratings", path)
    assert result.exit_code == 0, result.output
    assert "100000 rows read" in result.output
    stored = int(result.output.split(" stored")[0].rsplit(" ", 1)[1])
    assert stored > 50_000 and count(rt, TrustRating) == stored
