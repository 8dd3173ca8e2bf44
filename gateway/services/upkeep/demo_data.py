"""What `demo seed` invents: about fifty localities with their own trust levels and
incident rates, made-up reporters, six months of ratings and incidents, one commune
whose trust falls and one with an incident spike. Pure generation from a
random.Random; gateway.services.upkeep.demo stores it."""

from __future__ import annotations

import datetime as dt
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass

from gateway.domain.rules import week_start
from gateway.gazetteer.index import Gazetteer

DAYS = 182
# (region P-code, communes picked, trust level, incidents a week, kinds most seen)
NORTH = ("attack", "explosive", "threat", "banditry", "kidnapping")
CENTRE = ("intercommunal", "attack", "abuse", "kidnapping", "threat", "explosive")
SOUTH = ("banditry", "threat", "other", "intercommunal")
REGIONS: tuple[tuple[str, int, float, float, tuple[str, ...]], ...] = (
    ("ML05", 9, 3.0, 0.35, CENTRE),  # Mopti
    ("ML04", 6, 3.3, 0.25, CENTRE),  # Ségou
    ("ML06", 5, 2.9, 0.30, NORTH),  # Tombouctou
    ("ML07", 5, 2.8, 0.30, NORTH),  # Gao
    ("ML10", 3, 2.6, 0.35, NORTH),  # Ménaka
    ("ML08", 3, 2.5, 0.25, NORTH),  # Kidal
    ("ML03", 5, 3.8, 0.10, SOUTH),  # Sikasso
    ("ML01", 5, 3.7, 0.10, SOUTH),  # Kayes
    ("ML02", 5, 3.6, 0.12, SOUTH),  # Koulikoro
    ("ML09", 3, 3.9, 0.08, SOUTH),  # Bamako
)
CAMP = ("CAMP-MR-MBERA", 3.4, 0.10, ("threat", "banditry", "other"))
DROP_COMMUNE = "Bandiagara"  # trust falls from about 4 to about 2 over the last 30 days
SPIKE_COMMUNE = "Niono"  # incidents four times the usual in the last calendar week
DROP_REPORTERS, SPIKE_WEEK_COUNT = 40, 10
QUESTION_SHIFT = (0.0, -0.2, -0.35, 0.3)  # protection and respect lower, sharing higher
DESCRIPTIONS = (
    "tirs entendus pres du marche",
    "hommes armes vus a moto vers le village",
    "betail enleve la nuit",
    "engin explosif signale sur la route",
    "menaces contre le chef de village",
    "dispute entre agriculteurs et eleveurs",
)


@dataclass(frozen=True)
class Area:
    locality_id: int
    region: str
    level: float  # mean trust answer
    weekly: float  # incidents a week
    kinds: tuple[str, ...]
    reporters: int
    role: str = ""  # "drop", "spike" or ""


@dataclass(frozen=True)
class Rating:
    reporter: str  # made-up id, pseudonymised before storing
    locality_id: int
    question: str
    value: int
    at: dt.datetime


@dataclass(frozen=True)
class IncidentDraft:
    reporter: str
    locality_id: int
    kind: str
    at: dt.datetime
    occurred: str
    danger_now: bool
    text: str | None


def choose_areas(gaz: Gazetteer, rng: random.Random) -> list[Area]:
    """About fifty localities: communes drawn in each region, the camp, and the two
    communes that raise alerts."""
    drop, spike = _named_commune(gaz, DROP_COMMUNE), _named_commune(gaz, SPIKE_COMMUNE)
    areas: list[Area] = []
    for region, count, level, weekly, kinds in REGIONS:
        communes = sorted(set(_communes(gaz, region)) - {drop, spike})
        for locality_id in rng.sample(communes, min(count, len(communes))):
            noise = rng.uniform(-0.5, 0.5)
            areas.append(
                Area(locality_id, region, level + noise, weekly, kinds, rng.randint(18, 32))
            )
    camp_pcode, level, weekly, kinds = CAMP
    areas.append(Area(gaz.id_of(camp_pcode), "camp", level, weekly, kinds, 20))
    areas.append(Area(drop, "ML05", 4.0, 0.2, CENTRE, DROP_REPORTERS, "drop"))
    areas.append(Area(spike, "ML04", 3.4, 0.0, CENTRE, 24, "spike"))
    return areas


def _named_commune(gaz: Gazetteer, name: str) -> int:
    found = gaz.lookup(name)
    if found is None or gaz.entry(found).kind != "commune":
        raise LookupError(f"the gazetteer has no commune '{name}' for the demo")
    return found


def _communes(gaz: Gazetteer, pcode: str) -> list[int]:
    found: list[int] = []
    for child in gaz.index.children(pcode):
        if child.kind == "commune":
            found.append(gaz.id_of(child.pcode))
        else:
            found.extend(_communes(gaz, child.pcode))
    return found


def reporter_ids(area: Area) -> list[str]:
    return [f"demo:{area.locality_id}:{n}" for n in range(area.reporters)]


def ratings_for(
    area: Area, questions: Sequence[str], now: dt.datetime, rng: random.Random
) -> list[Rating]:
    """Each reporter answers the questionnaire a few times over six months (the first
    question always, then two or three others)."""
    ratings: list[Rating] = []
    for reporter in reporter_ids(area):
        for days_ago in _session_days(area, rng):
            at = now - dt.timedelta(days=days_ago)
            level = 2.0 if area.role == "drop" and days_ago < 30 else area.level
            extra = questions[1:]
            asked = [questions[0], *rng.sample(extra, min(len(extra), rng.randint(2, 3)))]
            for question in asked:
                shift = QUESTION_SHIFT[questions.index(question) % len(QUESTION_SHIFT)]
                value = round(rng.gauss(level + (0 if area.role else shift), 0.7))
                ratings.append(Rating(reporter, area.locality_id, question, _clamp(value), at))
    return ratings


def _session_days(area: Area, rng: random.Random) -> list[float]:
    """Days before now of one reporter's answers; in the falling commune everyone
    answers both in the last 30 days and in the 90 before."""
    days = [rng.uniform(0.05, DAYS) for _ in range(rng.randint(2, 6))]
    if area.role == "drop":
        days += [rng.uniform(31, 118), rng.uniform(0.5, 28)]
    return days


def _clamp(value: int) -> int:
    return max(1, min(5, value))


def incidents_for(area: Area, now: dt.datetime, rng: random.Random) -> list[IncidentDraft]:
    """A low weekly rate for most areas; for the spike commune a steady two or three a
    week, then about four times that in the last calendar week (the week the window
    rules look at: they run as of Monday 00:00) from distinct reporters."""
    reporters = reporter_ids(area)
    drafts: list[IncidentDraft] = []
    end = week_start(now) if area.role == "spike" else now
    for week in range(DAYS // 7):
        if area.role == "spike":
            count = SPIKE_WEEK_COUNT if week == 0 else rng.choice((2, 2, 3))
        else:
            count = _poisson(area.weekly, rng)
        people = rng.sample(reporters, min(count, len(reporters)))
        for reporter in people:
            # Inside the week, off its edges, so any weekly cut counts it the same.
            at = end - dt.timedelta(days=7 * week + rng.uniform(0.1, 6.5))
            drafts.append(_incident(area, reporter, at, rng))
    return drafts


def _incident(area: Area, reporter: str, at: dt.datetime, rng: random.Random) -> IncidentDraft:
    kind = rng.choice(area.kinds) if rng.random() < 0.9 else "other"
    return IncidentDraft(
        reporter=reporter,
        locality_id=area.locality_id,
        kind=kind,
        at=at,
        occurred=rng.choices(("today", "yesterday", "week"), (6, 3, 1))[0],
        danger_now=rng.random() < 0.15,
        text=rng.choice(DESCRIPTIONS) if rng.random() < 0.3 else None,
    )


NORTH_REGION = "ML07"  # Gao: the demo gives it no committee


def urgent_without_committee(
    areas: Sequence[Area], now: dt.datetime, rng: random.Random
) -> IncidentDraft:
    """An armed attack with people in danger, three hours ago, in a commune of Gao
    (where the demo sets up no committee): its alert goes up to the national one."""
    area = next(a for a in areas if a.region == NORTH_REGION)
    return IncidentDraft(
        reporter=reporter_ids(area)[0],
        locality_id=area.locality_id,
        kind="attack",
        at=now - dt.timedelta(hours=3),
        occurred="today",
        danger_now=True,
        text=rng.choice(DESCRIPTIONS),
    )


def _poisson(rate: float, rng: random.Random) -> int:
    """Knuth's method: fine for the small rates used here."""
    limit, count, product = math.exp(-rate), 0, rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count
