"""Every provider in the registry carries its own proof: a folder with a PROVIDER, a
sender that builds, a status map and a table of webhook tests when it receives, and
sender tests. Adding a provider without them fails here."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
from flask import Flask

from gateway.config import ConfigError
from gateway.models import OutboxStatus
from handlers import registry

TESTS = Path(__file__).parent
ROOT = TESTS.parents[1]
PROVIDERS = sorted(registry.MODULES)


def test_the_registry_lists_every_provider_folder_and_nothing_else() -> None:
    folders = {
        p.parent.name
        for p in (ROOT / "handlers").glob("*/__init__.py")
        if p.parent.name != "__pycache__"
    }
    assert folders == set(PROVIDERS)
    assert all(registry.MODULES[n] == f"handlers.{n}" for n in PROVIDERS)


@pytest.mark.parametrize("name", PROVIDERS)
def test_each_provider_declares_itself(name: str) -> None:
    provider = registry.provider(name)
    assert provider.name == name
    assert callable(provider.build_sender)


@pytest.mark.parametrize("name", [n for n in PROVIDERS if registry.provider(n).webhooks])
def test_a_provider_that_receives_has_a_status_map_and_a_webhook_table(name: str) -> None:
    status = importlib.import_module(f"handlers.{name}.status")
    assert status.STATUSES and set(status.STATUSES.values()) <= {
        OutboxStatus.SENT,
        OutboxStatus.DELIVERED,
        OutboxStatus.FAILED,
    }
    assert all(status.map_status(raw) == value for raw, value in status.STATUSES.items())
    assert status.map_status("no such status") is None
    table = TESTS / f"test_{name}_webhooks.py"
    assert table.exists(), f"{table.name} is missing"
    text = table.read_text("utf-8")
    assert "@pytest.mark.parametrize" in text and f"/webhooks/{name}" in text


@pytest.mark.parametrize("name", PROVIDERS)
def test_each_sender_has_tests(name: str) -> None:
    needle = f"handlers.{name}.sender"
    files = list(TESTS.glob("test_*.py")) + list((TESTS.parent / "integration").glob("test_*.py"))
    assert any(needle in f.read_text("utf-8") for f in files), f"no test imports {needle}"


@pytest.mark.parametrize("name", [n for n in PROVIDERS if registry.provider(n).webhooks])
def test_each_webhook_blueprint_is_mounted_under_its_name(app: Flask, name: str) -> None:
    prefixes = {str(rule) for rule in app.url_map.iter_rules()}
    assert any(p.startswith(f"/webhooks/{name}/") for p in prefixes)


def test_only_providers_with_variants_take_a_named_channel() -> None:
    factories = registry.sender_factories()
    assert "kannel-orange" in factories
    assert "twilio-orange" not in factories and "pigeon" not in factories
    settings = type("S", (), {"channels": ("pigeon",), "sms_fallback_provider": None})()
    with pytest.raises(ConfigError, match="SMS_PROVIDER"):
        registry.check_channels(settings)  # type: ignore[arg-type]
