"""Every console text is in both catalogues."""

from __future__ import annotations

import re
from pathlib import Path

from gateway.console.i18n import load_catalogues
from gateway.domain.text import CONSOLE_LANGUAGES as LANGUAGES

CONSOLE = Path(__file__).resolve().parents[2] / "gateway" / "console"


def test_french_and_english_have_the_same_keys() -> None:
    catalogues = load_catalogues()
    assert set(LANGUAGES) == {"fr", "en"}
    assert set(catalogues["fr"]) == set(catalogues["en"])
    assert all(text.strip() for c in catalogues.values() for text in c.values())


def test_every_key_used_in_templates_and_views_exists() -> None:
    keys = set(load_catalogues()["fr"])
    used: set[str] = set()
    for template in (CONSOLE / "templates" / "console").glob("*.html"):
        used |= set(
            re.findall(r"\bt\('([a-z_]+(?:\.[a-z_0-9]+)+)'[,)]", template.read_text("utf-8"))
        )
    for module in CONSOLE.glob("*.py"):
        source = module.read_text("utf-8")
        used |= set(re.findall(r'notify\("([a-z_.]+)"', source))
        used |= set(re.findall(r'"(login\.(?!html)[a-z_]+)"', source))
    assert used and used - keys == set()


def test_every_alert_error_and_state_has_a_text() -> None:
    from gateway.models import AlertState, OutboxStatus, Role
    from gateway.services.alerts.lifecycle import OUTCOMES

    keys = set(load_catalogues()["fr"])
    reasons = {"not_found", "closed", "already_closed", "not_closed"}
    reasons |= {"comment_needed", "other_open", "bad_outcome"}
    expected = {f"alerts.error.{r}" for r in reasons}
    expected |= {f"state.{s.value}" for s in AlertState}
    expected |= {f"status.{s.value}" for s in OutboxStatus}
    expected |= {f"outcome.{o}" for o in OUTCOMES}
    expected |= {f"role.{r.value}" for r in Role}
    expected |= {f"language.{lang}" for lang in ("fr", "bm", "en")}
    expected |= {f"nav.{page}" for page in ("overview", "map", "thresholds", "messages")}
    expected |= {"nav.simulator", "error.400", "error.403", "error.404"}
    assert expected - keys == set()


def test_a_switchs_help_speaks_of_yes_and_no_not_of_1_and_0() -> None:
    """The console shows a flag as a yes/no choice, so its help must not say "1 when"."""
    import json

    rules = json.loads((CONSOLE.parent / "data" / "rules.json").read_text("utf-8"))
    flags = {
        name
        for rule in rules["rules"].values()
        for name, param in rule["params"].items()
        if param.get("unit") == "flag"
    }
    catalogues = load_catalogues()
    bare = {
        (lang, name)
        for lang, catalogue in catalogues.items()
        for name in flags
        if re.search(r"(?<![\d,.])[01](?![\d,.])", catalogue[f"param_help.{name}"])
    }
    assert flags and bare == set()
