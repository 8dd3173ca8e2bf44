"""Committees and members as the tests need them, written straight to the database
(the admin service's own checks and audit are tested in test_committees_cli)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from gateway.crypto import mask_phone
from gateway.db import transaction
from gateway.models import Committee, CommitteeMember
from gateway.runtime import Runtime


def member(
    rt: Runtime, committee_id: int, phone: str, lang: str = "fr", name: str = "Membre"
) -> CommitteeMember:
    """An active member: number kept as the gateway keeps it (HMAC, encrypted, masked)."""
    return CommitteeMember(
        committee_id=committee_id,
        name=name,
        phone_hash=rt.pseudonyms.pseudonym(phone),
        phone_enc=rt.vault.encrypt(phone),
        phone_hint=mask_phone(phone),
        language=lang,
    )


def add_to(
    session: Session,
    rt: Runtime,
    locality_id: int | None,
    members: dict[str, str],
    name: str = "CCS",
    now: dt.datetime | None = None,
) -> Committee:
    """A committee of the locality (None: the national one) with `members`, phone to
    language, in an open session."""
    committee = Committee(name=name, locality_id=locality_id, created_at=now or rt.now())
    session.add(committee)
    session.flush()
    session.add_all(member(rt, committee.id, phone, lang) for phone, lang in members.items())
    session.flush()
    return committee


def seat(
    rt: Runtime,
    locality_id: int | None,
    *phones: str,
    name: str = "CCS",
    now: dt.datetime | None = None,
) -> int:
    """A committee of the locality with French-speaking members, committed; its id."""
    with transaction(rt.sessions) as session:
        return add_to(session, rt, locality_id, dict.fromkeys(phones, "fr"), name, now).id
