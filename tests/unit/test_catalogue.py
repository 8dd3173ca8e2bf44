"""Every SMS reply exists in French and English and fits one GSM 7-bit segment."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from gateway.domain.catalogue import (
    DEFAULT_DIR,
    KEYS,
    LANGUAGES,
    CatalogueError,
    Catalogues,
    load_catalogues,
    placeholder_examples,
    placeholders,
)
from gateway.domain.gsm7 import is_gsm7, segments


@pytest.fixture(scope="module")
def catalogues() -> Catalogues:
    return load_catalogues()


def _raw(lang: str) -> dict[str, str]:
    data = json.loads((DEFAULT_DIR / f"{lang}.json").read_text(encoding="utf-8"))
    return {k: v for k, v in data.items() if not k.startswith("_")}


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_every_key_exists_in_the_reference_languages(lang: str) -> None:
    assert set(_raw(lang)) == set(KEYS)


def test_bambara_may_fall_back_to_french_and_says_which(catalogues: Catalogues) -> None:
    missing = catalogues.missing("bm")
    print(f"bm falls back to fr for: {missing or 'nothing'}")
    assert set(missing) <= set(KEYS)
    meta = json.loads((DEFAULT_DIR / "bm.json").read_text(encoding="utf-8"))["_meta"]
    assert meta["reviewed_by_speaker"] is False


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("key", sorted(KEYS))
def test_each_reply_is_gsm7_and_one_segment_with_worst_case_values(
    catalogues: Catalogues, lang: str, key: str
) -> None:
    text = catalogues.render(lang, key, **placeholder_examples)
    assert is_gsm7(text), (lang, key, text)
    assert segments(text) == 1, (lang, key, len(text), text)


@pytest.mark.parametrize("key", sorted(KEYS))
def test_placeholders_are_the_same_in_every_language(key: str) -> None:
    found = {lang: placeholders(_raw(lang)[key]) for lang in LANGUAGES if key in _raw(lang)}
    assert all(names == set(KEYS[key]) for names in found.values()), found


def test_render_fits_real_values_to_one_segment(catalogues: Catalogues) -> None:
    long_name = "Ségou « çà » " + "Koro" * 20
    text = catalogues.render("fr", "thanks_rating", rating=4, place=long_name)
    assert is_gsm7(text) and segments(text) == 1
    assert "Ségou" in text and "cà" in text  # ç has no GSM form, à has


@pytest.mark.parametrize(
    "place",
    ["Andéramboukane (Andéramboukane)", "Sere Moussa Ani Samo Kaffo (Kati)", "Sévaré (Mopti)"],
)
def test_a_place_cut_to_fit_keeps_its_brackets_closed(catalogues: Catalogues, place: str) -> None:
    # A commune named with its cercle was cut mid-word and left "(Andérambo" open.
    text = catalogues.render("fr", "urgent_received_told", code="R4K7Q2", place=place, number=17)
    shown = text.removeprefix("Incident à ").split(" enregistré")[0]
    assert shown.count("(") == shown.count(")") <= 1, shown
    assert shown.split(" (")[0] in place, shown
    assert len(shown) <= len(placeholder_examples["place"]), shown


def test_a_missing_language_or_key_falls_back_to_french(catalogues: Catalogues) -> None:
    fallback = Catalogues({"fr": catalogues.texts["fr"], "bm": {}})
    assert fallback.render("bm", "help") == catalogues.render("fr", "help")
    assert catalogues.render("xx", "stopped") == catalogues.render("fr", "stopped")
    with pytest.raises(KeyError):
        catalogues.render("fr", "no_such_reply")


def test_the_replies_differ_by_language(catalogues: Catalogues) -> None:
    assert catalogues.render("fr", "help") != catalogues.render("en", "help")
    assert "STOP" in catalogues.render("fr", "privacy_notice")
    assert "STOP" in catalogues.render("en", "privacy_notice")


def _write(directory: Path, lang: str, data: dict[str, str]) -> None:
    (directory / f"{lang}.json").write_text(json.dumps(data), encoding="utf-8")


@pytest.mark.parametrize(
    ("spoil", "needle"),
    [
        (lambda d: d.update(help="x" * 161), "more than one SMS"),
        (lambda d: d.update(help="Français"), "not GSM 7-bit"),
        (lambda d: d.update(joined="Bienvenue {lieu}"), "placeholders"),
        (lambda d: d.pop("stopped"), "missing keys"),
        (lambda d: d.update(stoped="typo"), "unknown key"),
        (lambda d: d.update(help="{"), "bad placeholder"),
    ],
)
def test_a_bad_catalogue_names_file_and_key(
    tmp_path: Path, spoil: Callable[[dict[str, str]], object], needle: str
) -> None:
    for lang in LANGUAGES:
        _write(tmp_path, lang, _raw(lang))
    data = _raw("fr")
    spoil(data)
    _write(tmp_path, "fr", data)
    with pytest.raises(CatalogueError, match=needle) as caught:
        load_catalogues(tmp_path)
    assert "fr.json" in str(caught.value)
