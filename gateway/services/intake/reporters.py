"""Reporters: found by the HMAC of their number, never by the number itself."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from gateway.crypto import Pseudonymizer
from gateway.models import Reporter
from gateway.upsert import insert_ignore, insert_ignore_many

# Built once: every USSD step and handled SMS looks its reporter up, and a statement
# object used again skips building the query and its cache key (SQLAlchemy's compiled
# cache then serves the SQL), about half the lookup's CPU.
_BY_PSEUDONYM = select(Reporter).where(Reporter.pseudonym == bindparam("pseudonym"))


def identify_reporter(
    session: Session, pseudonyms: Pseudonymizer, e164: str, now: dt.datetime
) -> Reporter:
    """The reporter behind `e164`, created on first contact. After PHONE_HASH_KEY
    rotation a reporter known under the previous key is re-keyed on their next
    message, so their history stays theirs."""
    pseudonym = pseudonyms.pseudonym(e164)
    reporter = session.scalar(_BY_PSEUDONYM, {"pseudonym": pseudonym})
    if reporter is not None:
        return reporter
    previous = pseudonyms.previous_pseudonym(e164)
    if previous is not None:
        old = session.scalar(_BY_PSEUDONYM, {"pseudonym": previous})
        if old is not None:
            old.pseudonym, old.key_version = pseudonym, pseudonyms.version
            session.flush()
            return old
    insert_ignore(session, Reporter.__table__, new_reporter_row(pseudonym, pseudonyms.version, now))
    return session.scalars(_BY_PSEUDONYM, {"pseudonym": pseudonym}).one()


def identify_reporters(
    session: Session, pseudonyms: Pseudonymizer, numbers: Sequence[str], now: dt.datetime
) -> dict[str, Reporter]:
    """The reporters behind `numbers` (by number), as `identify_reporter` finds or
    creates each, in two or three statements for the lot."""
    keyed = {e164: pseudonyms.pseudonym(e164) for e164 in numbers}
    found = _by_pseudonym(session, set(keyed.values()))
    missing = [e164 for e164, key in keyed.items() if key not in found]
    if missing and pseudonyms.previous_key:  # after a key rotation: one by one, rare
        for e164 in missing:
            found[keyed[e164]] = identify_reporter(session, pseudonyms, e164, now)
    elif missing:
        new = {keyed[e164] for e164 in missing}
        rows = [new_reporter_row(key, pseudonyms.version, now) for key in sorted(new)]
        insert_ignore_many(session, Reporter.__table__, rows)
        found |= _by_pseudonym(session, new)
    return {e164: found[key] for e164, key in keyed.items()}


def _by_pseudonym(session: Session, keys: set[str]) -> dict[str, Reporter]:
    if not keys:
        return {}
    rows = session.scalars(select(Reporter).where(Reporter.pseudonym.in_(sorted(keys))))
    return {reporter.pseudonym: reporter for reporter in rows}


def new_reporter_row(pseudonym: str, version: int, now: dt.datetime) -> dict[str, object]:
    """A new reporter's row, as first contact stores it."""
    return {
        "pseudonym": pseudonym,
        "key_version": version,
        "opted_out": False,
        "notice_sent": False,
        "created_at": now,
    }
