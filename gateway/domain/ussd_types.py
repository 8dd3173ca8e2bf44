"""Values the USSD menu machine takes and gives: places, the caller, screens, effects."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal


@dataclass(frozen=True)
class Place:
    """A locality as the menu shows it: its P-code and a display name."""

    pcode: str
    name: str
    kind: str = ""  # region, cercle, commune, camp ("" when not known)
    parent: str = ""  # the name of the area it is in (a commune's cercle)


@dataclass(frozen=True)
class SetLanguage:
    lang: str


@dataclass(frozen=True)
class SetHome:
    pcode: str


@dataclass(frozen=True)
class RecordRatings:
    pcode: str
    answers: tuple[tuple[str, int], ...]  # (question id, value 1..5), in question order


@dataclass(frozen=True)
class RecordIncident:
    kind: str  # a stable incident kind code: attack, kidnapping, ...
    pcode: str
    when: str  # today, yesterday, week, earlier
    danger_now: bool
    ref_code: str


@dataclass(frozen=True)
class Subscribe:
    pcode: str


@dataclass(frozen=True)
class Unsubscribe:
    pass


Effect = SetLanguage | SetHome | RecordRatings | RecordIncident | Subscribe | Unsubscribe


@dataclass(frozen=True)
class Screen:
    """One USSD answer. `effects` are for the service to apply (idempotently) after
    the screen is computed; they appear only on the step that completes an action."""

    kind: Literal["CON", "END"]
    body: str
    effects: tuple[Effect, ...] = ()
    # A question of an incident report: a call cut off here may continue it later.
    in_report: bool = field(default=False, compare=False)


def _no_search(text: str) -> list[Place]:
    return []


def _no_children(pcode: str | None) -> list[Place]:
    return []


def _reaches_nobody(pcode: str, kind: str, danger: bool) -> bool:
    return False


def _no_number(pcode: str) -> str:
    return "17"


@dataclass(frozen=True)
class UssdContext:
    """What the service knows of the caller, so the machine needs no database.

    `search(text)` gives locality candidates for a typed name, best first;
    `children(pcode)` gives the regions (for None), then the cercles and communes
    under a P-code, sorted. `session_id` seeds the incident reference code.
    `reaches(pcode, kind, danger)` says whether an incident there reaches a committee
    member at once; `emergency_number(pcode)` the number to call there."""

    session_id: str
    language: str | None = None
    home: Place | None = None
    subscribed: bool = False
    search: Callable[[str], Sequence[Place]] = field(default=_no_search, compare=False)
    children: Callable[[str | None], Sequence[Place]] = field(default=_no_children, compare=False)
    default_language: str = "fr"
    reaches: Callable[[str, str, bool], bool] = field(default=_reaches_nobody, compare=False)
    emergency_number: Callable[[str], str] = field(default=_no_number, compare=False)
