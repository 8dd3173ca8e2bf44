"""A USSD report cut off by the network, kept for the caller's next call.

What is kept (gateway.domain.ussd_resume.Resume: her answers so far, as the path of the
session that dropped) is dangerous data: it is stored encrypted, as the `ussd` part of
her reporter row's pending state (pending_parts), so it is keyed by her pseudonym and
never by her number; it ends `USSD_RESUME_MINUTES` after her last step, is forgotten at
once when she finishes or declines, and the clock's `pending` job erases it when over.
"""

from __future__ import annotations

import datetime as dt

from gateway.crypto import DecryptionError
from gateway.domain.ussd_resume import Resume
from gateway.runtime import Runtime
from gateway.services.intake import pending_parts
from gateway.services.intake.ussd_steps import Caller

Part = tuple[str | None, dt.datetime | None]  # (ciphertext, end)


def enabled(rt: Runtime) -> bool:
    return rt.settings.ussd_resume > dt.timedelta(0)


def kept(rt: Runtime, caller: Caller, now: dt.datetime) -> Resume:
    """What the caller's earlier steps kept, or an empty Resume (none, over, or
    unreadable: she then starts from the top, as before)."""
    if not enabled(rt):
        return Resume()
    pending, until = caller.pending
    sealed = pending_parts.part(pending, until, pending_parts.USSD, now)
    if sealed is None:
        return Resume()
    try:
        return Resume.from_json(rt.vault.decrypt(sealed))
    except (KeyError, ValueError, TypeError, DecryptionError):
        return Resume()


def part(rt: Runtime, resume: Resume, now: dt.datetime) -> Part:
    """What the caller's row is to keep of `resume`: its ciphertext and end,
    `USSD_RESUME_MINUTES` from now (None, None when it is empty: nothing kept)."""
    if not resume:
        return None, None
    return rt.vault.encrypt(resume.to_json()), now + rt.settings.ussd_resume
