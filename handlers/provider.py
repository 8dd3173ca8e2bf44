"""What a provider folder offers the registry: a sender factory and its webhooks."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flask import Blueprint

from gateway.ports import SenderFactory


@dataclass(frozen=True)
class Provider:
    """A provider folder's contribution. `webhooks` builds its blueprint (mounted at
    `/webhooks/<name>`), or is None for a provider that receives nothing."""

    name: str
    build_sender: SenderFactory
    webhooks: Callable[[], Blueprint] | None = None
