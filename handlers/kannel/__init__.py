"""Kannel: smsbox's get-url and dlr-url webhooks, and the sendsms sender. bearerbox
holds the SMPP binds to the operators' SMSCs; the gateway only speaks HTTP to smsbox."""

from __future__ import annotations

from flask import Blueprint

from gateway.config import Settings
from gateway.ports import Sender
from handlers.provider import Provider


def _channel_sender(settings: Settings, channel: str) -> Sender:
    from handlers.kannel.sender import KannelSender

    return KannelSender.from_settings(settings, channel)


def _sender(settings: Settings) -> Sender:
    return _channel_sender(settings, "kannel")


def _webhooks() -> Blueprint:
    from handlers.kannel.webhooks import bp

    return bp


PROVIDER = Provider("kannel", _sender, _webhooks, variants=_channel_sender)
