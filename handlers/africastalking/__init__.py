"""Africa's Talking: inbound webhooks and the outbound sender."""

from __future__ import annotations

from flask import Blueprint

from gateway.config import Settings
from gateway.ports import Sender
from handlers.provider import Provider


# Imports inside: the SDK loads only for the providers in use.
def _sender(settings: Settings) -> Sender:
    from handlers.africastalking.sender import AfricasTalkingSender

    return AfricasTalkingSender.from_settings(settings)


def _webhooks() -> Blueprint:
    from handlers.africastalking.webhooks import bp

    return bp


PROVIDER = Provider("africastalking", _sender, _webhooks)
