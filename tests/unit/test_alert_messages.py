"""The alert SMS catalogues are complete in every language, and a rendered alert shows
only the figures its template names: nothing else in `figures` reaches a phone."""

from __future__ import annotations

import json
import re
import string
from importlib import resources
from typing import Any

import pytest

from gateway.domain.gsm7 import is_gsm7, segments
from gateway.domain.rules import RULE_KINDS
from gateway.domain.sms_grammar import INCIDENT_KINDS
from gateway.domain.text import LANGUAGES
from gateway.gazetteer.files import KINDS
from gateway.services.alerts.messages import render_alert

TEXTS: dict[str, dict[str, Any]] = {
    lang: json.loads(
        resources.files("gateway").joinpath(f"data/alert_sms/{lang}.json").read_text("utf-8")
    )
    for lang in LANGUAGES
}
# What render_alert and the digest fill in; a template naming anything else would fail
# at send time, in the clock, for that language only.
ALERT_FIELDS = {
    "code",
    "place",
    "index",
    "delta",
    "days",
    "weeks",
    "n",
    "count",
    "usual",
    "expected",
    "kind",
}
DIGEST_FIELDS = {"place", "index", "trend", "n", "incidents", "open"}
TEMPLATE_KEYS = [*sorted(RULE_KINDS), "escalated", "digest", "digest_few"]


def fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_rule_and_kind_has_a_text_in_each_language(lang: str) -> None:
    catalogue = TEXTS[lang]
    assert set(TEMPLATE_KEYS) <= catalogue.keys()
    assert set(catalogue["kinds"]) == set(INCIDENT_KINDS)
    for key in TEMPLATE_KEYS:
        allowed = DIGEST_FIELDS if key.startswith("digest") else ALERT_FIELDS
        assert fields(catalogue[key]) <= allowed, (lang, key)
        assert is_gsm7(catalogue[key]), (lang, key)
    assert set(catalogue["levels"]) == set(KINDS)  # what a place is, as the alert page says
    assert all(is_gsm7(word) for word in catalogue["levels"].values())
    for rule in RULE_KINDS:
        assert {"code"} <= fields(catalogue[rule]), (lang, rule)
        assert "OK {code}" in catalogue[rule] and "{place}" in catalogue[rule]


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("rule", sorted(RULE_KINDS))
def test_figures_outside_the_template_never_reach_the_sms(lang: str, rule: str) -> None:
    leaky = {
        "index": 2.1,
        "delta": -0.9,
        "window_days": 30,
        "reporters": 23,
        "count": 7,
        "usual": 2.0,
        "kind": "attack",
        "reporter": "+22376123456",
        "pseudonym": "9f" * 32,
        "text": "tirs entendus pres du marche",
        "reported_at": "2026-11-02T09:31:07",
    }
    body = render_alert(TEXTS, lang, rule, "A123", "Nioro Tougoune Rangabe", leaky, True)
    assert is_gsm7(body) and segments(body) <= 2
    assert not re.search(r"\d{6,}", body)
    for secret in ("9f9f", "tirs", "09:31", "2026"):
        assert secret not in body


@pytest.mark.parametrize(
    ("count", "usual", "shown"),
    [
        (10, 2.333, "10 en 7 j (habituel 2,3)"),
        (100, 20.0, "100 en 7 j (habituel 20)"),
        (3, 0.05, "3 en 7 j (habituel 0,1)"),
        (20, 10.0, "20 en 7 j (habituel 10)"),
    ],
)
def test_counts_and_means_are_shown_whole(count: int, usual: float, shown: str) -> None:
    """A walk of scripts/run read "1 en 7 j (habituel 2,3)" for Niono's 10 incidents:
    the trailing zeros of a whole number were stripped as if they were decimals."""
    figures = {"count": float(count), "usual": usual, "period_days": 7}
    body = render_alert(TEXTS, "fr", "incident_spike", "A101", "Niono", figures)
    assert shown in body


@pytest.mark.parametrize(
    ("lang", "run_weeks", "usual", "shown"),
    [
        ("fr", 17, 0.45, "13 en 17 semaines, contre 8 d'habitude"),
        ("fr", 1, 0.45, "13 en 1 semaine, contre 0,5 d'habitude"),
        ("en", 17, 0.45, "13 in 17 weeks against 8 usually"),
        ("en", 1, 3.0, "13 in 1 week against 3 usually"),
    ],
)
def test_a_rising_trend_compares_the_count_with_the_usual_count_of_the_same_weeks(
    lang: str, run_weeks: int, usual: float, shown: str
) -> None:
    """A walk of scripts/run read "13 en 119 j (habituel 0,5 par semaine)": days against
    a weekly mean, left for a committee chair to multiply. The SMS now puts the count of
    the run's weeks beside what those weeks usually hold."""
    figures = {"count": 13.0, "usual": usual, "run_weeks": run_weeks, "window_days": 7 * run_weeks}
    body = render_alert(TEXTS, lang, "incident_cusum", "A104", "M'bouna", figures)
    assert shown in body, body
    assert segments(body) <= 2


@pytest.mark.parametrize(
    ("lang", "kind", "shown"),
    [
        ("fr", "commune", "ALERTE A12 Ménaka (commune): "),
        ("fr", "cercle", "ALERTE A12 Ménaka (cercle): "),
        ("fr", "region", "ALERTE A12 Ménaka (région): "),
        ("en", "region", "ALERT A12 Ménaka (region): "),
        ("bm", "cercle", "LASOMINI A12 Ménaka (sèrikili): "),
        ("fr", None, "ALERTE A12 Ménaka: "),  # a kind unknown: the name alone
    ],
)
def test_the_place_says_what_it_is(lang: str, kind: str | None, shown: str) -> None:
    """The alert page says "Ménaka commune › Ménaka cercle"; the SMS said "Ménaka",
    which names a commune, a cercle and a region."""
    figures = {"index": 1.8, "window_days": 30, "reporters": 12}
    body = render_alert(TEXTS, lang, "trust_low", "A12", "Ménaka", figures, place_kind=kind)
    assert body.startswith(shown), body
