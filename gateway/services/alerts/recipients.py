"""Who an alert reaches: the routing rule, in one place.

The chain of a locality is its commune, cercle and region (a camp has none of these),
then the whole country. A committee covers one link of it; a national committee has
no locality (`committees add --locality ML`). An alert goes to the nearest link whose
committees have at least one active member, and to *every* active committee of that
link that has one (two committees may cover one area; both are told). Not
acknowledged in time, it goes to the next such link up. An urgent alert also goes to
the national committees at once. A link with committees but no active member is
skipped: nobody there could read an SMS.

`route` only reads; the intake uses it to say truthfully whether someone will be told,
the alert jobs to know whom to text.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gateway.gazetteer.index import Gazetteer
from gateway.models import Committee, CommitteeMember

NATIONAL = "national"


@dataclass(frozen=True)
class Link:
    """One link of the chain that can be reached: its locality (None = the whole
    country), its kind (commune, cercle, region, camp, national) and the active
    committees there that have an active member, by id."""

    locality_id: int | None
    level: str
    committees: tuple[int, ...]


@dataclass(frozen=True)
class Routing:
    """Where an alert for a locality goes. `links` are the reachable links, nearest
    first: the first is told at once, each later one on escalation. `told` are the
    committees told at once (the first link, and the national ones when urgent)."""

    links: tuple[Link, ...]
    told: tuple[int, ...]

    @property
    def reached(self) -> bool:
        """Whether anyone at all will be told now."""
        return bool(self.told)

    @property
    def level(self) -> str | None:
        """The kind of the nearest link told (None when nobody is)."""
        return self.links[0].level if self.links else None

    def link(self, escalation_level: int) -> Link | None:
        """The link told at an escalation level (0 = at once); None past the top."""
        return self.links[escalation_level] if escalation_level < len(self.links) else None


@dataclass(frozen=True)
class Recipient:
    member_id: int
    committee_id: int
    language: str
    phone_enc: str


def route(session: Session, gaz: Gazetteer, locality_id: int, *, urgent: bool) -> Routing:
    """The routing of an alert (or report) for `locality_id` (a gazetteer id; use
    `gaz.id_of(pcode)` from a P-code). Reads the committees and members as they are
    in `session`; writes nothing."""
    reachable = reachable_committees(session, gaz.chain(locality_id))
    return routing_of(gaz, locality_id, reachable, urgent=urgent)


def routing_of(
    gaz: Gazetteer, locality_id: int, reachable: Mapping[int | None, set[int]], *, urgent: bool
) -> Routing:
    """The routing rule itself, given the reachable committees by locality (None: the
    national ones)."""
    chain: list[int | None] = [*gaz.chain(locality_id), None]
    links = tuple(
        Link(loc, _level(gaz, loc), tuple(sorted(reachable[loc])))
        for loc in chain
        if reachable.get(loc)
    )
    told = list(links[0].committees) if links else []
    if urgent:
        told += [c for c in reachable.get(None, ()) if c not in told]
    return Routing(links, tuple(told))


def reachable_committees(
    session: Session, places: Sequence[int] | None = None
) -> dict[int | None, set[int]]:
    """Active committees with at least one active member, by locality (None: the
    national ones): on `places` and the nation, or everywhere when None."""
    query = (
        select(Committee.id, Committee.locality_id)
        .join(CommitteeMember, CommitteeMember.committee_id == Committee.id)
        .where(Committee.active.is_(True), CommitteeMember.active.is_(True))
        .group_by(Committee.id, Committee.locality_id)
        .having(func.count(CommitteeMember.id) > 0)
    )
    if places is not None:
        query = query.where(
            Committee.locality_id.in_(list(places)) | Committee.locality_id.is_(None)
        )
    out: dict[int | None, set[int]] = {}
    for committee_id, loc in session.execute(query).all():
        out.setdefault(loc, set()).add(committee_id)
    return out


# The places people report from, whose alerts `coverage` follows.
REPORTING_KINDS = ("commune", "camp")


def coverage(session: Session, gaz: Gazetteer) -> dict[str | None, list[int]]:
    """Every commune and camp by the level an alert there reaches at once (commune,
    cercle, region, camp, NATIONAL; None: nobody), for the console's committees page."""
    reachable = reachable_committees(session)
    out: dict[str | None, list[int]] = {}
    for loc in gaz.pcodes:
        if gaz.entry(loc).kind in REPORTING_KINDS:
            out.setdefault(routing_of(gaz, loc, reachable, urgent=False).level, []).append(loc)
    return out


def _level(gaz: Gazetteer, locality_id: int | None) -> str:
    return NATIONAL if locality_id is None else gaz.entry(locality_id).kind


def members(session: Session, committee_id: int) -> Sequence[Recipient]:
    """The committee's active members."""
    rows = session.execute(
        select(CommitteeMember.id, CommitteeMember.language, CommitteeMember.phone_enc)
        .where(CommitteeMember.committee_id == committee_id, CommitteeMember.active.is_(True))
        .order_by(CommitteeMember.id)
    ).all()
    return [Recipient(mid, committee_id, lang, enc) for mid, lang, enc in rows]
