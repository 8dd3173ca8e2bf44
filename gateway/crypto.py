"""Pseudonyms and encryption for dangerous data (phone numbers, free text).

A reporter is known by HMAC-SHA256(PHONE_HASH_KEY, E.164 number): stable, not
reversible without the key, and re-keyed lazily when the key rotates. Numbers that
must be used again (a reply not yet sent, a committee member, a subscriber) and free
text are encrypted under DATA_KEY with AES-256-GCM (`a1.` tokens, a key derived from
DATA_KEY with HKDF); Fernet tokens, written before, are still read. A previous key
still decrypts both while rows are re-encrypted.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import os
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

# Tokens written since 2026-12: `a1.` + urlsafe base64(12-byte random nonce || AES-GCM
# ciphertext and tag). The prefix cannot begin a Fernet token (base64 of 0x80: "gA").
GCM_PREFIX = "a1."
_GCM_INFO = b"gateway vault aes-gcm v1"
_NONCE = 12


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
    """Encrypts and decrypts short secrets with the current and previous DATA_KEY.

    New tokens are AES-256-GCM (one call into OpenSSL: a fifth of Fernet's CPU, which
    was ~15 % of an SMS webhook's; BENCHMARKS.md, helper `lite2`), under a key that
    HKDF derives from DATA_KEY's 32 bytes, so one setting still serves both formats.
    Fernet tokens from before are read with the same keys, and `rotate` rewrites
    either kind as AES-GCM under the current key."""

    def __init__(self, key: str, previous_key: str | None = None) -> None:
        keys = [key] + ([previous_key] if previous_key else [])
        self._fernet = MultiFernet([Fernet(k.encode("ascii")) for k in keys])
        self._gcm = [AESGCM(_gcm_key(k)) for k in keys]

    def encrypt(self, plain: str) -> str:
        nonce = os.urandom(_NONCE)  # random: far fewer than 2**32 tokens per key
        sealed = self._gcm[0].encrypt(nonce, plain.encode("utf-8"), None)
        return GCM_PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode("ascii")

    def decrypt(self, token: str) -> str:
        try:
            if token.startswith(GCM_PREFIX):
                return self._open(token).decode("utf-8")
            return self._fernet.decrypt(token.encode("ascii")).decode("utf-8")
        except (InvalidToken, ValueError) as exc:
            raise DecryptionError("stored value cannot be decrypted with DATA_KEY") from exc

    def rotate(self, token: str) -> str:
        """Re-encrypt `token` (either format) under the current key, as AES-GCM."""
        return self.encrypt(self.decrypt(token))

    def _open(self, token: str) -> bytes:
        try:
            raw = base64.b64decode(token[len(GCM_PREFIX) :], altchars=b"-_", validate=True)
        except binascii.Error as exc:
            raise ValueError("not base64") from exc
        nonce, sealed = raw[:_NONCE], raw[_NONCE:]
        for gcm in self._gcm:
            try:
                return gcm.decrypt(nonce, sealed, None)
            except (InvalidTag, ValueError):
                continue
        raise ValueError("no key opens this token")


def _gcm_key(data_key: str) -> bytes:
    """DATA_KEY (a Fernet key: 32 bytes in urlsafe base64) turned into an AES-256 key
    of its own, so the same bytes never serve two ciphers."""
    raw = base64.urlsafe_b64decode(data_key.encode("ascii"))
    return HKDF(algorithm=SHA256(), length=32, salt=None, info=_GCM_INFO).derive(raw)


def hide_phone(e164: str) -> str:
    """`+22376123456` → `+223********`: the country alone, for a citizen's number, which
    no page needs to tell apart from another (with a time, two digits narrow who it is)."""
    return e164[:4] + "*" * max(0, len(e164) - 4)


def mask_phone(e164: str) -> str:
    """`+22376123456` → `+223******56`: enough to tell two recipients apart, no more."""
    if len(e164) <= 6:
        return "*" * len(e164)
    return e164[:4] + "*" * (len(e164) - 6) + e164[-2:]
