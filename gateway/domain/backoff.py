"""When to try an SMS again: exponential backoff with full jitter, and when to stop.

Full jitter (a delay drawn uniformly between zero and an exponentially growing
ceiling) spreads retries of many messages that failed together, so a provider that
comes back is not hit by all of them at once.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Protocol


class RandomSource(Protocol):
    """What backoff needs of `random.Random`: a float in [0, 1)."""

    def random(self) -> float: ...


@dataclass(frozen=True)
class RetryPolicy:
    """How an outbox message is retried. Attempts are counted from 1 (the first send)."""

    base: dt.timedelta = dt.timedelta(seconds=30)
    cap: dt.timedelta = dt.timedelta(hours=1)
    # After this many failed attempts, the message goes dead (admins may retry it).
    max_attempts: int = 8
    # After this many failed attempts, the fallback provider is used when there is one.
    fallback_after: int = 3

    def __post_init__(self) -> None:
        if self.base <= dt.timedelta(0) or self.cap < self.base:
            raise ValueError("backoff needs 0 < base <= cap")
        if self.max_attempts < 1 or self.fallback_after < 0:
            raise ValueError("max_attempts must be 1 or more, fallback_after 0 or more")

    def ceiling(self, attempt: int) -> dt.timedelta:
        """The longest wait after failed attempt number `attempt` (1, 2, ...)."""
        if attempt < 1:
            raise ValueError("attempts are counted from 1")
        # Compare in float seconds: a timedelta product could overflow for large attempts.
        doublings = min(attempt - 1, 64)
        if self.base.total_seconds() * 2.0**doublings >= self.cap.total_seconds():
            return self.cap
        return self.base * (1 << doublings)

    def delay(self, attempt: int, rng: RandomSource) -> dt.timedelta:
        """The wait after failed attempt `attempt`: uniform in [0, ceiling]."""
        fraction = min(max(rng.random(), 0.0), 1.0)
        return self.ceiling(attempt) * fraction

    def gives_up(self, attempts: int) -> bool:
        """True when `attempts` failed attempts are all a message gets."""
        return attempts >= self.max_attempts

    def uses_fallback(self, attempt: int) -> bool:
        """True when attempt number `attempt` should go through the fallback provider."""
        return attempt > self.fallback_after
