"""Reporters: found by the HMAC of their number, never by the number itself."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.crypto import Pseudonymizer
from gateway.models import Reporter
from gateway.upsert import insert_ignore


def identify_reporter(
    session: Session, pseudonyms: Pseudonymizer, e164: str, now: dt.datetime
) -> Reporter:
    """The reporter behind `e164`, created on first contact. After PHONE_HASH_KEY
    rotation a reporter known under the previous key is re-keyed on their next
    message, so their history stays theirs."""
    pseudonym = pseudonyms.pseudonym(e164)
    reporter = session.scalar(select(Reporter).where(Reporter.pseudonym == pseudonym))
    if reporter is not None:
        return reporter
    previous = pseudonyms.previous_pseudonym(e164)
    if previous is not None:
        old = session.scalar(select(Reporter).where(Reporter.pseudonym == previous))
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
    return session.scalars(select(Reporter).where(Reporter.pseudonym == pseudonym)).one()
