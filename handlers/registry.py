"""The one registry of providers. Adding a provider is a folder in `handlers/` whose
`__init__.py` defines `PROVIDER`, and one line here."""

from __future__ import annotations

import importlib
from collections.abc import Mapping

from flask import Flask

from gateway.config import Settings
from gateway.ports import Sender, SenderFactory
from handlers.provider import Provider

MODULES: dict[str, str] = {
    "console": "handlers.console",
    "africastalking": "handlers.africastalking",
    "twilio": "handlers.twilio",
}


def provider(name: str) -> Provider:
    """The provider registered as `name` (its SDK loads only now: at first use)."""
    try:
        module = importlib.import_module(MODULES[name])
    except KeyError:
        raise ValueError(f"unknown SMS provider {name!r}") from None
    found: Provider = module.PROVIDER
    return found


def sender_factories() -> Mapping[str, SenderFactory]:
    """Name -> sender factory for every registered provider; each loads lazily."""
    return {name: _lazy(name) for name in MODULES}


def _lazy(name: str) -> SenderFactory:
    def build(settings: Settings) -> Sender:
        return provider(name).build_sender(settings)

    return build


def build_sender(name: str, settings: Settings) -> Sender:
    """The sender of provider `name`, configured from `settings`."""
    return provider(name).build_sender(settings)


def register_webhooks(app: Flask) -> None:
    """Mount each provider's webhooks at `/webhooks/<name>`."""
    for name in MODULES:
        webhooks = provider(name).webhooks
        if webhooks is not None:
            app.register_blueprint(webhooks(), url_prefix=f"/webhooks/{name}")
