"""The two parts a reporter's `pending` column holds, each encrypted, each with its end.

- `enc`: the SMS question they still have to answer (conversation.Pending), until
  `enc_until` (rows written before it existed: the column `pending_until`);
- `ussd`: a USSD report cut off part-way, kept for the next call (ussd_resume), until
  `ussd_until`.

The column `pending_until` is the later end, so the purge's one UPDATE forgets a row
whose parts are all over; `tidy` drops a part that is over from a row whose other part
still runs. Writing one part keeps the other as it was (and its own end).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

SMS, USSD = "enc", "ussd"
_ENDS = {SMS: "enc_until", USSD: "ussd_until"}

Column = tuple[dict[str, Any] | None, dt.datetime | None]  # (pending, pending_until)


def part(
    pending: Mapping[str, Any] | None, until: dt.datetime | None, name: str, now: dt.datetime
) -> str | None:
    """The ciphertext of the part `name`, or None when absent or over."""
    if not pending or name not in pending:
        return None
    end = _end(pending, until, name)
    return str(pending[name]) if end is not None and end > now else None


def with_part(
    pending: Mapping[str, Any] | None,
    until: dt.datetime | None,
    name: str,
    value: str | None,
    end: dt.datetime | None,
    now: dt.datetime,
) -> Column:
    """The column's new values with the part `name` set to `value` until `end` (None:
    removed); the other part kept while it runs, parts that are over dropped."""
    parts: dict[str, Any] = {}
    ends: list[dt.datetime] = []
    for key, end_key in _ENDS.items():
        if key == name:
            kept, kept_end = value, end
        else:
            kept, kept_end = (pending or {}).get(key), _end(pending, until, key)
        if kept is not None and kept_end is not None and kept_end > now:
            parts[key], parts[end_key] = kept, kept_end.isoformat()
            ends.append(kept_end)
    return (parts, max(ends)) if parts else (None, None)


def tidy(pending: Mapping[str, Any] | None, until: dt.datetime | None, now: dt.datetime) -> Column:
    """The column without the parts that are over."""
    return with_part(
        pending, until, SMS, part(pending, until, SMS, now), _end(pending, until, SMS), now
    )


def _end(
    pending: Mapping[str, Any] | None, until: dt.datetime | None, name: str
) -> dt.datetime | None:
    if not pending or name not in pending:
        return None
    raw = pending.get(_ENDS[name])
    if raw is None:
        return until if name == SMS else None  # an SMS question stored before the ends
    try:
        end = dt.datetime.fromisoformat(str(raw))
    except ValueError:
        return None
    return end if end.tzinfo else end.replace(tzinfo=dt.UTC)
