"""One-off build of the shipped gazetteer CSVs from the research folder.

Reads ../shared/data/gazetteer (see its README.txt) and writes, into
gateway/data/gazetteer/:

* localities.csv - regions (OCHA 2021 + Taoudénit), cercles (OCHA 2021), communes
  (OCHA COD 2015 codes, parented to the 2021 cercles) and the refugee camps in scope;
* places.csv     - towns and villages (COD 2015 populated places + GeoNames towns and
  their Latin alternate spellings), each pointing to its COD 2015 commune.

Run from the repository root:  python scripts/build_gazetteer.py [SOURCE_DIR]
The app never reads the source folder; it only reads the generated files.
PROVENANCE.md is maintained by hand next to the generated files.
"""

from __future__ import annotations

import csv
import re
import sys
from collections.abc import Iterable
from pathlib import Path

from rapidfuzz import fuzz

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gateway.domain.text import fold, squash  # noqa: E402
from gateway.gazetteer.files import LOCALITY_COLUMNS, PLACE_COLUMNS  # noqa: E402

DEFAULT_SRC = ROOT.parent / "shared" / "data" / "gazetteer"
OUT = ROOT / "gateway" / "data" / "gazetteer"

TAOUDENIT_CODE = "ML-TAO"

# Accented French spellings of well-known cercle/commune names (sources are ASCII).
# Keyed by the folded source name; only names whose spelling we are sure of.
ACCENTS: dict[str, str] = {
    "segou": "Ségou",
    "djenne": "Djenné",
    "tenenkou": "Ténenkou",
    "niafunke": "Niafunké",
    "dire": "Diré",
    "bafoulabe": "Bafoulabé",
    "diema": "Diéma",
    "kenieba": "Kéniéba",
    "yelimane": "Yélimané",
    "kolondieba": "Kolondiéba",
    "baroueli": "Barouéli",
    "baraoueli": "Baraouéli",
    "dioila": "Dioïla",
    "abeibara": "Abeïbara",
    "menaka": "Ménaka",
    "anderamboukane": "Andéramboukane",
    "inekar": "Inékar",
    "tidermene": "Tidermène",
    "lere": "Léré",
    "niena": "Niéna",
}

# English / well-known exonyms that fuzzy ratios would reject.
EXONYMS: dict[str, tuple[str, ...]] = {
    "tombouctou": ("Timbuktu", "Timbuctoo", "Timbuctu", "Timbouctou", "Tombuctu", "Tombuktu"),
    "segou": ("Segu",),
    "djenne": ("Jenne", "Djenne-Djeno"),
    "nioro": ("Nioro du Sahel",),
}

# Names to keep out of `places` (they would send a whole city to one of its parts).
PLACE_SKIP: set[tuple[str, str]] = {
    ("bamako", "ML090103"),  # GeoNames/COD capital point lies in Commune III
}

CAMP_CODES = {
    "Mbera": "CAMP-MR-MBERA",
    "Abala": "CAMP-NE-ABALA",
    "Mangaize": "CAMP-NE-MANGAIZE",
    "Tabareybarey": "CAMP-NE-TABAREYBAREY",
    "Intikane": "CAMP-NE-INTIKANE",
}
CAMP_EXTRA_ALIASES = {
    "Mbera": ("M'bera", "M'berra", "Mberra"),
    "Mangaize": ("Mangaïzé",),
}
COUNTRY = {"Mauritania": "MR", "Niger": "NE", "Mali": "ML"}

_GN_PRIORITY = {"PPLC": 0, "PPLA": 1, "PPLA2": 2, "PPLA3": 3, "PPL": 4}
_NOISE = re.compile(r"\b(cercle|region|commune|de|d|du)\b")


def read(src: Path, name: str) -> list[dict[str, str]]:
    with (src / name).open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def accent(name: str) -> str:
    return ACCENTS.get(fold(name), name)


def is_latin_spelling(alt: str, main: str, allow: Iterable[str] = ()) -> bool:
    """A GeoNames 'latin' alternate that is plausibly a spelling of `main`: starts with
    a capital (GeoNames romanisations of CJK/Arabic are lower-case), is not an IATA
    code, and is close to the main name (or explicitly allowed)."""
    alt = alt.strip()
    if not alt or not fold(alt):
        return False
    if squash(alt) in {squash(a) for a in allow}:
        return True
    if alt.isupper() and len(alt) <= 4:
        return False
    if not alt[0].isupper():
        return False
    if re.search(r"\b(region|cercle|circondario|eparchia|piiri|first|second|third)\b", fold(alt)):
        return False
    return fuzz.ratio(squash(alt), squash(main)) >= 60


def add_alias(aliases: list[str], name: str, alias: str) -> None:
    alias = alias.strip()
    if not alias or "|" in alias:
        return
    seen = {squash(name), *(squash(a) for a in aliases)}
    if squash(alias) and squash(alias) not in seen:
        aliases.append(alias)


def title(name: str) -> str:
    """UPPERCASE source names -> Title Case (N'GARA -> N'Gara)."""
    small = {"de", "du", "des", "la", "le"}
    words = [
        w.lower() if w.lower() in small else w[:1].upper() + w[1:].lower() for w in name.split()
    ]
    return " ".join(words)


def coord(value: str) -> str:
    return "" if not value.strip() else f"{float(value):.5f}"


def build(src: Path) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    regions = read(src, "mali_adm1_regions.csv")
    cercles = read(src, "mali_adm2_cercles_cod2021_pcodes.csv")
    communes = read(src, "mali_adm3_communes_cod2015_centroids.csv")
    variants = read(src, "mali_commune_name_variants.csv")
    gn = read(src, "mali_place_aliases_geonames.csv")
    camps = read(src, "refugee_camps_malian_refugees.csv")
    pop = read(src, "mali_populated_places_cod2015.csv")

    out: list[dict[str, str]] = []

    # --- regions -------------------------------------------------------------------
    gn_adm1 = {r["ocha_adm1_pcode"][:4]: r for r in gn if r["feature_code"] == "ADM1"}
    for r in regions:
        pcode = r["ocha_pcode_2021"] or TAOUDENIT_CODE
        scheme = "cod2021" if r["ocha_pcode_2021"] else "gateway"
        name = r["name_fr"]
        aliases: list[str] = []
        g = gn_adm1.get(pcode) or (gn_adm1.get("(Tao") if pcode == TAOUDENIT_CODE else None)
        if g:
            for alt in g["latin_alternate_names"].split("|"):
                if is_latin_spelling(alt, name, EXONYMS.get(fold(name), ())):
                    add_alias(aliases, name, alt)
        for alt in EXONYMS.get(fold(name), ()):
            add_alias(aliases, name, alt)
        out.append(
            {
                "pcode": pcode,
                "kind": "region",
                "name": name,
                "parent_pcode": "",
                "lat": coord(r["centroid_lat"]),
                "lon": coord(r["centroid_lon"]),
                "country": "ML",
                "code_scheme": scheme,
                "aliases": "|".join(aliases),
            }
        )

    # --- cercles -------------------------------------------------------------------
    gn_adm2: dict[tuple[str, str], dict[str, str]] = {}
    for r in gn:
        if r["feature_code"] == "ADM2":
            key = squash(_NOISE.sub(" ", fold(r["name"])))
            gn_adm2[(r["ocha_adm1_pcode"], key)] = r
    for r in cercles:
        name = accent(r["adm2_name"])
        aliases = []
        add_alias(aliases, name, r["adm2_name"])
        g = gn_adm2.get((r["adm1_pcode"], squash(r["adm2_name"])))
        if g:
            for alt in [g["name"], *g["latin_alternate_names"].split("|")]:
                alt = re.sub(r"^Cercle d[e’']\s*|\s+Cercle$", "", alt.strip()).strip()
                if is_latin_spelling(alt, name, EXONYMS.get(fold(name), ())):
                    add_alias(aliases, name, alt)
        for alt in EXONYMS.get(fold(name), ()):
            add_alias(aliases, name, alt)
        out.append(
            {
                "pcode": r["adm2_pcode"],
                "kind": "cercle",
                "name": name,
                "parent_pcode": r["adm1_pcode"],
                "lat": coord(r["centroid_lat"]),
                "lon": coord(r["centroid_lon"]),
                "country": "ML",
                "code_scheme": "cod2021",
                "aliases": "|".join(aliases),
            }
        )

    # --- communes ------------------------------------------------------------------
    var_by_code = {v["adm3_pcode_2015"]: v for v in variants if v["adm3_pcode_2015"]}
    # primary GeoNames town per folded name (the best-ranked one)
    gn_towns: dict[str, dict[str, str]] = {}
    for r in gn:
        if r["feature_class"] != "P" or not r["cod2015_adm3_pcode"]:
            continue
        key = squash(r["name"])
        rank = (_GN_PRIORITY.get(r["feature_code"], 9), -int(r["population"] or 0))
        cur = gn_towns.get(key)
        if cur is None or rank < (
            _GN_PRIORITY.get(cur["feature_code"], 9),
            -int(cur["population"] or 0),
        ):
            gn_towns[key] = r
    commune_names: dict[str, str] = {}
    for r in communes:
        code = r["adm3_pcode_2015"]
        src_name = r["adm3_name"]
        aliases = []
        name = src_name
        if name.endswith(" Commune"):
            name = name[: -len(" Commune")]
        v = var_by_code.get(code, {})
        full_candidates = [
            title(v.get("opendatamali_name", "")) if v.get("opendatamali_name") else "",
            v.get("yeleman_name", ""),
        ]
        if v.get("cod_name_maybe_truncated") == "yes":
            longer = [
                c for c in full_candidates if c and squash(c).startswith(squash(name)) and c != name
            ]
            if longer:
                best = min(longer, key=lambda c: len(c))
                name = best.replace("-", " ") if "-" in best and "-" not in name else best
            elif code == "ML030730":  # Missirikoro Sokouran[i]; ANTIM "SOKOURANI-MISSIRIKORO"
                name = "Missirikoro Sokourani"
                add_alias(aliases, name, "Sokourani-Missirikoro")
            add_alias(aliases, name, src_name)
        name = accent(name)
        add_alias(aliases, name, src_name)
        add_alias(aliases, name, r["adm3_refname"])
        if v.get("opendatamali_name") and float(v.get("opendatamali_score") or 0) >= 0.8:
            add_alias(aliases, name, title(v["opendatamali_name"]))
        if v.get("yeleman_name") and float(v.get("yeleman_score") or 0) >= 0.85:
            add_alias(aliases, name, v["yeleman_name"].strip())
        if code.startswith("ML0901"):
            roman = src_name.split()[-1]
            number = {"I": 1, "II": 2, "III": 3, "IV": 4, "V": 5, "VI": 6}[roman]
            add_alias(aliases, name, f"Commune {number}")
            add_alias(aliases, name, f"Bamako Commune {roman}")
            add_alias(aliases, name, f"Bamako Commune {number}")
            for n in (roman, number):
                add_alias(aliases, name, f"Commune {n} Bamako")
                add_alias(aliases, name, f"Commune {n} de Bamako")
        # Alternate spellings of the town that carries the commune's name.
        g = gn_towns.get(squash(name))
        if g and g["cod2015_adm3_pcode"] == code:
            add_alias(aliases, name, g["name"])
            for alt in g["latin_alternate_names"].split("|"):
                if is_latin_spelling(alt, name, EXONYMS.get(fold(name), ())):
                    add_alias(aliases, name, alt)
        for alt in EXONYMS.get(fold(name), ()):
            add_alias(aliases, name, alt)
        commune_names[code] = name
        out.append(
            {
                "pcode": code,
                "kind": "commune",
                "name": name,
                "parent_pcode": r["adm2_pcode_2021"],
                "lat": coord(r["label_lat"]),
                "lon": coord(r["label_lon"]),
                "country": "ML",
                "code_scheme": "cod2015",
                "aliases": "|".join(aliases),
            }
        )

    # --- camps ---------------------------------------------------------------------
    for r in camps:
        if r["in_brief_scope"] != "yes":
            continue
        name = r["camp_name"]
        aliases = []
        for alt in r["alt_names_seen_in_sources"].split(";"):
            alt = re.sub(r"\(.*?\)", "", alt).strip()
            add_alias(aliases, name, alt)
        for alt in CAMP_EXTRA_ALIASES.get(name, ()):
            add_alias(aliases, name, alt)
        out.append(
            {
                "pcode": CAMP_CODES[name],
                "kind": "camp",
                "name": name,
                "parent_pcode": "",
                "lat": coord(r["lat"]),
                "lon": coord(r["lon"]),
                "country": COUNTRY[r["country"]],
                "code_scheme": "gateway",
                "aliases": "|".join(aliases),
            }
        )

    # --- places --------------------------------------------------------------------
    places: dict[tuple[str, str], dict[str, str]] = {}
    kind_rank = {"town": 0, "alt-name": 1, "village": 2}

    def put(name: str, commune: str, lat: str, lon: str, kind: str) -> None:
        name = " ".join(name.split())
        if not squash(name) or commune not in commune_names:
            return
        if (squash(name), commune) in PLACE_SKIP:
            return
        key = (squash(name), commune)
        row = {"name": name, "commune_pcode": commune, "lat": lat, "lon": lon, "kind": kind}
        cur = places.get(key)
        if cur is None:
            places[key] = row
            return
        # keep the more important kind, and prefer an accented spelling of the name
        if kind_rank[kind] < kind_rank[cur["kind"]]:
            cur["kind"] = kind
        if (
            kind != "alt-name"
            and name != cur["name"]
            and fold(name) == fold(cur["name"])
            and sum(not c.isascii() for c in name) > sum(not c.isascii() for c in cur["name"])
        ):
            cur["name"] = name

    for r in pop:
        cls = r["popPlaceCl"]
        kind = "town" if cls in {"1", "2", "3", "4"} else "village"
        name = r["featureNam"].strip()
        if name and name == name.lower():
            name = name.title()
        put(name, r["admin3Pcod"], coord(r["latitude"]), coord(r["longitude"]), kind)
    for r in gn:
        if r["feature_class"] != "P" or not r["cod2015_adm3_pcode"]:
            continue
        code = r["cod2015_adm3_pcode"]
        primary = gn_towns.get(squash(r["name"])) is r
        kind = "town" if primary else "village"
        lat, lon = coord(r["lat"]), coord(r["lon"])
        put(accent(r["name"]), code, lat, lon, kind)
        if primary and (squash(r["name"]), code) not in PLACE_SKIP:
            for alt in r["latin_alternate_names"].split("|"):
                if is_latin_spelling(alt, r["name"], EXONYMS.get(fold(r["name"]), ())):
                    put(alt, code, lat, lon, "alt-name")
    # Sévaré is the well-known town of the Mopti commune: make sure it reads as a town.
    for (key, _commune), row in places.items():
        if key == "sevare":
            row["name"] = "Sévaré"
            row["kind"] = "town"
    place_rows = sorted(places.values(), key=lambda p: (p["commune_pcode"], fold(p["name"])))
    return out, place_rows


def write(path: Path, rows: list[dict[str, str]], fields: list[str]) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=fields, lineterminator="\n")
        w.writeheader()
        w.writerows(rows)


def main(argv: list[str]) -> int:
    src = Path(argv[1]) if len(argv) > 1 else DEFAULT_SRC
    localities, places = build(src)
    OUT.mkdir(parents=True, exist_ok=True)
    write(OUT / "localities.csv", localities, list(LOCALITY_COLUMNS))
    write(OUT / "places.csv", places, list(PLACE_COLUMNS))
    counts: dict[str, int] = {}
    for r in localities:
        counts[r["kind"]] = counts.get(r["kind"], 0) + 1
    print(f"localities: {counts}; places: {len(places)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
