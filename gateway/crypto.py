"""Pseudonyms and encryption for dangerous data (phone numbers, free text).

A reporter is known by HMAC-SHA256(PHONE_HASH_KEY, E.164 number): stable, not
reversible without the key, and re-keyed lazily when the key rotates. Numbers that
must be used again (a reply not yet sent, a committee member, a subscriber) and free
text are encrypted with Fernet under DATA_KEY (MultiFernet, so a previous key still
decrypts while rows are re-encrypted).
"""

from __future__ import annotations

import functools
import hashlib
import hmac
from dataclasses import dataclass

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


class DecryptionError(Exception):
    """Stored ciphertext could not be decrypted with any configured key."""


@dataclass(frozen=True)
class Pseudonymizer:
    key: str
    version: int = 1
    previous_key: str | None = None

    def pseudonym(self, e164: str) -> str:
        mac = self._keyed.copy()
        mac.update(e164.encode("ascii"))
        return mac.hexdigest()

    @functools.cached_property
    def _keyed(self) -> hmac.HMAC:
        # Keyed once: a copy per number skips OpenSSL's digest lookup and key setup,
        # which made hmac.digest cost ~30 µs of every SMS webhook (profile_webhooks).
        return hmac.new(self.key.encode("utf-8"), digestmod=hashlib.sha256)

    def previous_pseudonym(self, e164: str) -> str | None:
        """The pseudonym under the key before rotation, to find and re-key old rows."""
        return _hmac(self.previous_key, e164) if self.previous_key else None


def _hmac(key: str, e164: str) -> str:
    return hmac.digest(key.encode("utf-8"), e164.encode("ascii"), "sha256").hex()


class Vault:
    """Encrypts and decrypts short secrets with the current and previous DATA_KEY."""

    def __init__(self, key: str, previous_key: str | None = None) -> None:
        keys = [Fernet(key.encode("ascii"))]
        if previous_key:
            keys.append(Fernet(previous_key.encode("ascii")))
        self._fernet = MultiFernet(keys)

    def encrypt(self, plain: str) -> str:
        return self._fernet.encrypt(plain.encode("utf-8")).decode("ascii")

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode("utf-8")
        except (InvalidToken, ValueError) as exc:
            raise DecryptionError("stored value cannot be decrypted with DATA_KEY") from exc

    def rotate(self, token: str) -> str:
        """Re-encrypt `token` under the current key."""
        return self._fernet.rotate(token.encode("ascii")).decode("ascii")


def mask_phone(e164: str) -> str:
    """`+22376123456` → `+223******56`: enough to tell two recipients apart, no more."""
    if len(e164) <= 6:
        return "*" * len(e164)
    return e164[:4] + "*" * (len(e164) - 6) + e164[-2:]
