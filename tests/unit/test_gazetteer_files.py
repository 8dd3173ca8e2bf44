"""The shipped gazetteer CSVs and their reader."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from gateway.gazetteer.files import (
    DATA_DIR,
    GazetteerError,
    LocalityRow,
    PlaceRow,
    read_localities,
    read_places,
)

HEADER = "pcode,kind,name,parent_pcode,lat,lon,country,code_scheme,aliases\n"
GOOD = (
    HEADER
    + "ML05,region,Mopti,,14.69,-3.55,ML,cod2021,\n"
    + "ML0506,cercle,Mopti,ML05,14.75,-4.10,ML,cod2021,\n"
    + "ML050109,commune,Mopti,ML0506,14.49,-4.18,ML,cod2015,Mopti Commune|Moti\n"
    + "CAMP-MR-MBERA,camp,Mbera,,15.64,-5.75,MR,gateway,M'berra\n"
)


@pytest.fixture(scope="module")
def localities() -> list[LocalityRow]:
    return read_localities()


@pytest.fixture(scope="module")
def places() -> list[PlaceRow]:
    return read_places()


def test_counts(localities: list[LocalityRow]) -> None:
    counts = Counter(r.kind for r in localities)
    assert counts["region"] == 11
    assert counts["cercle"] == 53
    assert counts["commune"] >= 700
    assert counts["camp"] == 5
    regions = {r.pcode: r for r in localities if r.kind == "region"}
    assert {f"ML{i:02d}" for i in range(1, 11)} <= set(regions)
    assert regions["ML10"].name == "Ménaka"
    assert regions["ML09"].name == "Bamako"
    assert regions["ML-TAO"].name == "Taoudénit"
    assert regions["ML-TAO"].code_scheme == "gateway"
    assert regions["ML04"].name == "Ségou"


def test_every_parent_exists_and_has_the_right_kind(localities: list[LocalityRow]) -> None:
    by_pcode = {r.pcode: r for r in localities}
    assert len(by_pcode) == len(localities)
    parent_kind = {"cercle": "region", "commune": "cercle"}
    for row in localities:
        if row.kind in ("region", "camp"):
            assert row.parent_pcode is None
        else:
            assert row.parent_pcode in by_pcode
            assert by_pcode[row.parent_pcode].kind == parent_kind[row.kind]


def test_cercles_per_region(localities: list[LocalityRow]) -> None:
    per_region = Counter(r.parent_pcode for r in localities if r.kind == "cercle")
    assert per_region == {
        "ML01": 7, "ML02": 7, "ML03": 7, "ML04": 7, "ML05": 8,
        "ML06": 5, "ML07": 3, "ML08": 4, "ML09": 1, "ML10": 4,
    }  # fmt: skip


def test_commune_names_are_cleaned(localities: list[LocalityRow]) -> None:
    communes = {r.pcode: r for r in localities if r.kind == "commune"}
    assert not [r.name for r in communes.values() if r.name.endswith(" Commune")]
    assert communes["ML050109"].name == "Mopti"
    assert "Mopti Commune" in communes["ML050109"].aliases
    assert communes["ML010109"].name == "Guidimakan Keri Kaffo"  # was truncated by DBF
    assert communes["ML050503"].name == "Djenné"
    assert "Timbuktu" in communes["ML060106"].aliases
    # the four ex-Ménaka-cercle communes hang under the 2021 Ménaka cercles
    assert communes["ML070403"].parent_pcode == "ML1001"
    assert all(r.code_scheme == "cod2015" for r in communes.values())


def test_camps(localities: list[LocalityRow]) -> None:
    camps = {r.pcode: r for r in localities if r.kind == "camp"}
    assert set(camps) == {
        "CAMP-MR-MBERA",
        "CAMP-NE-ABALA",
        "CAMP-NE-MANGAIZE",
        "CAMP-NE-TABAREYBAREY",
        "CAMP-NE-INTIKANE",
    }
    assert camps["CAMP-MR-MBERA"].country == "MR"
    assert {r.country for r in camps.values()} == {"MR", "NE"}


def test_places_point_to_communes(localities: list[LocalityRow], places: list[PlaceRow]) -> None:
    communes = {r.pcode for r in localities if r.kind == "commune"}
    assert len(places) > 15_000
    assert all(p.commune_pcode in communes for p in places)
    sevare = [p for p in places if p.name == "Sévaré"]
    assert [(p.commune_pcode, p.kind) for p in sevare] == [("ML050109", "town")]
    keys = Counter((p.name, p.commune_pcode) for p in places)
    assert keys.most_common(1)[0][1] == 1


def test_files_are_small_and_documented() -> None:
    total = sum(f.stat().st_size for f in DATA_DIR.iterdir() if f.is_file())
    assert total < 3_000_000
    provenance = (DATA_DIR / "PROVENANCE.md").read_text(encoding="utf-8")
    for name in ("localities.csv", "places.csv", "ML-TAO", "2015"):
        assert name in provenance


def test_custom_path_reads(tmp_path: Path) -> None:
    f = tmp_path / "loc.csv"
    f.write_text(GOOD, encoding="utf-8")
    rows = read_localities(f)
    assert [r.pcode for r in rows] == ["ML05", "ML0506", "ML050109", "CAMP-MR-MBERA"]
    assert rows[2].aliases == ("Mopti Commune", "Moti")
    assert rows[0].parent_pcode is None and rows[0].lat == pytest.approx(14.69)
    p = tmp_path / "places.csv"
    p.write_text("name,commune_pcode,lat,lon,kind\nSévaré,ML050109,,,town\n", encoding="utf-8")
    assert read_places(p, communes={"ML050109"}) == [
        PlaceRow("Sévaré", "ML050109", None, None, "town")
    ]


@pytest.mark.parametrize(
    "content,line,reason",
    [
        (HEADER.replace(",aliases", ""), 1, "missing column(s) aliases"),
        ("", 1, "empty file"),
        (GOOD + "ML0501,cercle,Bandiagara,ML05,abc,-3.6,ML,cod2021,\n", 6, "bad float for lat"),
        (GOOD + "ML0501,cercle,Bandiagara,ML05,14.3,-300,ML,cod2021,\n", 6, "lon out of range"),
        (GOOD + "ML0501,cercle,Bandiagara,ML99,14.3,-3.6,ML,cod2021,\n", 6, "unknown parent ML99"),
        (
            GOOD + "ML0506,cercle,Mopti bis,ML05,14.3,-3.6,ML,cod2021,\n",
            6,
            "duplicate pcode ML0506",
        ),
        (GOOD + "ML0501,town,Bandiagara,ML05,14.3,-3.6,ML,cod2021,\n", 6, "unknown kind 'town'"),
        (GOOD + "ML0501,cercle,,ML05,14.3,-3.6,ML,cod2021,\n", 6, "empty name"),
        (GOOD + "ML0501,cercle,Bandiagara,ML05,14.3\n", 6, "expected 9 fields, found 5"),
        (GOOD + "ML0501,cercle,Bandiagara,,14.3,-3.6,ML,cod2021,\n", 6, "has no parent"),
        (GOOD + "ML0501,cercle,Bandiagara,ML0506,1,1,ML,cod2021,\n", 6, "expected a region"),
    ],
)
def test_bad_locality_files(tmp_path: Path, content: str, line: int, reason: str) -> None:
    f = tmp_path / "bad_localities.csv"
    f.write_text(content, encoding="utf-8")
    with pytest.raises(GazetteerError) as err:
        read_localities(f)
    message = str(err.value)
    assert message.startswith(f"bad_localities.csv:{line}: "), message
    assert reason in message


@pytest.mark.parametrize(
    "content,line,reason",
    [
        ("name,commune_pcode,lat,kind\n", 1, "missing column(s) lon"),
        (
            "name,commune_pcode,lat,lon,kind\nA,ML050109,1,1,village\nB,ML999999,1,1,village\n",
            3,
            "unknown commune 'ML999999'",
        ),
        ("name,commune_pcode,lat,lon,kind\nA,ML050109,north,1,village\n", 2, "bad float for lat"),
        ("name,commune_pcode,lat,lon,kind\nA,ML050109,1,1,hamlet\n", 2, "unknown place kind"),
        ("name,commune_pcode,lat,lon,kind\n,ML050109,1,1,village\n", 2, "empty name"),
    ],
)
def test_bad_place_files(tmp_path: Path, content: str, line: int, reason: str) -> None:
    f = tmp_path / "bad_places.csv"
    f.write_text(content, encoding="utf-8")
    with pytest.raises(GazetteerError) as err:
        read_places(f, communes={"ML050109"})
    message = str(err.value)
    assert message.startswith(f"bad_places.csv:{line}: "), message
    assert reason in message


def test_missing_file_and_bad_encoding(tmp_path: Path) -> None:
    with pytest.raises(GazetteerError, match=r"nope\.csv:0: cannot open"):
        read_localities(tmp_path / "nope.csv")
    f = tmp_path / "latin1.csv"
    f.write_bytes((HEADER + "ML05,region,S\xe9gou,,1,1,ML,cod2021,\n").encode("latin-1"))
    with pytest.raises(GazetteerError, match=r"latin1\.csv:\d+: not UTF-8"):
        read_localities(f)
