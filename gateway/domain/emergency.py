"""The emergency number a citizen in danger is told to call, per country, as data
(`gateway/data/emergency.json`, edited by admins and checked when read)."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

DEFAULT_PATH = Path(__file__).resolve().parent.parent / "data" / "emergency.json"
_NUMBER = re.compile(r"^[0-9]{2,8}$")
_CAMP = re.compile(r"^CAMP-([A-Z]{2})-")


class EmergencyError(ValueError):
    """emergency.json is missing, malformed, or lacks a country it needs."""


@dataclass(frozen=True)
class EmergencyNumbers:
    numbers: Mapping[str, str]  # ISO country code -> number to call
    default_country: str

    def country_of(self, pcode: str) -> str:
        """A refugee camp's country is in its P-code (CAMP-NE-ABALA); else Mali."""
        camp = _CAMP.match(pcode)
        return camp.group(1) if camp else self.default_country

    def for_locality(self, pcode: str) -> str:
        country = self.country_of(pcode)
        return self.numbers.get(country) or self.numbers[self.default_country]


def load_emergency(path: Path | None = None) -> EmergencyNumbers:
    """Read and check the file; raises EmergencyError naming the problem."""
    file = path or DEFAULT_PATH
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise EmergencyError(f"{file.name}: cannot read: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("numbers"), dict):
        raise EmergencyError(f"{file.name}: key 'numbers' must map countries to numbers")
    numbers = data["numbers"]
    for country, number in numbers.items():
        if not re.fullmatch(r"[A-Z]{2}", str(country)):
            raise EmergencyError(f"{file.name}: numbers.{country}: not a country code")
        if not isinstance(number, str) or not _NUMBER.match(number):
            raise EmergencyError(f"{file.name}: numbers.{country}: must be 2 to 8 digits")
    default = data.get("default_country")
    if not isinstance(default, str) or default not in numbers:
        raise EmergencyError(f"{file.name}: default_country must be one of numbers")
    return EmergencyNumbers(dict(numbers), default)
