"""A session's path kept by the gateway, for USSD gateways that send only the latest
answer (`USSD_INPUT=latest`): the menu machine still replays the whole path.

The first request of a session (or of a session id seen again after `EXPIRY`) opens
the first screen whatever it carries: the dialled code (`*123#`) or nothing. Each
later input is appended as one answer, except an input shaped as a dialled code,
which no menu asks for (a resent dial): the screen is shown again. With the request's
sequence field (`step`), a request whose value was already seen (the same, or for
numbers not greater) is a resend and appends nothing; without it, a resend cannot be
told from the same answer typed again, and is appended.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass

# Operators end a USSD session after 20-180 s; a kept path older than this belongs to
# a session that is over (a reused session id starts afresh), and is erased.
EXPIRY = dt.timedelta(minutes=5)
MAX_PATH = 2000  # as the menu reads at most (services.intake.ussd)
MAX_STEP = 40  # a sequence number or a request id
_DIAL = re.compile(r"\*[0-9*]*#")


@dataclass(frozen=True)
class Kept:
    """The session's answers so far (`*`-joined, "" at the first screen), the last
    request's sequence value, and when the path last changed."""

    path: str
    step: str | None
    at: dt.datetime

    def to_json(self) -> str:
        return json.dumps({"path": self.path, "step": self.step, "at": self.at.isoformat()})

    @classmethod
    def from_json(cls, raw: str) -> Kept:
        data = json.loads(raw)
        step = data.get("step")
        at = dt.datetime.fromisoformat(str(data["at"]))
        return cls(str(data["path"]), None if step is None else str(step), at)


def advance(
    kept: Kept | None, latest: str, step: str | None, now: dt.datetime
) -> tuple[Kept, bool]:
    """The session's kept path after the request `latest` (sequence value `step`, None
    when the gateway sends none), and whether it changed (to be stored)."""
    step = step.strip()[:MAX_STEP] if step is not None else None
    if kept is None or now - kept.at > EXPIRY:
        return Kept("", step, now), True
    if step is not None and kept.step is not None and is_resend(step, kept.step):
        return kept, False
    if _DIAL.fullmatch(latest.strip()):
        return (Kept(kept.path, step, kept.at), True) if step != kept.step else (kept, False)
    path = f"{kept.path}*{latest}" if kept.path else latest
    return Kept(path[:MAX_PATH], step, now), True


def is_resend(step: str, last: str) -> bool:
    """Whether the sequence value `step` was already seen, `last` being the latest
    seen: numbers are resent when not greater (a late resend of an older request),
    other values when equal."""
    a, b = step.strip(), last.strip()
    if a.isdigit() and b.isdigit():
        return int(a) <= int(b)
    return a == b
