"""Locality matcher against the shipped gazetteer (gateway/data/gazetteer)."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.domain.locality_match import Candidate, Entry, LocalityIndex, Place
from gateway.gazetteer.files import read_localities, read_places


@pytest.fixture(scope="module")
def index() -> LocalityIndex:
    return LocalityIndex.build(read_localities(), read_places())


# (what a citizen types, expected pcode of the top candidate)
SPELLINGS: list[tuple[str, str]] = [
    # --- commune / town names: accents, case, spacing -------------------------------
    ("Mopti", "ML050109"),
    ("MOPTI", "ML050109"),
    ("mopti commune", "ML050109"),
    ("Ségou", "ML040224"),
    ("segou", "ML040224"),
    ("SEGOU", "ML040224"),
    ("Segu", "ML040224"),
    ("segou koro", "ML040224"),
    ("segoukoro", "ML040224"),
    ("Ségou-Koro", "ML040224"),
    ("Sikasso", "ML030737"),
    ("sikasso", "ML030737"),
    ("Sikaso", "ML030737"),
    ("Kayes", "ML010112"),
    ("Kayess", "ML010112"),
    ("Kati", "ML020518"),
    ("Koulikoro", "ML020104"),
    ("koulikoro", "ML020104"),
    ("Kulikoro", "ML020104"),
    ("koulikouro", "ML020104"),
    ("Koutiala", "ML030516"),
    ("koutialla", "ML030516"),
    ("Kutiala", "ML030516"),
    ("Bougouni", "ML030602"),
    ("bougounni", "ML030602"),
    ("Djenné", "ML050503"),
    ("djenne", "ML050503"),
    ("Djene", "ML050503"),
    ("Jenne", "ML050503"),
    ("dienne", "ML050503"),
    ("Bandiagara", "ML050201"),
    ("bandiagarra", "ML050201"),
    ("Banjagara", "ML050201"),
    ("Douentza", "ML050606"),
    ("douenza", "ML050606"),
    ("Ténenkou", "ML050808"),
    ("tenenkou", "ML050808"),
    ("Goundam", "ML060308"),
    ("goundame", "ML060308"),
    ("San", "ML040417"),
    ("Kita", "ML010513"),
    ("Nioro", "ML010610"),
    ("Nioro du Sahel", "ML010610"),
    ("nioro-du-sahel", "ML010610"),
    ("Tombouctou", "ML060106"),
    ("tombouctou", "ML060106"),
    ("Tombuktu", "ML060106"),
    ("timbuktu", "ML060106"),
    ("Timbuctoo", "ML060106"),
    ("Tomboctou", "ML060106"),
    ("tombouctu", "ML060106"),
    ("Gao", "ML070103"),
    ("gao ville", "ML070103"),
    ("Kidal", "ML080102"),
    ("kidale", "ML080102"),
    ("Ménaka", "ML070403"),
    ("menaka", "ML070403"),
    ("Menanka", "ML070403"),
    ("Ansongo", "ML070201"),
    ("ansongho", "ML070201"),
    ("Bourem", "ML070302"),
    ("bourrem", "ML070302"),
    ("Tessalit", "ML080403"),
    ("tesalit", "ML080403"),
    ("Tin Essako", "ML080201"),
    ("tinessako", "ML080201"),
    ("Ti-n-Essako", "ML080201"),
    ("Léré", "ML060505"),
    ("lere", "ML060505"),
    ("Ber", "ML060102"),
    ("Gossi", "ML060403"),
    ("gosi", "ML060403"),
    ("Hombori", "ML050609"),
    ("hombory", "ML050609"),
    ("Konna", "ML050105"),
    ("Diabaly", "ML040501"),
    ("Diabali", "ML040501"),
    ("diaballi", "ML040501"),
    ("Talataye", "ML070205"),
    ("Tessit", "ML070206"),
    ("Niono", "ML040506"),
    ("niyono", "ML040506"),
    ("Markala", "ML040216"),
    ("marakala", "ML040216"),
    ("Macina", "ML040705"),
    ("Tominian", "ML040611"),
    ("tominiann", "ML040611"),
    ("Bla", "ML040302"),
    ("Koro", "ML050711"),
    ("Bankass", "ML050301"),
    ("Bankas", "ML050301"),
    ("Yorosso", "ML030209"),
    ("Kadiolo", "ML030104"),
    ("Kolondiéba", "ML030306"),
    ("kolondieba", "ML030306"),
    ("Banamba", "ML020201"),
    ("Kolokani", "ML020604"),
    ("Nara", "ML020709"),
    ("Bafoulabé", "ML010201"),
    ("bafoulabe", "ML010201"),
    ("Diéma", "ML010304"),
    ("Colimbine", "ML010102"),
    ("Colombine", "ML010102"),
    ("Kolombine", "ML010102"),
    ("Sony Aliber", "ML070106"),
    ("Soni Ali Ber", "ML070106"),
    ("Koniakary", "ML010115"),
    ("Kouniakary", "ML010115"),
    ("Dianwely", "ML050604"),
    ("Dianvely", "ML050604"),
    ("Guidimakan Keri Kaffo", "ML010109"),
    ("Nioro Tougoune Rangabe", "ML010611"),
    ("Tiakadougou Dialakoro", "ML020535"),
    ("Sere Moussa Ani Samou", "ML030410"),
    ("N'gabacoro", "ML020523"),
    ("ngabacoro", "ML020523"),
    ("Dougoutene I", "ML050707"),
    ("commune III", "ML090103"),
    ("commune 5", "ML090105"),
    ("Bamako commune VI", "ML090106"),
    ("Salam", "ML060105"),
    ("Inekar", "ML070402"),
    ("Andéramboukane", "ML070401"),
    ("Tidermene", "ML070404"),
    # --- towns that are not communes -> their commune ---------------------------------
    ("Sévaré", "ML050109"),
    ("sevare", "ML050109"),
    ("Seware", "ML050109"),
    ("SEVARE", "ML050109"),
    ("sevaré", "ML050109"),
    ("je suis a sevare", "ML050109"),
    ("Kabara", "ML060106"),
    ("Dioïla", "ML020311"),
    ("Yanfolila", "ML030412"),
    ("Kangaba", "ML020406"),
    ("Yélimané", "ML010705"),
    ("Niafunké", "ML060507"),
    ("niafunke", "ML060507"),
    ("Gourma Rharous", "ML060408"),
    ("Boni", "ML050608"),
    ("Sofara", "ML050504"),
    ("Aguelhok", "ML080401"),
    ("Aguel-hoc", "ML080401"),
    ("Ke Macina", "ML040705"),
    ("Ké-Macina", "ML040705"),
    ("Ndebougou", "ML040509"),
    ("Molodo", "ML040503"),
    # --- villages (COD populated places), with typos -> their commune -----------------
    ("Kabalabougou", "ML020520"),
    ("kabalabugu", "ML020520"),
    ("Adineme", "ML070106"),
    ("Kabelandi", "ML010517"),
    ("Kourtikiya", "ML020611"),
    ("kourtikia", "ML020611"),
    ("Flagebougou", "ML040315"),
    ("Wolokho", "ML010208"),
    ("Kalandiago", "ML010306"),
    ("Fokolorei", "ML050503"),
    ("Kounkodje", "ML030619"),
    ("Koudietede", "ML010405"),
    ("N'Diobougou", "ML020602"),
    ("ndiobougou", "ML020602"),
    ("Bamoussobougou", "ML030737"),
    ("bamousso bougou", "ML030737"),
    ("Diandiana", "ML010213"),
    ("Santrosso", "ML030527"),
    ("Falibougouni", "ML020106"),
    ("Bountoukourou", "ML010205"),
    ("Djoubekara", "ML010304"),
    ("Mamatomo", "ML020301"),
    ("Sorokoto", "ML010404"),
    ("Samogossoni", "ML030706"),
    ("samogosoni", "ML030706"),
    ("Glambere", "ML030103"),
    ("Nerecoro", "ML050507"),
    ("nerecorro", "ML050507"),
    ("Fadikikole", "ML010505"),
    ("Norbene", "ML070105"),
    ("Kiyiban", "ML020109"),
    ("Tafadiadiate", "ML070105"),
    ("Blendioni", "ML030738"),
    ("Ahamboubar", "ML080403"),
    ("Zambabougou", "ML020107"),
    ("Tonokalacoro", "ML030712"),
    ("tonokalakoro", "ML030712"),
    ("Guimini", "ML050705"),
    ("Mahinanding", "ML010209"),
    ("village de Glambere", "ML030103"),
    # --- camps -----------------------------------------------------------------------
    ("Mbera", "CAMP-MR-MBERA"),
    ("mbera camp", "CAMP-MR-MBERA"),
    ("camp de mbera", "CAMP-MR-MBERA"),
    ("M'berra", "CAMP-MR-MBERA"),
    ("Mbéra", "CAMP-MR-MBERA"),
    ("camp mberra", "CAMP-MR-MBERA"),
    ("Abala", "CAMP-NE-ABALA"),
    ("camp abala", "CAMP-NE-ABALA"),
    ("Mangaize", "CAMP-NE-MANGAIZE"),
    ("Mangaïzé", "CAMP-NE-MANGAIZE"),
    ("Tabareybarey", "CAMP-NE-TABAREYBAREY"),
    ("tabarey barey", "CAMP-NE-TABAREYBAREY"),
    ("tabareibarei", "CAMP-NE-TABAREYBAREY"),
    ("Intikane", "CAMP-NE-INTIKANE"),
    ("camp d'intikane", "CAMP-NE-INTIKANE"),
    # --- regions / cercles when asked for, and names only they carry -----------------
    ("region de Mopti", "ML05"),
    ("région de Ségou", "ML04"),
    ("region sikasso", "ML03"),
    ("cercle de Mopti", "ML0506"),
    ("cercle de kati", "ML0204"),
    ("Taoudénit", "ML-TAO"),
    ("taoudenit", "ML-TAO"),
    ("Taoudeni", "ML-TAO"),
    ("region de taoudenni", "ML-TAO"),
    ("Bamako", "ML0901"),
    ("bamako", "ML0901"),
    ("Dioila cercle", "ML0202"),
    ("cercle de Gourma-Rharous", "ML0603"),
    ("cercle d'Abeïbara", "ML0801"),
    ("Gourma-Rharous", "ML060408"),
    ("abeibara", "ML080301"),
    ("Baguineda Camp", "ML020501"),
    ("baguineda", "ML020501"),
]


def test_spelling_table_hit_rate(index: LocalityIndex) -> None:
    assert len(SPELLINGS) >= 150
    misses = []
    for query, expected in SPELLINGS:
        got = index.match(query, limit=3)
        top = got[0].pcode if got else None
        if top != expected:
            misses.append((query, expected, [(c.pcode, c.name, c.confidence) for c in got]))
    for miss in misses:
        print("MISS", miss)
    rate = 1 - len(misses) / len(SPELLINGS)
    print(f"hit rate {rate:.1%} ({len(SPELLINGS) - len(misses)}/{len(SPELLINGS)})")
    assert rate >= 0.95


def test_most_of_the_table_resolves_found(index: LocalityIndex) -> None:
    found = [q for q, expected in SPELLINGS if index.resolve(q).status == "found"]
    assert len(found) / len(SPELLINGS) >= 0.9


@pytest.mark.parametrize(
    "query,expected",
    [
        ("Sévaré", "ML050109"),
        ("Mopti", "ML050109"),
        ("timbuktu", "ML060106"),
        ("mbera camp", "CAMP-MR-MBERA"),
        ("Sikaso", "ML030737"),
        ("region de Mopti", "ML05"),
        ("Léré", "ML060505"),
    ],
)
def test_resolve_found(index: LocalityIndex, query: str, expected: str) -> None:
    res = index.resolve(query)
    assert res.status == "found", res
    assert res.best is not None and res.best.pcode == expected


def test_village_resolves_to_commune_and_says_so(index: LocalityIndex) -> None:
    res = index.resolve("Sevare")
    assert res.best is not None
    assert res.best.kind == "commune" and res.best.pcode == "ML050109"
    assert "Sévaré" in res.best.via and "Mopti" in res.best.via
    entry = index.by_pcode(res.best.pcode)
    assert entry is not None
    assert [e.pcode for e in index.ancestors(entry.pcode)] == ["ML0506", "ML05"]


def test_exact_commune_beats_villages_of_same_name(index: LocalityIndex) -> None:
    got = index.match("Léré", limit=5)
    assert got[0].pcode == "ML060505"
    # the two Léré villages (Baye, Bankass and Bondo, Koro) are still offered
    assert {"ML050302", "ML050703"} <= {c.pcode for c in got}


# (query, pcodes that must all be offered)
AMBIGUOUS: list[tuple[str, set[str]]] = [
    ("Benkadi", {"ML020302", "ML020402", "ML030701"}),
    ("Diedougou", {"ML020306", "ML020509", "ML030501", "ML040205"}),
    ("Faraba", {"ML010406", "ML020514"}),
    ("Koula", {"ML020103", "ML040604"}),
    ("Baye", {"ML010401", "ML050302"}),
    ("Tilemsi", {"ML060314", "ML070107"}),
    ("Bamba", {"ML050701", "ML070301"}),
    ("Somo", {"ML040111", "ML040419"}),
    ("Sirable", {"ML020103", "ML020513"}),
    ("Diedieni", {"ML030307", "ML030310"}),
    ("Sorokoro", {"ML020308", "ML020526"}),
    ("Diarala", {"ML030412", "ML030614"}),
    ("Salle", {"ML020206", "ML050302"}),
    ("Madou", {"ML050601", "ML050605"}),
]


@pytest.mark.parametrize("query,expected", AMBIGUOUS)
def test_ambiguous_names_offer_every_place(
    index: LocalityIndex, query: str, expected: set[str]
) -> None:
    res = index.resolve(query)
    assert res.status == "ambiguous", res
    assert res.best is None
    assert expected <= {c.pcode for c in res.candidates}


@pytest.mark.parametrize(
    "query",
    ["", "  ", "a", "ML", "k?", "xyzzyq", "1234567", "???", "camp", "commune", "au village"],
)
def test_unknown(index: LocalityIndex, query: str) -> None:
    res = index.resolve(query)
    assert res.status == "unknown"
    assert res.candidates == () and res.best is None


def test_short_queries_do_not_fuzzy_match(index: LocalityIndex) -> None:
    assert index.match("ka") == []
    assert index.match("s") == []


def test_one_candidate_per_locality(index: LocalityIndex) -> None:
    got = index.match("Markala", limit=20)
    pcodes = [c.pcode for c in got]
    assert len(pcodes) == len(set(pcodes))
    assert all(a.confidence >= b.confidence for a, b in itertools.pairwise(got))


def test_browse_hierarchy(index: LocalityIndex) -> None:
    top = index.children(None)
    regions = [e for e in top if e.kind == "region"]
    assert len(regions) == 11
    assert {e.kind for e in top} == {"region", "camp"}
    cercles = index.children("ML05")
    assert [e.name for e in cercles] == sorted((e.name for e in cercles), key=str.casefold)
    assert "ML0506" in {e.pcode for e in cercles}
    communes = index.children("ML0506")
    assert "ML050109" in {e.pcode for e in communes}
    assert all(e.kind == "commune" for e in communes)
    assert index.by_pcode("nope") is None
    menaka = index.by_pcode("ML070403")
    assert menaka is not None and menaka.name == "Ménaka"
    assert [e.pcode for e in index.ancestors("ML070403")] == ["ML1001", "ML10"]


def test_small_handmade_index() -> None:
    idx = LocalityIndex(
        [
            Entry("R1", "region", "Nord", None, ("Nord",)),
            Entry("C1", "cercle", "Alpha", "R1", ("Alpha",)),
            Entry("K1", "commune", "Alpha", "C1", ("Alpha", "Alfa")),
            Entry("K2", "commune", "Beta", "C1", ("Beta",)),
        ],
        [Place("Gamma", "K2", "village"), Place("Ghost", "NOPE", "village")],
    )
    assert idx.resolve("alpha").best == Candidate("K1", "Alpha", "commune", 1.0, "Alpha")
    assert idx.resolve("cercle alpha").best is not None
    assert idx.resolve("cercle alpha").best.pcode == "C1"  # type: ignore[union-attr]
    res = idx.resolve("gamma")
    assert res.best is not None and res.best.pcode == "K2" and "Gamma" in res.best.via
    assert idx.resolve("ghost").status == "unknown"
    assert [e.pcode for e in idx.children("C1")] == ["K1", "K2"]
    with pytest.raises(ValueError):
        LocalityIndex([Entry("X", "region", "X", None, ()), Entry("X", "region", "Y", None, ())])


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=60))
def test_match_never_raises(index: LocalityIndex, text: str) -> None:
    got = index.match(text)
    assert all(0.0 <= c.confidence <= 1.0 for c in got)
    assert index.resolve(text).status in {"found", "ambiguous", "unknown"}
