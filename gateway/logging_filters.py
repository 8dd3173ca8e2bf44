"""A last line of defence: whatever reaches a log is scrubbed of phone numbers and
webhook tokens. Code should not log them in the first place; this catches mistakes."""

from __future__ import annotations

import logging
import re

# International numbers (+223..., 00223...) and Malian/Nigerien/Mauritanian local
# 8-digit numbers, with or without spaces.
_PHONE = re.compile(r"(?:\+|00)\d[\d .-]{6,16}\d|\b\d{2}(?:[ .-]?\d{2}){3}\b")
_TOKEN = re.compile(r"(token=)[^&\s\"']+", re.IGNORECASE)


def redact(text: str) -> str:
    return _TOKEN.sub(r"\1[redacted]", _PHONE.sub("[phone]", text))


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True
