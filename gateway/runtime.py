"""The gateway's runtime: settings plus the objects built from them, one per app.

Flask keeps it in `app.extensions["gateway"]`; the CLI, the clock and the tests use it
directly. Nothing here is global: two apps in one process do not share state.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from flask import current_app
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from gateway.config import Settings
from gateway.crypto import Pseudonymizer, Vault
from gateway.db import make_engine, make_sessionmaker
from gateway.ports import SenderFactory
from gateway.reference import Reference

T = TypeVar("T")
EXTENSION = "gateway"  # the key of the runtime in `app.extensions`


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Runtime:
    def __init__(
        self,
        settings: Settings,
        now: Callable[[], dt.datetime] = utcnow,
        sender_factories: Mapping[str, SenderFactory] | None = None,
    ) -> None:
        self.settings = settings
        self.now = now
        # The provider registry, handed in by the app: services never import handlers.
        self.sender_factories: Mapping[str, SenderFactory] = sender_factories or {}
        self.engine: Engine = make_engine(settings.database_url)
        self.sessions: sessionmaker[Session] = make_sessionmaker(self.engine)
        self.pseudonyms = Pseudonymizer(
            settings.phone_hash_key,
            settings.phone_hash_key_version,
            settings.phone_hash_key_previous,
        )
        self.vault = Vault(settings.data_key, settings.data_key_previous)
        self.reference = Reference()
        self._cache: dict[str, Any] = {}
        self._lock = threading.Lock()

    def cached(self, name: str, build: Callable[[], T]) -> T:
        """Build a read-mostly resource (grammar, catalogues, locality index) once."""
        with self._lock:
            if name not in self._cache:
                self._cache[name] = build()
            value: T = self._cache[name]
            return value

    def forget(self, name: str) -> None:
        """Drop a cached resource so the next use rebuilds it (after an admin edit)."""
        with self._lock:
            self._cache.pop(name, None)

    def close(self) -> None:
        self.engine.dispose()


def current_runtime() -> Runtime:
    """The runtime of the Flask app serving this request or command."""
    rt: Runtime = current_app.extensions[EXTENSION]
    return rt
