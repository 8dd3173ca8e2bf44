from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

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
