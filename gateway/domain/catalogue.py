"""The SMS replies per language, read from `gateway/data/catalogue/<lang>.json`.

Each reply is a `str.format` template. Loading checks every template: its
placeholders are exactly those of its key, and once filled with the worst-case
values in `placeholder_examples` it is GSM 7-bit and fits one SMS segment. `render`
fits real values to those widths, so a reply never grows past one segment.
"""

from __future__ import annotations

import json
import string
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from gateway.domain.gsm7 import SINGLE_SEGMENT_SEPTETS, is_gsm7, septets, to_gsm7
from gateway.domain.text import LANGUAGES

DEFAULT_DIR = Path(__file__).resolve().parent.parent / "data" / "catalogue"
FALLBACK_LANGUAGE = "fr"

# Every reply the gateway sends, with the placeholders its template takes.
KEYS: Mapping[str, tuple[str, ...]] = {
    "help": (),
    "help_short": (),  # a greeting or thanks alone: what she can send
    "privacy_notice": (),
    "thanks_rating": ("rating", "place"),
    "thanks_rating_ask_place": ("rating",),
    "rating_out_of_range": (),
    "rating_missing": (),
    "locality_ask": (),
    "locality_ambiguous_2": ("choice1", "choice2"),
    "locality_ambiguous_3": ("choice1", "choice2", "choice3"),
    "locality_unknown": (),
    "place_set": ("place",),
    "join_ask": (),
    "joined": ("place",),
    "stopped": (),
    "language_changed": (),
    "language_unknown": (),
    "incident_ask_details": (),
    "incident_received": ("code", "place"),
    "incident_received_no_place": ("code",),
    "incident_text_added": ("code",),
    "rate_limited": (),
    "not_committee": (),
    "alert_code_missing": (),
    "alert_acknowledged": ("code",),
    "alert_closed": ("code",),
    "alert_closed_outcome": ("code", "outcome"),
    "alert_close_how": ("code",),
    "outcome_false_alarm": (),
    "outcome_confirmed": (),
    "outcome_resolved": (),
    "alert_already_closed": ("code",),
    "alert_already_acknowledged": ("code",),
    "alert_unknown": ("code",),
    "alert_not_yours": ("code",),
    "service_unavailable": (),
    "incident_received_told": ("code", "place"),
    "locality_need_commune": ("place",),
    "level_commune": (),
    "level_cercle": (),
    "level_region": (),
    "level_camp": (),
    "offer_incident_at": ("place",),
    "offer_incident": (),
    "offer_declined": (),
    "not_understood": (),
    "committee_help": ("codes",),
    "committee_help_none": (),
    "alert_unknown_open": ("code", "codes"),
    # People in danger now (URGENT): a new report, or one made before, flagged; told
    # at once (_told), heard of as any report is (_later), or read by the team.
    "urgent_received": ("code", "place", "number"),
    "urgent_received_told": ("code", "place", "number"),
    "urgent_received_later": ("code", "place", "number"),
    "urgent_flagged": ("code", "number"),
    "urgent_flagged_told": ("code", "number"),
    "urgent_flagged_later": ("code", "number"),
    "urgent_already": ("code", "number"),
    "urgent_unknown": ("number",),  # never quotes what was typed
    "urgent_too_old": ("code", "number"),
    "urgent_ask": ("number",),
    "urgent_ask_place": ("number",),
    # To the operations phones (OPS_PHONES) when an SMS phone relay goes silent.
    "ops_channel_silent": ("channel", "minutes"),
}

# Worst-case values: the longest each placeholder may be. `render` cuts longer ones.
placeholder_examples: Mapping[str, str] = {
    "rating": "5",
    "place": "Sere Moussa Ani Samo Kaff",  # 25: longer commune names are cut
    "choice1": "Sere Moussa Ani Samo (Kati)",  # 27: name and cercle
    "choice2": "Guidimakan Keri K. (Kayes)",
    "choice3": "Nioro Tougoune R. (Nioro)",
    "code": "R4K7Q2",  # 6: incident references and alert codes
    "outcome": "calme revenu, patrouille pass",  # 29: the member's words
    "codes": "A1234 A1235 A1236 A1237 +12",  # 27: a member's open alerts, four at most
    "channel": "kannel-abcdefghijkl",  # 20: a channel name
    "minutes": "99999",
    "number": "12345678",  # an emergency number: emergency.json allows 2 to 8 digits
}


class CatalogueError(ValueError):
    """A catalogue file is missing, malformed or breaks a reply rule."""


@dataclass(frozen=True)
class Catalogues:
    texts: Mapping[str, Mapping[str, str]]  # language -> key -> template

    def render(self, lang: str, key: str, **values: object) -> str:
        """The reply `key` in `lang` (French when `lang` lacks it), filled with
        `values` made GSM 7-bit and cut to the widths of `placeholder_examples`."""
        if key not in KEYS:
            raise KeyError(f"no such reply: {key!r}")
        template = self.texts.get(lang, {}).get(key) or self.texts[FALLBACK_LANGUAGE][key]
        return template.format(**{name: _fit(name, values.get(name, "")) for name in KEYS[key]})

    def missing(self, lang: str) -> list[str]:
        """Keys that `lang` lacks and that fall back to French."""
        return sorted(set(KEYS) - set(self.texts.get(lang, {})))


def load_catalogues(directory: Path | None = None) -> Catalogues:
    """Read and check fr.json, en.json and bm.json. French and English must have
    every key; Bambara may lack some (they fall back to French)."""
    base = directory or DEFAULT_DIR
    texts = {lang: _read(base / f"{lang}.json") for lang in LANGUAGES}
    for lang in ("fr", "en"):
        lacking = sorted(set(KEYS) - set(texts[lang]))
        if lacking:
            raise CatalogueError(f"{lang}.json: missing keys {lacking}")
    return Catalogues(texts)


def placeholders(template: str) -> set[str]:
    """The names of the `{placeholders}` in `template`."""
    return {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}


def _fit(name: str, value: object) -> str:
    width = len(placeholder_examples[name])
    text = " ".join(to_gsm7(str(value)).split())
    if len(text) > width and text.endswith(")") and " (" in text:
        return _fit_bracketed(text, width)
    return text[:width].rstrip()


def _fit_bracketed(text: str, width: int) -> str:
    """ "Name (Cercle)" cut to `width`: the bracket shortened ("Name (Cer.)") or left
    out, never left open."""
    head, _, detail = text[:-1].partition(" (")
    room = width - len(head) - len(" (.)")
    if room < 3:
        return head[:width].rstrip()
    return f"{head} ({detail[:room].rstrip()}.)"


def _read(path: Path) -> dict[str, str]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CatalogueError(f"{path.name}: cannot read: {exc}") from exc
    if not isinstance(data, dict):
        raise CatalogueError(f"{path.name}: expected a JSON object")
    texts = {k: v for k, v in data.items() if not k.startswith("_")}
    for key, value in texts.items():
        _check(path.name, key, value)
    return texts


def _check(file: str, key: str, value: object) -> None:
    if key not in KEYS:
        raise CatalogueError(f"{file}: unknown key {key!r}")
    if not isinstance(value, str) or not value.strip():
        raise CatalogueError(f"{file}: key {key!r} must be a non-empty string")
    try:
        names = placeholders(value)
    except ValueError as exc:
        raise CatalogueError(f"{file}: key {key!r} has a bad placeholder: {exc}") from exc
    if names != set(KEYS[key]):
        raise CatalogueError(
            f"{file}: key {key!r} has placeholders {sorted(names)}, expected {sorted(KEYS[key])}"
        )
    filled = value.format(**placeholder_examples)
    if not is_gsm7(filled):
        bad = sorted({c for c in filled if not is_gsm7(c)})
        raise CatalogueError(f"{file}: key {key!r} is not GSM 7-bit: {bad}")
    if septets(filled) > SINGLE_SEGMENT_SEPTETS:
        raise CatalogueError(
            f"{file}: key {key!r} takes {septets(filled)} septets with worst-case values, "
            f"more than one SMS ({SINGLE_SEGMENT_SEPTETS})"
        )
