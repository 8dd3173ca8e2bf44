"""Outbound SMS: what a provider's sender looks like, and the registry of senders.

A sender only translates one SMS into the provider's API call and the answer back
into a `SendResult`; retries, fallback and bookkeeping belong to the outbox.
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

    @classmethod
    def accepted(cls, provider_message_id: str | None) -> SendResult:
        return cls("accepted", provider_message_id, None)

    @classmethod
    def retryable(cls, error: str) -> SendResult:
        return cls("retryable", None, error)

    @classmethod
    def permanent(cls, error: str) -> SendResult:
        return cls("permanent", None, error)


class Sender(Protocol):
    name: str

    def send(self, to_e164: str, body: str) -> SendResult:
        """Send one SMS; never raises for a provider's or the network's failure."""
        ...


# Imports inside the factories: the SDKs load only for the providers in use, and the
# provider modules can import this one without a cycle.
def _console(settings: Settings) -> Sender:
    from handlers.console.sender import ConsoleSender

    return ConsoleSender.from_settings(settings)


def _africastalking(settings: Settings) -> Sender:
    from handlers.africastalking.sender import AfricasTalkingSender

    return AfricasTalkingSender.from_settings(settings)


def _twilio(settings: Settings) -> Sender:
    from handlers.twilio.sender import TwilioSender

    return TwilioSender.from_settings(settings)


SENDERS: dict[str, Callable[[Settings], Sender]] = {
    "console": _console,
    "africastalking": _africastalking,
    "twilio": _twilio,
}


def build_sender(name: str, settings: Settings) -> Sender:
    """The sender of provider `name`, configured from `settings`."""
    try:
        factory = SENDERS[name]
    except KeyError:
        raise ValueError(f"unknown SMS provider {name!r}") from None
    return factory(settings)
