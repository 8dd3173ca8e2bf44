from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable

import pytest
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from gateway.crypto import DecryptionError, Pseudonymizer, Vault, mask_phone

KEY_A = base64.urlsafe_b64encode(b"a" * 32).decode()
KEY_B = base64.urlsafe_b64encode(b"b" * 32).decode()


def test_pseudonym_is_stable_keyed_and_not_the_number() -> None:
    p = Pseudonymizer("key-1")
    assert p.pseudonym("+22376123456") == p.pseudonym("+22376123456")
    assert p.pseudonym("+22376123456") != p.pseudonym("+22376123457")
    assert p.pseudonym("+22376123456") != Pseudonymizer("key-2").pseudonym("+22376123456")
    assert "76123456" not in p.pseudonym("+22376123456")


def test_previous_key_gives_the_old_pseudonym_for_lazy_rekeying() -> None:
    old = Pseudonymizer("old")
    new = Pseudonymizer("new", version=2, previous_key="old")
    assert new.previous_pseudonym("+22376123456") == old.pseudonym("+22376123456")
    assert Pseudonymizer("new").previous_pseudonym("+22376123456") is None


def test_vault_round_trips_and_hides_the_plain_text() -> None:
    vault = Vault(KEY_A)
    token = vault.encrypt("+22376123456")
    assert "76123456" not in token
    assert vault.decrypt(token) == "+22376123456"


def test_vault_reads_the_previous_key_and_rotates_to_the_new_one() -> None:
    old_token = Vault(KEY_A).encrypt("tirs entendus")
    rotated_vault = Vault(KEY_B, previous_key=KEY_A)
    assert rotated_vault.decrypt(old_token) == "tirs entendus"
    new_token = rotated_vault.rotate(old_token)
    assert Vault(KEY_B).decrypt(new_token) == "tirs entendus"
    with pytest.raises(DecryptionError):
        Vault(KEY_A).decrypt(new_token)


def test_mask_keeps_country_code_and_last_two_digits() -> None:
    assert mask_phone("+22376123456") == "+223******56"


def test_pseudonym_is_hmac_sha256_of_the_number_every_time() -> None:
    p = Pseudonymizer("key-1")
    for number in ("+22376123456", "+22790123456", "+22376123456"):
        reference = hmac.new(b"key-1", number.encode(), hashlib.sha256).hexdigest()
        assert p.pseudonym(number) == reference


def test_vault_writes_aes_gcm_tokens_under_a_key_derived_from_data_key() -> None:
    """The token: `a1.` and urlsafe base64 of a 12-byte nonce, then AES-256-GCM of the
    text under HKDF-SHA256(DATA_KEY's 32 bytes, info "gateway vault aes-gcm v1")."""
    token = Vault(KEY_A).encrypt("tirs entendus")
    assert token.startswith("a1.")
    raw = base64.urlsafe_b64decode(token[3:])
    key = HKDF(algorithm=SHA256(), length=32, salt=None, info=b"gateway vault aes-gcm v1").derive(
        base64.urlsafe_b64decode(KEY_A)
    )
    assert AESGCM(key).decrypt(raw[:12], raw[12:], None) == b"tirs entendus"
    assert Vault(KEY_A).encrypt("tirs entendus") != token  # a fresh nonce each time


def test_vault_still_reads_fernet_tokens_and_rotates_them_to_aes_gcm() -> None:
    fernet_a = Fernet(KEY_A.encode()).encrypt(b"tirs entendus").decode()
    assert Vault(KEY_A).decrypt(fernet_a) == "tirs entendus"
    rotated = Vault(KEY_B, previous_key=KEY_A)
    assert rotated.decrypt(fernet_a) == "tirs entendus"
    new_token = rotated.rotate(fernet_a)
    assert new_token.startswith("a1.") and Vault(KEY_B).decrypt(new_token) == "tirs entendus"
    fernet_b = Fernet(KEY_B.encode()).encrypt(b"+22376123456").decode()
    assert Vault(KEY_B).decrypt(rotated.rotate(fernet_b)) == "+22376123456"
    with pytest.raises(DecryptionError):
        Vault(KEY_B).decrypt(fernet_a)


@pytest.mark.parametrize(
    "spoil",
    [
        lambda t: t[:-2] + ("AA" if t[-2:] != "AA" else "BA"),  # the tag
        lambda t: t[:10] + ("A" if t[10] != "A" else "B") + t[11:],  # the nonce
        lambda t: t[:3],  # nothing after the prefix
        lambda t: t + "!",  # not base64
    ],
)
def test_a_spoiled_aes_gcm_token_is_refused(spoil: Callable[[str], str]) -> None:
    token = Vault(KEY_A).encrypt("tirs entendus")
    with pytest.raises(DecryptionError):
        Vault(KEY_A).decrypt(spoil(token))
    with pytest.raises(DecryptionError):
        Vault(KEY_B).decrypt(token)
