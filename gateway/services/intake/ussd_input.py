"""The path of a USSD session kept by the gateway (USSD_INPUT=latest), on its row.

What a caller typed (a locality's name) is dangerous data: the path is stored
encrypted in `ussd_sessions.kept_input`, never logged, and erased by the clock once
the session is over (`forget_kept_inputs`). Two requests of one session at once are
serialised on the session's row: PostgreSQL locks it (SELECT ... FOR UPDATE) until
the step's transaction commits; SQLite's request transaction already holds the write
lock of the step's count. So neither answer is lost or doubled.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from gateway.crypto import DecryptionError
from gateway.domain.ussd_input import EXPIRY, Kept, advance
from gateway.models import UssdSession
from gateway.runtime import Runtime


def session_path(
    session: Session,
    rt: Runtime,
    *,
    provider: str,
    session_id: str,
    latest: str,
    step: str | None,
    now: dt.datetime,
) -> str:
    """The session's whole path once `latest` (sequence value `step`) is taken in;
    the kept path is changed in `session`'s transaction, which the caller commits
    (holding the session's row until then). The step's count made the row."""
    row = session.execute(
        select(UssdSession.id, UssdSession.kept_input)
        .where(UssdSession.provider == provider, UssdSession.session_id == session_id)
        .with_for_update()
    ).one()
    kept, changed = advance(_open(rt, row.kept_input), latest, step, now)
    if changed:
        session.execute(
            update(UssdSession)
            .where(UssdSession.id == row.id)
            .values(kept_input=rt.vault.encrypt(kept.to_json()))
        )
    return kept.path


def _open(rt: Runtime, sealed: str | None) -> Kept | None:
    """The kept path, or None (none yet, or unreadable: the session starts afresh)."""
    if sealed is None:
        return None
    try:
        return Kept.from_json(rt.vault.decrypt(sealed))
    except (KeyError, ValueError, TypeError, DecryptionError):
        return None


def forget_kept_inputs(session: Session, now: dt.datetime) -> int:
    """Erase the kept paths of sessions over (no step for `EXPIRY`); how many."""
    done = session.execute(
        update(UssdSession)
        .where(UssdSession.kept_input.is_not(None), UssdSession.last_step_at < now - EXPIRY)
        .values(kept_input=None)
    )
    return int(done.rowcount or 0)  # type: ignore[attr-defined]
