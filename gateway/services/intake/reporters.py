"""Reporters: found by the HMAC of their number, never by the number itself."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from gateway.crypto import Pseudonymizer
from gateway.models import Reporter
from gateway.upsert import insert_ignore

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
    insert_ignore(
        session,
        Reporter.__table__,
        {
            "pseudonym": pseudonym,
            "key_version": pseudonyms.version,
            "opted_out": False,
            "notice_sent": False,
            "created_at": now,
        },
    )
    return session.scalars(_BY_PSEUDONYM, {"pseudonym": pseudonym}).one()
