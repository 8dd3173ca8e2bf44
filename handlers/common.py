"""What every webhook does the same way: required fields, secrets compared in
constant time, and a database outage answered so the provider retries."""

from __future__ import annotations

import functools
import hmac
from collections.abc import Callable, Mapping
from typing import ParamSpec

from flask import Response

from gateway.db import DB_UNAVAILABLE
from gateway.models import OutboxStatus
from gateway.phones import PhoneError
from gateway.runtime import Runtime, current_runtime
from gateway.services.outbox import delivery


class MissingField(Exception):
    def __init__(self, name: str, problem: str = "missing field") -> None:
        super().__init__(name)
        self.name = name
        self.problem = problem


def runtime() -> Runtime:
    rt = current_runtime()
    return rt


def required(form: Mapping[str, str], *names: str) -> dict[str, str]:
    """The named fields (present, possibly empty for `text`-like fields); raise
    MissingField naming the first one absent."""
    values = {}
    for name in names:
        value = form.get(name)
        if value is None:
            raise MissingField(name)
        values[name] = _clean(name, value)
    return values


def optional(form: Mapping[str, str], name: str) -> str | None:
    """An optional field, None when absent or empty; refused like a required one when
    it holds a NUL byte."""
    value = form.get(name)
    return _clean(name, value) or None if value is not None else None


# Provider message and session ids: stored whole (up to MAX_ID characters) and keyed
# on whole, so two ids are never merged by a cut; a longer one is not a real id.
ID_FIELDS = frozenset({"id", "MessageSid", "sessionId", "SmsSid"})
MAX_ID = 100


def _clean(name: str, value: str) -> str:
    # PostgreSQL text cannot hold NUL: it is bad input, not a reason to retry forever.
    if "\x00" in value:
        raise MissingField(name, "NUL byte in field")
    if name in ID_FIELDS and len(value) > MAX_ID:
        raise MissingField(name, f"id longer than {MAX_ID} characters")
    return value


def plain(body: str, status: int = 200) -> Response:
    return Response(body, status=status, mimetype="text/plain")


def missing(exc: MissingField) -> Response:
    return plain(f"{exc.problem}: {exc.name}", 400)


def same_secret(given: str | None, expected: str) -> bool:
    return given is not None and hmac.compare_digest(given.encode(), expected.encode())


P = ParamSpec("P")


def webhook(view: Callable[P, Response]) -> Callable[P, Response]:
    """Answer what every webhook refuses the same way: a missing or NUL-bearing field
    or a refused phone number is 400 naming it; a database outage is 503, so the
    provider retries."""

    @functools.wraps(view)
    def guarded(*args: P.args, **kwargs: P.kwargs) -> Response:
        try:
            return view(*args, **kwargs)
        except MissingField as exc:
            return missing(exc)
        except PhoneError as exc:
            return plain(f"bad phone number: {exc}", 400)
        except DB_UNAVAILABLE:
            return plain("temporarily unavailable, retry", 503)

    return guarded


def delivery_answer(
    provider: str,
    message_id: str,
    raw_status: str,
    map_status: Callable[[str], OutboxStatus | None],
    error: str | None,
    unknown_status: int = 200,
) -> Response:
    """A delivery report or status callback: 400 for a status we do not know, else the
    outbox row updated ("ok"), or the status kept for its send's commit ("kept": the
    callback came first), or "unknown message", answered `unknown_status`, for a
    status that changes nothing and has no row."""
    status = map_status(raw_status)
    if status is None:
        return plain(f"unknown status: {raw_status[:40]}", 400)
    done = delivery.record_delivery(
        runtime(), provider=provider, provider_message_id=message_id, status=status, error=error
    )
    if done == delivery.Delivery.UNKNOWN:
        return plain("unknown message", unknown_status)
    return plain("ok" if done == delivery.Delivery.APPLIED else "kept")
