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


_FORMATTER = logging.Formatter()


class RedactingFilter(logging.Filter):
    """Scrubs the message and, since a traceback quotes the exception's text (an
    error about a row quotes the row), the formatted traceback and stack too."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and not record.exc_text:
            # Formatters use exc_text when it is set, so the clean one is what prints.
            record.exc_text = _FORMATTER.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


class RedactingFormatter(logging.Formatter):
    """A formatter whose whole output is scrubbed, for handlers set up outside the
    app (gunicorn's error log, the clock's console)."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))
