"""Local Consultative Committees on Security and their members: the people alerts go
to. Used by the CLI and the console alike; every refusal is a CommitteeError whose
message can be shown as it is."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.crypto import mask_phone
from gateway.domain.text import LANGUAGES
from gateway.gazetteer.index import Gazetteer, unresolved
from gateway.models import Committee, CommitteeMember
from gateway.phones import PhoneError, normalize_phone
from gateway.runtime import Runtime

MAX_NAME = 120


class CommitteeError(ValueError):
    """A committee or member change was refused; the message says why."""


@dataclass(frozen=True)
class MemberView:
    id: int
    name: str
    phone_hint: str
    language: str
    active: bool


@dataclass(frozen=True)
class CommitteeView:
    id: int
    name: str
    locality: str  # "Name (P-code)"
    active: bool
    members: tuple[MemberView, ...]


def add_committee(
    session: Session, gaz: Gazetteer, locality_text: str, name: str, now: dt.datetime
) -> Committee:
    """A new committee covering the locality (P-code or a clearly resolved name)."""
    name = _name(name, "committee")
    locality_id = locality_of(gaz, locality_text)
    if session.scalar(select(Committee.id).where(Committee.name == name)) is not None:
        raise CommitteeError(f"a committee named '{name}' exists already")
    committee = Committee(name=name, locality_id=locality_id, active=True, created_at=now)
    session.add(committee)
    session.flush()
    return committee


def locality_of(gaz: Gazetteer, text: str) -> int:
    """The locality id for a P-code or a name; CommitteeError naming the candidates when
    the name is ambiguous."""
    found = gaz.lookup(text) if text.strip() else None
    if found is not None:
        return found
    raise CommitteeError(unresolved(gaz, text))


def find_committee(session: Session, ref: str) -> Committee:
    """The committee with id `ref`, or else with exactly the name `ref`."""
    ref = ref.strip()
    if ref.isdigit():
        by_id = session.get(Committee, int(ref))
        if by_id is not None:
            return by_id
    named = session.scalars(select(Committee).where(Committee.name == ref)).all()
    if len(named) > 1:
        ids = ", ".join(str(c.id) for c in named)
        raise CommitteeError(f"several committees are named '{ref}' (ids {ids}); give the id")
    if not named:
        raise CommitteeError(f"no committee with id or name '{ref}'")
    return named[0]


def add_member(
    session: Session, rt: Runtime, committee_ref: str, phone: str, name: str, lang: str
) -> CommitteeMember:
    """Add a member who gets the committee's alerts; the number is kept as an HMAC (to
    recognise their SMS), encrypted (to send) and masked (to show). A member removed
    earlier is made active again; one still active is refused."""
    committee = find_committee(session, committee_ref)
    name = _name(name, "member")
    if lang not in LANGUAGES:
        raise CommitteeError(f"language '{lang}' is not one of {', '.join(LANGUAGES)}")
    e164 = _phone(rt, phone)
    member = _member(session, rt, committee.id, e164)
    if member is not None and member.active:
        raise CommitteeError(
            f"{member.phone_hint} is already a member of committee '{committee.name}'"
        )
    if member is None:
        member = CommitteeMember(
            committee_id=committee.id, phone_hash=rt.pseudonyms.pseudonym(e164)
        )
        session.add(member)
    member.name, member.language, member.active = name, lang, True
    member.phone_enc, member.phone_hint = rt.vault.encrypt(e164), mask_phone(e164)
    session.flush()
    return member


def remove_member(session: Session, rt: Runtime, committee_ref: str, phone: str) -> CommitteeMember:
    """Deactivate a member (kept for the history of alerts sent to them)."""
    committee = find_committee(session, committee_ref)
    e164 = _phone(rt, phone)
    member = _member(session, rt, committee.id, e164)
    if member is None or not member.active:
        raise CommitteeError(f"{mask_phone(e164)} is not a member of committee '{committee.name}'")
    member.active = False
    session.flush()
    return member


def list_committees(session: Session, gaz: Gazetteer) -> list[CommitteeView]:
    """Every committee with its locality and its members (numbers masked)."""
    committees = session.scalars(select(Committee).order_by(Committee.id)).all()
    members = session.scalars(
        select(CommitteeMember).order_by(CommitteeMember.committee_id, CommitteeMember.id)
    ).all()
    by_committee: dict[int, list[MemberView]] = {}
    for m in members:
        view = MemberView(m.id, m.name, m.phone_hint, m.language, m.active)
        by_committee.setdefault(m.committee_id, []).append(view)
    return [
        CommitteeView(
            c.id,
            c.name,
            f"{gaz.name_of(c.locality_id)} ({gaz.pcodes[c.locality_id]})",
            c.active,
            tuple(by_committee.get(c.id, ())),
        )
        for c in committees
    ]


def _member(session: Session, rt: Runtime, committee_id: int, e164: str) -> CommitteeMember | None:
    hashes = [rt.pseudonyms.pseudonym(e164)]
    previous = rt.pseudonyms.previous_pseudonym(e164)
    if previous is not None:
        hashes.append(previous)
    found = session.scalars(
        select(CommitteeMember).where(
            CommitteeMember.committee_id == committee_id, CommitteeMember.phone_hash.in_(hashes)
        )
    ).first()
    if found is not None:
        found.phone_hash = hashes[0]  # re-keyed after a PHONE_HASH_KEY rotation
    return found


def _phone(rt: Runtime, raw: str) -> str:
    try:
        return normalize_phone(raw, rt.settings.phone_regions)
    except PhoneError as exc:
        raise CommitteeError(f"phone number refused: {exc}") from exc


def _name(name: str, what: str) -> str:
    name = " ".join(name.split())
    if not name:
        raise CommitteeError(f"the {what}'s name is empty")
    if len(name) > MAX_NAME:
        raise CommitteeError(f"the {what}'s name is longer than {MAX_NAME} characters")
    return name
