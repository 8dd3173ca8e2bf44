"""Twilio: inbound webhooks and the outbound sender."""

from __future__ import annotations

from flask import Blueprint

from gateway.config import Settings
from gateway.ports import Sender
from handlers.provider import Provider


# Imports inside: the SDK loads only for the providers in use.
def _sender(settings: Settings) -> Sender:
    from handlers.twilio.sender import TwilioSender

    return TwilioSender.from_settings(settings)


def _webhooks() -> Blueprint:
    from handlers.twilio.webhooks import bp

    return bp


PROVIDER = Provider("twilio", _sender, _webhooks)
