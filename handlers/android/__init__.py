"""SMS Gateway for Android (capcom6/android-sms-gateway): a phone with a local SIM
relays SMS. Its signed JSON webhooks come in; SMS go out through its API with the
`android-sms-gateway` client."""

from __future__ import annotations

from flask import Blueprint

from gateway.config import Settings
from gateway.ports import Sender
from handlers.provider import Provider


def _sender(settings: Settings) -> Sender:
    from handlers.android.sender import AndroidSender

    return AndroidSender.from_settings(settings)


def _webhooks() -> Blueprint:
    from handlers.android.webhooks import bp

    return bp


PROVIDER = Provider("android", _sender, _webhooks)
