"""The port that services send SMS through: what a provider's sender looks like.

Services depend on this module, never on `handlers/`; the app (the composition root)
hands them the provider registry (`handlers.registry`) through the `Runtime`. A sender
only translates one SMS into the provider's API call and the answer back into a
`SendResult`; retries, fallback and bookkeeping belong to the outbox.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, Protocol

from gateway.config import Settings

SendOutcome = Literal["accepted", "retryable", "permanent"]


@dataclass(frozen=True)
class SendResult:
    """What a provider said of one SMS. `error` never holds a phone number or a secret."""

    outcome: SendOutcome
    provider_message_id: str | None = None
    error: str | None = None
    # The provider refuses the number because its owner opted out there (Twilio
    # 21610): we stop writing to it too.
    opted_out: bool = False

    @classmethod
    def accepted(cls, provider_message_id: str | None) -> SendResult:
        return cls("accepted", provider_message_id, None)

    @classmethod
    def retryable(cls, error: str) -> SendResult:
        return cls("retryable", None, error)

    @classmethod
    def permanent(cls, error: str, *, opted_out: bool = False) -> SendResult:
        return cls("permanent", None, error, opted_out)


class Sender(Protocol):
    name: str

    def send(self, to_e164: str, body: str) -> SendResult:
        """Send one SMS; never raises for a provider's or the network's failure."""
        ...


SenderFactory = Callable[[Settings], Sender]
