"""The one registry of providers. Adding a provider is a folder in `handlers/` whose
`__init__.py` defines `PROVIDER`, and one line here."""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping

from flask import Flask

from gateway.config import ConfigError, Settings, provider_of, variant_of
from gateway.ports import Sender, SenderFactory
from gateway.web.lean import LeanView
from handlers.provider import Provider

MODULES: dict[str, str] = {
    "console": "handlers.console",
    "africastalking": "handlers.africastalking",
    "twilio": "handlers.twilio",
    "kannel": "handlers.kannel",
    "android": "handlers.android",
}


def provider(name: str) -> Provider:
    """The provider registered as `name` (its SDK loads only now: at first use)."""
    try:
        module = importlib.import_module(MODULES[name])
    except KeyError:
        raise ValueError(f"unknown SMS provider {name!r}") from None
    found: Provider = module.PROVIDER
    return found


class ChannelFactories(Mapping[str, SenderFactory]):
    """Channel name -> sender factory: every registered provider, and the named
    variants (`kannel-orange`) of those that have them. Each loads lazily."""

    def __getitem__(self, channel: str) -> SenderFactory:
        name = provider_of(channel)
        if name not in MODULES or (variant_of(channel) and not _has_variants(name)):
            raise KeyError(channel)
        return lambda settings: build_sender(channel, settings)

    def __iter__(self) -> Iterator[str]:
        return iter(MODULES)

    def __len__(self) -> int:
        return len(MODULES)


def _has_variants(name: str) -> bool:
    return provider(name).variants is not None


def sender_factories() -> Mapping[str, SenderFactory]:
    """Channel name -> sender factory for every registered provider; each loads lazily."""
    return ChannelFactories()


def build_sender(name: str, settings: Settings) -> Sender:
    """The sender of channel `name` (a provider, or a provider's variant such as
    `kannel-orange`), configured from `settings`."""
    found = provider(provider_of(name))
    if variant_of(name):
        if found.variants is None:
            raise ValueError(f"SMS provider {found.name!r} has no channel variants")
        return found.variants(settings, name)
    return found.build_sender(settings)


def check_channels(settings: Settings) -> None:
    """Raise ConfigError naming the setting when a configured channel has no provider
    here, or a variant its provider does not offer."""
    for channel in settings.channels:
        setting = (
            "SMS_FALLBACK_PROVIDER" if channel == settings.sms_fallback_provider else "SMS_PROVIDER"
        )
        name = provider_of(channel)
        if name not in MODULES:
            known = ", ".join(MODULES)
            raise ConfigError(f"{setting}: {channel!r} is not a provider ({known})")
        if variant_of(channel) and not _has_variants(name):
            raise ConfigError(f"{setting}: {name} has no channel variants ({channel!r})")


def lean_routes(app: Flask) -> dict[str, LeanView]:
    """The USSD steps' paths in `app` (as registered by `register_webhooks`), each with
    its view's twin served without Flask's request machinery (gateway.web.lean)."""
    from handlers import ussd_gateway
    from handlers.africastalking import webhooks as africastalking

    views = {
        "africastalking.ussd_step": africastalking.lean_ussd_step,
        "ussd_gateway.ussd_step": ussd_gateway.lean_ussd_step,
    }
    return {
        rule.rule: views[rule.endpoint]
        for rule in app.url_map.iter_rules()
        if rule.endpoint in views
    }


def register_webhooks(app: Flask) -> None:
    """Mount each provider's webhooks at `/webhooks/<name>`, and the configurable
    operator USSD gateway at `/webhooks/ussd` (USSD only: not an SMS provider)."""
    from handlers.ussd_gateway import bp as ussd_gateway

    for name in MODULES:
        webhooks = provider(name).webhooks
        if webhooks is not None:
            app.register_blueprint(webhooks(), url_prefix=f"/webhooks/{name}")
    app.register_blueprint(ussd_gateway, url_prefix="/webhooks/ussd")
