"""The app's webhook signature: `X-Signature` is the hex HMAC-SHA256, keyed with the
signing key set in the app, of the raw body followed by `X-Timestamp` (Unix seconds).
The app's documentation advises a ±5 minute window and a constant-time comparison."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac

WINDOW = dt.timedelta(minutes=5)


def sign(key: str, body: bytes, timestamp: str) -> str:
    return hmac.new(key.encode(), body + timestamp.encode(), hashlib.sha256).hexdigest()


def check(
    key: str, body: bytes, timestamp: str | None, signature: str | None, now: dt.datetime
) -> str | None:
    """None when the request is signed and fresh, else why it is refused."""
    if not timestamp or not signature:
        return "missing X-Signature or X-Timestamp"
    try:
        sent_at = dt.datetime.fromtimestamp(int(timestamp.strip()), dt.UTC)
    except (ValueError, OverflowError, OSError):
        return "bad X-Timestamp"
    if abs(now - sent_at) > WINDOW:
        return "X-Timestamp outside the 5 minute window"
    expected = sign(key, body, timestamp.strip())
    if not hmac.compare_digest(expected.encode(), signature.strip().lower().encode()):
        return "bad signature"
    return None
