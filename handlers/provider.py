"""What a provider folder offers the registry: a sender factory and its webhooks."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flask import Blueprint

from gateway.config import Settings
from gateway.ports import Sender, SenderFactory


@dataclass(frozen=True)
class Provider:
    """A provider folder's contribution. `webhooks` builds its blueprint (mounted at
    `/webhooks/<name>`), or is None for a provider that receives nothing. `variants`
    builds the sender of a named channel of the provider (`kannel-orange`: Kannel's
    `orange` SMSC), None for a provider that has no variants."""

    name: str
    build_sender: SenderFactory
    webhooks: Callable[[], Blueprint] | None = None
    variants: Callable[[Settings, str], Sender] | None = None
