"""Which channel carries an SMS, and in what order the others take over.

A reply goes back on the channel its message came in on; anything else goes on the
channel SMS_ROUTES names for the recipient's operator (phonenumbers' carrier data,
by prefix), else the default. The other configured channels follow, in the order of
SMS_PROVIDER: that list is the failover order (the outbox's one mechanism).
"""

from __future__ import annotations

import functools

import phonenumbers
from phonenumbers import carrier

from gateway.config import Settings
from gateway.domain.backoff import RetryPolicy
from gateway.domain.text import fold

# Names people use for an operator → the names phonenumbers' carrier data gives it.
# Moov Africa Malitel is still "Sotelma" there, Telecel is "Atel".
OPERATOR_NAMES: dict[str, tuple[str, ...]] = {
    "orange": ("orange",),
    "moov": ("moov", "malitel", "sotelma"),
    "malitel": ("moov", "malitel", "sotelma"),
    "sotelma": ("moov", "malitel", "sotelma"),
    "telecel": ("telecel", "atel"),
    "atel": ("telecel", "atel"),
}


@functools.lru_cache(maxsize=4096)
def operator_of(e164: str) -> str:
    """The recipient's operator as phonenumbers knows it by prefix, folded; "" when
    unknown (a fixed line, a prefix without data)."""
    try:
        number = phonenumbers.parse(e164)
    except phonenumbers.NumberParseException:
        return ""
    return fold(carrier.name_for_number(number, "en"))


def _matches(operator: str, carrier_name: str) -> bool:
    if operator == "*":
        return True
    if not carrier_name:
        return False
    names = OPERATOR_NAMES.get(operator, (operator,))
    return any(name in carrier_name for name in names)


def routed_channel(settings: Settings, e164: str) -> str:
    """The channel SMS_ROUTES gives the recipient's operator, else the default."""
    if settings.sms_routes:
        carrier_name = operator_of(e164)
        for operator, channel in settings.sms_routes:
            if _matches(operator, carrier_name):
                return channel
    return settings.sms_provider


def chain(settings: Settings, e164: str, asked: str | None) -> tuple[str, ...]:
    """The channels to try for one SMS, first choice first: the channel asked for
    when it is configured (a reply's), else the route; then every other channel."""
    first = asked if asked in settings.channels else routed_channel(settings, e164)
    return tuple(dict.fromkeys((first, *settings.channels)))


def channel_for(channels: tuple[str, ...], attempt: int, policy: RetryPolicy) -> str:
    """The channel of attempt number `attempt`: the first for `fallback_after`
    attempts, then each next one for as many, the last one to the end."""
    if len(channels) == 1 or not policy.uses_fallback(attempt):
        return channels[0]
    step = max(policy.fallback_after, 1)
    index = 1 + (attempt - policy.fallback_after - 1) // step
    return channels[min(index, len(channels) - 1)]
