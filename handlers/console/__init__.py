"""The console provider: SMS printed (and written to CONSOLE_SMS_FILE), nothing received."""

from __future__ import annotations

from gateway.config import Settings
from gateway.ports import Sender
from handlers.provider import Provider


def _sender(settings: Settings) -> Sender:
    from handlers.console.sender import ConsoleSender

    return ConsoleSender.from_settings(settings)


PROVIDER = Provider("console", _sender)
