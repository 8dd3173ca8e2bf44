"""Local Consultative Committees on Security and their members: the people alerts go
to. Used by the CLI and the console alike, so every change is audited whatever the
door; every refusal is a CommitteeError whose message can be shown as it is.

A committee covers a commune, cercle, region or camp, or the whole country
(`NATIONAL_CODE`, stored with no locality). Committees and members are deactivated,
never deleted: the alerts sent to them keep their history."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.crypto import mask_phone
from gateway.domain.text import LANGUAGES, fold
from gateway.domain.trust_index import COUNTRY_PCODE
from gateway.gazetteer.index import Gazetteer, unresolved
from gateway.models import Committee, CommitteeMember
from gateway.phones import PhoneError, normalize_phone
from gateway.runtime import Runtime
from gateway.services import audit

MAX_NAME = 120


NATIONAL_CODE = COUNTRY_PCODE


class CommitteeError(ValueError):
    """A committee or member change was refused; the message says why and `reason` is
    a stable code (for the console's catalogue): name, locality, ambiguous, language,
    phone, duplicate, duplicate_name, not_member, not_found."""

    def __init__(self, message: str, reason: str = "invalid") -> None:
        super().__init__(message)
        self.reason = reason


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
    locality: str  # "Name (P-code)", or the whole country
    level: str  # commune, cercle, region, camp or national
    active: bool
    members: tuple[MemberView, ...]


def add_committee(
    session: Session,
    gaz: Gazetteer,
    locality_text: str,
    name: str,
    now: dt.datetime,
    actor: str = "cli",
) -> Committee:
    """A new committee covering the locality (P-code, a clearly resolved name, or `ML`
    for the whole country). Two committees may cover one area: both get its alerts."""
    name = _name(name, "committee")
    locality_id = locality_of(gaz, locality_text)
    if session.scalar(select(Committee.id).where(Committee.name == name)) is not None:
        raise CommitteeError(f"a committee named '{name}' exists already", "duplicate_name")
    committee = Committee(name=name, locality_id=locality_id, active=True, created_at=now)
    session.add(committee)
    session.flush()
    details = {
        "name": name,
        "locality": _pcode(gaz, locality_id),
        "level": level_of(gaz, locality_id),
    }
    audit.record(session, actor, "committee.create", f"committee:{committee.id}", details, now)
    return committee


def set_committee_active(
    session: Session, committee_ref: str, active: bool, now: dt.datetime, actor: str = "cli"
) -> Committee:
    """Deactivate a committee (it gets no alert, digest or console access) or make it
    active again; doing what is already so changes nothing and is not audited."""
    committee = find_committee(session, committee_ref)
    if committee.active != active:
        committee.active = active
        action = "committee.activate" if active else "committee.deactivate"
        audit.record(
            session, actor, action, f"committee:{committee.id}", {"name": committee.name}, now
        )
    return committee


def locality_of(gaz: Gazetteer, text: str) -> int | None:
    """The locality id for a P-code or a name, None for the whole country (`ML`);
    CommitteeError naming the candidates when the name is ambiguous."""
    if text.strip().upper() == NATIONAL_CODE:
        return None
    found = gaz.lookup(text) if text.strip() else None
    if found is not None:
        return found
    message = unresolved(gaz, text)
    raise CommitteeError(message, "ambiguous" if "ambiguous" in message else "locality")


def level_of(gaz: Gazetteer, locality_id: int | None) -> str:
    """commune, cercle, region, camp, or national (no locality)."""
    return "national" if locality_id is None else gaz.entry(locality_id).kind


def describe(gaz: Gazetteer, locality_id: int | None) -> str:
    """What an admin reads of a committee's area: its level, name, P-code and the chain
    above it, e.g. `commune Mopti (ML050109), in cercle Mopti, region Mopti`."""
    if locality_id is None:
        return f"national: the whole country ({NATIONAL_CODE}), refugee camps included"
    entry = gaz.entry(locality_id)
    above = [gaz.entry(i) for i in gaz.chain(locality_id)[1:]]
    where = ", ".join(f"{e.kind} {e.name}" for e in above)
    return f"{entry.kind} {entry.name} ({entry.pcode})" + (f", in {where}" if where else "")


def namesakes(gaz: Gazetteer, locality_id: int | None) -> list[str]:
    """Other localities of another level with the same name (`Mopti` is a commune, a
    cercle and a region), each as `level Name (P-code)`, for the admin to choose."""
    if locality_id is None:
        return []
    entry = gaz.entry(locality_id)
    same = [c for c in gaz.index.match(entry.name, 8) if c.pcode != entry.pcode]
    out = []
    for c in same:
        other = gaz.index.by_pcode(c.pcode)
        if other is not None and fold(other.name) == fold(entry.name):
            out.append(f"{other.kind} {other.name} ({other.pcode})")
    return out


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
        raise CommitteeError(
            f"several committees are named '{ref}' (ids {ids}); give the id", "ambiguous"
        )
    if not named:
        raise CommitteeError(f"no committee with id or name '{ref}'", "not_found")
    return named[0]


def add_member(
    session: Session,
    rt: Runtime,
    committee_ref: str,
    phone: str,
    name: str,
    lang: str,
    actor: str = "cli",
) -> CommitteeMember:
    """Add a member who gets the committee's alerts; the number is kept as an HMAC (to
    recognise their SMS), encrypted (to send) and masked (to show). A member removed
    earlier is made active again; one still active is refused."""
    committee = find_committee(session, committee_ref)
    name = _name(name, "member")
    if lang not in LANGUAGES:
        raise CommitteeError(f"language '{lang}' is not one of {', '.join(LANGUAGES)}", "language")
    e164 = _phone(rt, phone)
    member = _member(session, rt, committee.id, e164)
    if member is not None and member.active:
        raise CommitteeError(
            f"{member.phone_hint} is already a member of committee '{committee.name}'",
            "duplicate",
        )
    if member is None:
        member = CommitteeMember(
            committee_id=committee.id, phone_hash=rt.pseudonyms.pseudonym(e164)
        )
        session.add(member)
    member.name, member.language, member.active = name, lang, True
    member.phone_enc, member.phone_hint = rt.vault.encrypt(e164), mask_phone(e164)
    session.flush()
    details = {"committee": committee.id, "phone": member.phone_hint, "language": lang}
    audit.record(session, actor, "member.add", f"member:{member.id}", details, rt.now())
    return member


def remove_member(
    session: Session, rt: Runtime, committee_ref: str, phone: str, actor: str = "cli"
) -> CommitteeMember:
    """Deactivate a member (kept for the history of alerts sent to them)."""
    committee = find_committee(session, committee_ref)
    e164 = _phone(rt, phone)
    member = _member(session, rt, committee.id, e164)
    if member is None or not member.active:
        raise CommitteeError(
            f"{mask_phone(e164)} is not a member of committee '{committee.name}'", "not_member"
        )
    deactivate_member(session, member.id, rt.now(), actor)
    return member


def deactivate_member(
    session: Session, member_id: int, now: dt.datetime, actor: str = "cli"
) -> CommitteeMember:
    """The member gets no more alerts; already inactive changes nothing."""
    member = session.get(CommitteeMember, member_id)
    if member is None:
        raise CommitteeError(f"no member with id {member_id}", "not_found")
    if member.active:
        member.active = False
        details = {"committee": member.committee_id, "phone": member.phone_hint}
        audit.record(session, actor, "member.deactivate", f"member:{member.id}", details, now)
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
            describe(gaz, c.locality_id),
            level_of(gaz, c.locality_id),
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
        raise CommitteeError(f"phone number refused: {exc}", "phone") from exc


def _name(name: str, what: str) -> str:
    name = " ".join(name.split())
    if not name:
        raise CommitteeError(f"the {what}'s name is empty", "name")
    if len(name) > MAX_NAME:
        raise CommitteeError(f"the {what}'s name is longer than {MAX_NAME} characters", "name")
    return name


def _pcode(gaz: Gazetteer, locality_id: int | None) -> str:
    return NATIONAL_CODE if locality_id is None else gaz.pcodes[locality_id]
