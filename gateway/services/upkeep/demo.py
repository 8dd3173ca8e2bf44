"""`demo seed`: a development database with six months of invented data that raises
alerts (a falling trust index, an incident spike), committees to receive them, and a
console admin when the console's auth service is there. Never in production."""

from __future__ import annotations

import datetime as dt
import importlib
import random
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, exists, select
from sqlalchemy.orm import Session

from gateway.db import transaction
from gateway.domain.text import LANGUAGES
from gateway.gazetteer.index import Gazetteer, gazetteer
from gateway.models import Committee, ConsoleUser, Incident, Reporter, Role, TrustRating
from gateway.runtime import Runtime
from gateway.services.admin.committees import (
    NATIONAL_CODE,
    CommitteeError,
    add_committee,
    add_member,
)
from gateway.services.figures import rollup
from gateway.services.upkeep.demo_data import (
    Area,
    IncidentDraft,
    Rating,
    choose_areas,
    incidents_for,
    ratings_for,
    reporter_ids,
    urgent_without_committee,
)
from gateway.services.upkeep.imports_csv import chunks, new_ref_codes
from gateway.upsert import insert_ignore_many

ADMIN_EMAIL = "admin@example.org"
SOURCE = "demo"
LANGUAGE_WEIGHTS = (5, 4, 1)  # of fr, bm, en
NATIONAL_NAME = "CCS national (demo)"
# Obviously fake numbers that still pass phonenumbers' checks: +223 70 00 00 01, 02...
MEMBER_NAMES = (
    "Aminata Traoré", "Moussa Coulibaly", "Fatoumata Diallo", "Boubacar Maïga",
    "Mariam Keïta", "Oumar Touré", "Kadiatou Sangaré", "Ibrahim Cissé", "Awa Dembélé",
    "Seydou Koné",
)  # fmt: skip
Progress = Callable[[int], None]


class DemoRefused(Exception):
    """Seeding refused; `already_seeded` says it is not an error (the data is there)."""

    def __init__(self, message: str, *, already_seeded: bool = False) -> None:
        super().__init__(message)
        self.already_seeded = already_seeded


@dataclass(frozen=True)
class DemoSummary:
    localities: int
    reporters: int
    ratings: int
    incidents: int
    committees: int
    members: int
    drop_commune: str
    spike_commune: str
    national_commune: str  # where an urgent report reaches only the national committee
    admin_password: str | None  # set when a console admin was created
    notes: tuple[str, ...]


@dataclass(frozen=True)
class DemoPlan:
    areas: list[Area]
    ratings: list[Rating]
    incidents: list[IncidentDraft]


def plan_demo(rt: Runtime, seed: int) -> DemoPlan:
    """The data to store; the same seed and clock give the same plan."""
    rng, now = random.Random(seed), rt.now()
    questions = [q.id for q in rt.reference.menu.questions]
    areas = choose_areas(gazetteer(rt), rng)
    ratings = [r for a in areas for r in ratings_for(a, questions, now, rng)]
    incidents = [i for a in areas for i in incidents_for(a, now, rng)]
    incidents.append(urgent_without_committee(areas, now, rng))
    return DemoPlan(areas, ratings, incidents)


def seed_demo(
    rt: Runtime, plan: DemoPlan, *, force: bool = False, progress: Progress | None = None
) -> DemoSummary:
    """Store `plan` in one transaction. Refuses in production, and when demo data is
    there already unless `force`, which first removes the earlier demo reports."""
    if rt.settings.is_production:
        raise DemoRefused("demo seed refuses to run with GATEWAY_ENV=production")
    tick = progress or (lambda _n: None)
    gaz, now = gazetteer(rt), rt.now()
    with transaction(rt.sessions) as session:
        if session.scalar(select(exists().where(TrustRating.source == SOURCE))):
            if not force:
                raise DemoRefused("already seeded (use --force to seed again)", already_seeded=True)
            session.execute(delete(TrustRating).where(TrustRating.source == SOURCE))
            session.execute(delete(Incident).where(Incident.source == SOURCE))
            # The figures' cells held the deleted reports: the next pass builds them again.
            rollup.invalidate(session)
        ids = _store_reporters(session, rt, plan.areas, now)
        _store_ratings(session, plan.ratings, ids, tick)
        _store_incidents(session, rt, plan.incidents, ids, tick)
        committees, members = _store_committees(session, rt, gaz, plan.areas, now)
        password, notes = _admin(session, now)
    named = {a.role: gaz.name_of(a.locality_id) for a in plan.areas if a.role}
    return DemoSummary(
        localities=len(plan.areas),
        reporters=len(ids),
        ratings=len(plan.ratings),
        incidents=len(plan.incidents),
        committees=committees,
        members=members,
        drop_commune=named["drop"],
        spike_commune=named["spike"],
        national_commune=gaz.name_of(plan.incidents[-1].locality_id),
        admin_password=password,
        notes=notes,
    )


def _store_reporters(
    session: Session, rt: Runtime, areas: Sequence[Area], now: dt.datetime
) -> dict[str, int]:
    """Reporter ids by made-up id; the rows hold only the HMAC of that id."""
    rng = random.Random(0)
    pseudonyms: dict[str, str] = {}
    rows: list[dict[str, Any]] = []
    for area in areas:
        for made_up in reporter_ids(area):
            pseudonyms[made_up] = rt.pseudonyms.pseudonym(made_up)
            rows.append(
                {
                    "pseudonym": pseudonyms[made_up],
                    "key_version": rt.pseudonyms.version,
                    "language": rng.choices(LANGUAGES, LANGUAGE_WEIGHTS)[0],
                    "home_locality_id": area.locality_id,
                    "opted_out": False,
                    "notice_sent": True,
                    "created_at": now - dt.timedelta(days=183),
                }
            )
    for part in chunks(rows):
        insert_ignore_many(session, Reporter.__table__, part)
    by_pseudonym: dict[str, int] = {}
    for names in chunks(sorted(pseudonyms.values()), 500):
        query = select(Reporter.pseudonym, Reporter.id).where(Reporter.pseudonym.in_(names))
        by_pseudonym.update({row.pseudonym: row.id for row in session.execute(query)})
    return {made_up: by_pseudonym[p] for made_up, p in pseudonyms.items()}


def _store_ratings(
    session: Session, ratings: Sequence[Rating], ids: dict[str, int], tick: Progress
) -> None:
    for start, part in zip(range(0, len(ratings), 2000), chunks(ratings), strict=True):
        rows = [
            {
                "reporter_id": ids[r.reporter],
                "locality_id": r.locality_id,
                "question": r.question,
                "value": r.value,
                "rated_at": r.at,
                "source": SOURCE,
                "source_ref": f"demo:r:{start + n}",
                "burst": False,
            }
            for n, r in enumerate(part)
        ]
        insert_ignore_many(session, TrustRating.__table__, rows)
        tick(len(part))


def _store_incidents(
    session: Session,
    rt: Runtime,
    incidents: Sequence[IncidentDraft],
    ids: dict[str, int],
    tick: Progress,
) -> None:
    codes = new_ref_codes(session, len(incidents))
    rows = [
        {
            "ref_code": code,
            "kind": i.kind,
            "locality_id": i.locality_id,
            "reporter_id": ids[i.reporter],
            "occurred": i.occurred,
            "reported_at": i.at,
            "danger_now": i.danger_now,
            "text_enc": rt.vault.encrypt(i.text) if i.text else None,
            "source": SOURCE,
            "source_ref": f"demo:i:{n}",
            "burst": False,
            "details": None,
        }
        for n, (i, code) in enumerate(zip(incidents, codes, strict=True))
    ]
    insert_ignore_many(session, Incident.__table__, rows)
    tick(len(rows))


def _store_committees(
    session: Session, rt: Runtime, gaz: Gazetteer, areas: Sequence[Area], now: dt.datetime
) -> tuple[int, int]:
    """A committee for each alerting commune and one for its region, and a national
    committee, with members whose numbers are fake (+223 70 00 00 xx). Existing ones
    (a forced re-seed) are kept. Gao and Tombouctou get none below the nation."""
    targets: list[tuple[str, int | None]] = [(NATIONAL_NAME, None)]
    for area in (a for a in areas if a.role):
        name = gaz.name_of(area.locality_id)
        region = gaz.chain(area.locality_id)[-1]
        targets.append((f"CCS de {name} (demo)", area.locality_id))
        targets.append((f"CCS regional de {gaz.name_of(region)} (demo)", region))
    members, number = 0, 1
    for name, locality_id in targets:
        committee = session.scalar(select(Committee).where(Committee.name == name))
        if committee is None:
            where = NATIONAL_CODE if locality_id is None else gaz.pcodes[locality_id]
            committee = add_committee(session, gaz, where, name, now, actor="demo")
        for _ in range(3 if locality_id is not None and "regional" not in name else 2):
            person = MEMBER_NAMES[(number - 1) % len(MEMBER_NAMES)]
            phone, number = f"+2237000{number:04d}", number + 1
            lang = "bm" if number % 3 == 0 else "fr"
            try:
                add_member(session, rt, str(committee.id), phone, person, lang, actor="demo")
                members += 1
            except CommitteeError:
                pass  # there from an earlier seed
    return len(targets), members


def _admin(session: Session, now: dt.datetime) -> tuple[str | None, tuple[str, ...]]:
    """A console admin with a random password, through the console's own auth service;
    skipped (and said so) when that service is not there."""
    try:
        auth = importlib.import_module("gateway.services.admin.auth")
    except ModuleNotFoundError as exc:
        if exc.name != "gateway.services.admin.auth":
            raise
        return None, ("gateway/services/auth.py is not there yet: no console user created",)
    create_user = getattr(auth, "create_user", None)
    if create_user is None:
        return None, ("gateway.services.admin.auth has no create_user: no console user created",)
    if session.scalar(select(ConsoleUser.id).where(ConsoleUser.email == ADMIN_EMAIL)):
        return None, (f"console user {ADMIN_EMAIL} exists already (password unchanged)",)
    password = secrets.token_urlsafe(15)
    try:
        create_user(session, email=ADMIN_EMAIL, password=password, role=Role.ADMIN, now=now)
    except ValueError as exc:  # auth.UserError is a ValueError
        return None, (f"console user not created: {exc}",)
    session.flush()
    return password, ()
