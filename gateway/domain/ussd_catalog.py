"""The USSD menu as data: structure, per-language texts and the trust questionnaire,
read from `gateway/data/ussd/` and checked so that a bad edit fails with the file and key."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gateway.domain.gsm7 import is_gsm7, septets

DATA_DIR = Path(__file__).resolve().parent.parent / "data" / "ussd"

ACTIONS = frozenset({"trust", "incident", "home", "subscribe", "language"})
KINDS = frozenset(
    {"attack", "kidnapping", "banditry", "intercommunal", "abuse", "explosive", "threat", "other"}
)
WHENS = frozenset({"today", "yesterday", "week", "earlier"})
SCALE_SIZE = 5

# Keys every language file has, with the placeholders each text must accept.
_PLAIN_KEYS = (
    *("language_name", "choose_language", "main_title", "main.unsubscribe", "exit", "back"),
    *("more", "prev", "hint_choice", "hint_scale", "hint_type", "hint_notfound"),
    *("loc_home", "loc_other", "loc_ask", "loc_browse", "loc_pick", "browse_region"),
    *("browse_cercle", "browse_commune", "trust_done", "kind_title", "when_title"),
    *("danger_title", "yes", "no", "send", "sub_title", "unsub_title", "unsub_yes"),
    *("unsub_done", "bye", "loc_none", "resume_title", "resume_continue", "resume_restart"),
    *("level.commune", "level.cercle", "level.region", "level.camp"),
)
FIXED_KEYS: Mapping[str, tuple[str, ...]] = {key: () for key in _PLAIN_KEYS} | {
    "question": ("n", "total", "text"),
    "confirm": ("kind", "place", "when", "danger"),
    "incident_done": ("code",),
    "incident_done_told": ("code",),
    "incident_done_danger": ("code", "number"),
    "incident_done_danger_told": ("code", "number"),
    "home_done": ("place",),
    "sub_done": ("place",),
}
# Worst cases of the values put in texts (others are taken as 6 characters): an
# emergency number has at most 8 digits, a place named with its cercle 36 characters.
_SAMPLE = {
    **{"n": "4", "total": "4", "text": "", "kind": "", "when": ""},
    **{"place": "X" * 36, "number": "12345678"},
}


class MenuError(ValueError):
    """A menu data file is missing, malformed or breaks a screen rule."""


@dataclass(frozen=True)
class Question:
    id: str
    text: Mapping[str, str]  # language -> question text


@dataclass(frozen=True)
class Menu:
    languages: tuple[str, ...]
    main: tuple[str, ...]  # action ids in menu order
    kinds: tuple[str, ...]
    whens: tuple[str, ...]
    texts: Mapping[str, Mapping[str, str]]  # language -> key -> text
    questions: tuple[Question, ...]
    scale: Mapping[str, tuple[str, ...]]  # language -> labels of 1..5
    max_septets: int = 160
    page_items: int = 9
    name_chars: int = 28
    search_max: int = 5
    code_length: int = 6

    def t(self, lang: str, key: str, **values: object) -> str:
        """The text `key` in `lang` with its placeholders filled."""
        return self.texts[lang][key].format(**values)


def read_menu(directory: Path | None = None) -> Menu:
    """Read and check menu.json, the language files and questions.json."""
    base = directory or DATA_DIR
    menu = _read(base / "menu.json")
    languages = _names(menu, "languages", "menu.json", None)
    main = _names(menu, "main", "menu.json", ACTIONS)
    kinds = _names(menu, "incident_kinds", "menu.json", KINDS)
    whens = _names(menu, "when", "menu.json", WHENS)
    keys = _required_keys(main, kinds, whens)
    texts = {lang: _texts(base / f"{lang}.json", keys) for lang in languages}
    questions, scale = _questionnaire(base / "questions.json", languages)
    limits = {k: _int(menu, k, "menu.json") for k in ("max_septets", "page_items", "name_chars")}
    return Menu(languages, main, kinds, whens, texts, questions, scale, **limits)


def _read(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise MenuError(f"{path.name}: cannot read: {exc}") from exc
    if not isinstance(data, dict):
        raise MenuError(f"{path.name}: expected a JSON object")
    return data


def _names(
    data: Mapping[str, Any], key: str, file: str, allowed: frozenset[str] | None
) -> tuple[str, ...]:
    value = data.get(key)
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise MenuError(f"{file}: key {key!r} must be a non-empty list of strings")
    unknown = [v for v in value if allowed is not None and v not in allowed]
    if unknown or len(set(value)) != len(value):
        raise MenuError(f"{file}: key {key!r} has unknown or repeated entries: {unknown or value}")
    return tuple(value)


def _int(data: Mapping[str, Any], key: str, file: str) -> int:
    value = data.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise MenuError(f"{file}: key {key!r} must be a positive integer")
    return value


def _required_keys(
    main: tuple[str, ...], kinds: tuple[str, ...], whens: tuple[str, ...]
) -> dict[str, tuple[str, ...]]:
    keys = dict(FIXED_KEYS)
    keys.update({f"main.{a}": () for a in main})
    keys.update({f"kind.{k}": () for k in kinds})
    keys.update({f"when.{w}": () for w in whens})
    return keys


def _texts(path: Path, keys: Mapping[str, tuple[str, ...]]) -> dict[str, str]:
    data = {k: v for k, v in _read(path).items() if k != "_meta"}
    missing = sorted(set(keys) - set(data))
    if missing:
        raise MenuError(f"{path.name}: missing keys {missing}")
    for key, value in data.items():
        _check_text(path.name, key, value, keys.get(key, ()))
    return data


def _check_text(file: str, key: str, value: object, names: tuple[str, ...]) -> None:
    if not isinstance(value, str) or not value.strip():
        raise MenuError(f"{file}: key {key!r} must be a non-empty string")
    try:
        filled = value.format(**{n: _SAMPLE.get(n, "X" * 6) for n in names})
    except (KeyError, IndexError, ValueError) as exc:
        raise MenuError(f"{file}: key {key!r} has a bad placeholder: {exc}") from exc
    if not is_gsm7(filled):
        raise MenuError(f"{file}: key {key!r} is not GSM 7-bit: {value!r}")
    if septets(filled) > 160:
        raise MenuError(f"{file}: key {key!r} is longer than 160 characters")


def _questionnaire(
    path: Path, languages: tuple[str, ...]
) -> tuple[tuple[Question, ...], dict[str, tuple[str, ...]]]:
    data = _read(path)
    scale = data.get("scale")
    if not isinstance(scale, dict):
        raise MenuError(f"{path.name}: key 'scale' must map each language to {SCALE_SIZE} labels")
    labels = {lang: _scale(path.name, lang, scale.get(lang)) for lang in languages}
    items = data.get("questions")
    if not isinstance(items, list) or not items:
        raise MenuError(f"{path.name}: key 'questions' must be a non-empty list")
    questions = tuple(_question(path.name, i, q, languages) for i, q in enumerate(items))
    ids = [q.id for q in questions]
    if len(set(ids)) != len(ids):
        raise MenuError(f"{path.name}: question ids repeat: {ids}")
    return questions, labels


def _scale(file: str, lang: str, value: object) -> tuple[str, ...]:
    if not isinstance(value, list) or len(value) != SCALE_SIZE:
        raise MenuError(f"{file}: key 'scale.{lang}' must be a list of {SCALE_SIZE} labels")
    for i, label in enumerate(value):
        _check_text(file, f"scale.{lang}[{i}]", label, ())
    return tuple(value)


def _question(file: str, index: int, item: object, languages: tuple[str, ...]) -> Question:
    where = f"questions[{index}]"
    if not isinstance(item, dict) or not isinstance(item.get("id"), str) or not item["id"]:
        raise MenuError(f"{file}: key '{where}.id' must be a non-empty string")
    text = item.get("text")
    if not isinstance(text, dict):
        raise MenuError(f"{file}: key '{where}.text' must map each language to a text")
    for lang in languages:
        _check_text(file, f"{where}.text.{lang}", text.get(lang), ())
    return Question(item["id"], {lang: text[lang] for lang in languages})
