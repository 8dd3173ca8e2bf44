"""One SMS exchange: what handling a message needs, the replies it produces, and what
the reporter still has to answer (the pending state), typed and encrypted at rest."""

from __future__ import annotations

import datetime as dt
import enum
import json
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from sqlalchemy.orm import Session

from gateway.crypto import DecryptionError
from gateway.models import Reporter
from gateway.runtime import Runtime
from gateway.services.intake import pending_parts, pending_store

PENDING_FOR = dt.timedelta(days=1)


class PendingIntent(enum.StrEnum):
    """What a reporter's next message may complete."""

    TRUST = "trust"  # a rating waiting for its locality
    INCIDENT = "incident"  # an incident waiting for its locality
    PLACE = "place"  # a home locality being chosen
    JOIN = "join"  # a subscription waiting for its area
    OFFERED_INCIDENT = "offered"  # words that looked like a report: OUI makes it one
    CLOSING = "closing"  # a member's bare CLOS A123, waiting for how the alert ended


@dataclass(frozen=True)
class Pending:
    """A question the reporter was asked. `choices` are the P-codes listed to them;
    `text` is what they typed (free text: kept only encrypted); `pcode` a locality
    already understood (an offered incident's); `danger` an incident with people in
    danger now (URGENT); `code` the alert a member is closing."""

    intent: PendingIntent
    rating: int | None = None
    kind: str | None = None
    text: str | None = None
    choices: tuple[str, ...] = ()
    pcode: str | None = None
    danger: bool = False
    code: str | None = None

    def asking(self, choices: tuple[str, ...] = ()) -> Pending:
        return replace(self, choices=choices)

    def to_json(self) -> str:
        return json.dumps({**asdict(self), "choices": list(self.choices)})

    @classmethod
    def from_json(cls, raw: str) -> Pending:
        data: dict[str, Any] = json.loads(raw)
        return cls(
            intent=PendingIntent(data["intent"]),
            rating=data.get("rating"),
            kind=data.get("kind"),
            text=data.get("text"),
            choices=tuple(data.get("choices") or ()),
            pcode=data.get("pcode"),
            danger=bool(data.get("danger", False)),
            code=data.get("code"),
        )


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
    member: bool = False  # the sender is an active committee member

    def say(self, key: str, **values: object) -> None:
        self.replies.append(self.rt.reference.catalogues.render(self.lang, key, **values))

    def pending(self) -> Pending | None:
        """The reporter's pending question, if one is still open."""
        r = self.reporter
        sealed = pending_parts.part(r.pending, r.pending_until, pending_parts.SMS, self.now)
        if sealed is None:
            return None
        try:
            return Pending.from_json(self.rt.vault.decrypt(sealed))
        except (KeyError, ValueError, TypeError, DecryptionError):
            return None  # an old or unreadable state: ask again rather than fail

    def set_pending(self, pending: Pending) -> None:
        # The whole state is encrypted: it holds what the reporter typed.
        self._store(self.rt.vault.encrypt(pending.to_json()), self.now + PENDING_FOR)

    def clear_pending(self) -> None:
        self._store(None, None)

    def _store(self, sealed: str | None, end: dt.datetime | None) -> None:
        """Set the SMS part; a USSD report kept beside it stays (pending_parts)."""
        pending_store.on_reporter(
            self.session, self.reporter, pending_parts.SMS, sealed, end, self.now
        )
