"""One inbound SMS being handled: what its handling needs, and the replies it produces."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from gateway.models import Reporter
from gateway.runtime import Runtime


@dataclass
class Conversation:
    """What a message's handling needs, and the replies it produces."""

    session: Session
    rt: Runtime
    reporter: Reporter
    e164: str
    lang: str
    now: dt.datetime
    source_ref: str
    replies: list[str] = field(default_factory=list)
    final_only: bool = False  # after STOP: nothing but the confirmation

    def say(self, key: str, **values: object) -> None:
        self.replies.append(self.rt.reference.catalogues.render(self.lang, key, **values))
