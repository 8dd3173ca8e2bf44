"""Every alert and digest SMS fits two GSM 7-bit segments in every language, with the
longest place names, and carries no reporter data."""

from __future__ import annotations

import json
import re
from importlib import resources
from typing import Any

import pytest

from gateway.domain.gsm7 import is_gsm7, segments, to_gsm7
from gateway.domain.text import LANGUAGES
from gateway.domain.trust_index import Aggregate
from gateway.services.alerts.digest import digest_text
from gateway.services.alerts.messages import place_name, render_alert

TEXTS: dict[str, dict[str, Any]] = {
    lang: json.loads(
        resources.files("gateway").joinpath(f"data/alert_sms/{lang}.json").read_text("utf-8")
    )
    for lang in LANGUAGES
}
LONGEST_PLACE = "Sere Moussa Ani Samou (Diafarabe)"
WORST = {
    "index": 1.234,
    "delta": -3.456,
    "window_days": 365,
    "reporters": 12345,
    "count": 9999,
    "usual": 999.9,
    "baseline_mean": 999.9,
    "kind": "intercommunal",
    "period_days": 31,
}
RULES = ["trust_low", "trust_drop", "incident_spike", "incident_urgent", "reporting_silence"]


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("rule", RULES)
@pytest.mark.parametrize("escalated", [False, True])
def test_alerts_fit_two_segments_and_say_how_to_answer(
    lang: str, rule: str, escalated: bool
) -> None:
    kind = longest_level(lang)
    body = render_alert(
        TEXTS, lang, rule, "A99999", LONGEST_PLACE, WORST, escalated, place_kind=kind
    )
    assert f"({TEXTS[lang]['levels'][kind]})" in body
    assert is_gsm7(body)
    assert segments(body) <= 2
    assert "OK A99999" in body and "A99999" in body
    assert "{" not in body


def test_alert_figures_read_as_people_say_them() -> None:
    body = render_alert(
        TEXTS,
        "fr",
        "trust_drop",
        "A123",
        "Mopti",
        {"index": 2.1, "delta": -0.9, "window_days": 30, "reporters": 23},
    )
    assert "2,1/5, -0,9 en 30 j, 23 personnes" in body
    assert "Répondez OK A123" in body and "(traitée)" in body


def test_english_alerts_keep_the_decimal_point() -> None:
    body = render_alert(TEXTS, "en", "trust_drop", "A123", "Mopti", {"index": 2.1, "delta": -0.9})
    assert "2.1/5" in body


def longest_level(lang: str) -> str:
    return max(TEXTS[lang]["levels"], key=lambda k: len(TEXTS[lang]["levels"][k]))


@pytest.mark.parametrize("lang", LANGUAGES)
def test_digests_fit_and_hide_small_numbers(lang: str) -> None:
    many = Aggregate.of([4] * 20)
    few = Aggregate.of([1, 1])
    kind = longest_level(lang)
    full = digest_text(
        TEXTS, lang, LONGEST_PLACE, many, Aggregate.of([5] * 20), 9999, 999, place_kind=kind
    )
    hidden = digest_text(TEXTS, lang, LONGEST_PLACE, few, many, 1, 0, place_kind=kind)
    for body in (full, hidden):
        assert is_gsm7(body) and segments(body) <= 2
        assert f"({TEXTS[lang]['levels'][kind]})" in body
    point = "." if lang == "en" else ","
    assert f"4{point}0/5" in full and f"-1{point}0" in full
    assert not re.search(r"\b1\.0/5\b", hidden)


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("kind", ["commune", "cercle", "region", "camp"])
def test_a_digest_names_its_place_as_the_alert_sms_does(lang: str, kind: str) -> None:
    """Menaka is a commune, a cercle and a region: the kind says which."""
    alert = render_alert(TEXTS, lang, "trust_low", "A1", "Ménaka", WORST, place_kind=kind)
    named = place_name(TEXTS, lang, "Ménaka", kind)
    assert named == to_gsm7(f"Ménaka ({TEXTS[lang]['levels'][kind]})") and named in alert
    few = Aggregate.of([1])
    assert digest_text(TEXTS, lang, "Ménaka", few, few, 0, 0, place_kind=kind).startswith(named)
    national = digest_text(TEXTS, lang, "Mali", few, few, 0, 0)
    assert national.startswith("Mali ") and "(" not in national.split()[0]


def test_bambara_is_marked_unreviewed() -> None:
    assert TEXTS["bm"]["_meta"]["reviewed_by_speaker"] is False


COMMAND = re.compile(r"\b([A-Z]{2,}) (?:\{code\}|A123|\+ (?:code|kode))")


@pytest.mark.parametrize("lang", LANGUAGES)
def test_replies_to_a_committee_name_the_words_its_alert_sms_taught(lang: str) -> None:
    """A member who read "CLOS A103" in the alert is not told to send another word."""
    taught = {
        w for text in TEXTS[lang].values() if isinstance(text, str) for w in COMMAND.findall(text)
    }
    catalogue = json.loads(
        resources.files("gateway").joinpath(f"data/catalogue/{lang}.json").read_text("utf-8")
    )
    told = {
        word
        for key, text in catalogue.items()
        if key.startswith(("alert_", "committee_")) and isinstance(text, str)
        for word in COMMAND.findall(text)
    }
    assert told and told <= taught, (lang, told - taught)
