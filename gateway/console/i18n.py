"""Console text: every string comes from gateway/data/console/<lang>.json. French by
default; English per user setting, or for the session with ?lang=en."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from flask import g, request, session

from gateway.domain.text import CONSOLE_LANGUAGES
from gateway.runtime import current_runtime

CATALOGUE_DIR = Path(__file__).resolve().parent.parent / "data" / "console"
DEFAULT = "fr"


def load_catalogues() -> dict[str, dict[str, str]]:
    """Every catalogue, read from disk."""
    return {
        lang: json.loads((CATALOGUE_DIR / f"{lang}.json").read_text("utf-8"))
        for lang in CONSOLE_LANGUAGES
    }


def _catalogues() -> dict[str, dict[str, str]]:
    rt = current_runtime()
    return rt.cached("console_catalogues", load_catalogues)


def remember_choice() -> None:
    """Keep a language picked with ?lang= for the rest of the session."""
    chosen = request.args.get("lang")
    if chosen in CONSOLE_LANGUAGES:
        session["lang"] = chosen


def language() -> str:
    """The session's choice, else the user's setting, else the gateway default."""
    chosen = session.get("lang")
    if chosen in CONSOLE_LANGUAGES:
        return str(chosen)
    user = g.get("user")
    if user is not None and user.language in CONSOLE_LANGUAGES:
        return str(user.language)
    rt = current_runtime()
    default = rt.settings.default_language
    return default if default in CONSOLE_LANGUAGES else DEFAULT


def translate(key: str, **values: Any) -> str:
    """The text for `key` in the current language (French when missing there); the key
    itself when no catalogue has it, so a gap shows instead of breaking the page. With
    `n` = 1, the singular `<key>.one` where the catalogue has one ("1 alerte ouverte",
    not "1 alerte(s) ouverte(s)")."""
    catalogues = _catalogues()
    if values.get("n") == 1 and f"{key}.one" in catalogues[DEFAULT]:
        key = f"{key}.one"
    text = catalogues[language()].get(key) or catalogues[DEFAULT].get(key)
    if text is None:
        return key
    return text.format(**values) if values else text


def translate_or(key: str, fallback: str) -> str:
    """The text for `key`, or `fallback` (a code or a number's name) when none has it."""
    catalogues = _catalogues()
    return catalogues[language()].get(key) or catalogues[DEFAULT].get(key) or fallback


def number(value: float | int | None, digits: int = 2, sign: bool = False) -> str:
    """`value` as the reader writes it: "1,93" and "12 345" in French, "1.93" and
    "12,345" in English; "—" for None."""
    if value is None:
        return "—"
    text = f"{value:{'+' if sign else ''},.{digits}f}"
    if language() == "fr":
        text = text.replace(",", "\u202f").replace(".", ",")
    return text.replace("-", "\u2212")  # a true minus sign, as typeset
