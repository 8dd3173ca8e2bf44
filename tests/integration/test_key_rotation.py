"""Rotating PHONE_HASH_KEY keeps each reporter's history theirs (README: "Rotating keys")."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask
from sqlalchemy import select

from gateway.models import Reporter, TrustRating
from gateway.runtime import Runtime
from tests.handlers.payloads import at_sms, at_ussd


def test_a_reporter_known_under_the_old_key_is_rekeyed_on_their_next_message(
    make_app: Callable[..., Flask],
) -> None:
    old = make_app(PHONE_HASH_KEY="old-key")
    old.test_client().post(
        "/webhooks/africastalking/sms", data=at_sms(id="before", text="confiance 4 gao")
    )
    rotated = make_app(
        PHONE_HASH_KEY="new-key", PHONE_HASH_KEY_PREVIOUS="old-key", PHONE_HASH_KEY_VERSION="2"
    )
    rotated.test_client().post(
        "/webhooks/africastalking/sms", data=at_sms(id="after", text="confiance 2 gao")
    )
    rt: Runtime = rotated.extensions["gateway"]
    with rt.sessions() as session:
        reporters = session.scalars(select(Reporter)).all()
        raters = set(session.scalars(select(TrustRating.reporter_id)).all())
    assert len(reporters) == 1
    assert reporters[0].key_version == 2
    assert reporters[0].pseudonym == rt.pseudonyms.pseudonym("+22376123456")
    assert raters == {reporters[0].id}


def test_a_ussd_caller_known_under_the_old_key_keeps_their_reporter_and_language(
    make_app: Callable[..., Flask],
) -> None:
    old = make_app(PHONE_HASH_KEY="old-key").test_client()
    for text in ("", "3"):  # first contact, then English
        old.post("/webhooks/africastalking/ussd", data=at_ussd(sessionId="S1", text=text))
    rotated = make_app(
        PHONE_HASH_KEY="new-key", PHONE_HASH_KEY_PREVIOUS="old-key", PHONE_HASH_KEY_VERSION="2"
    )
    screen = rotated.test_client().post(
        "/webhooks/africastalking/ussd", data=at_ussd(sessionId="S2", text="")
    )
    rt: Runtime = rotated.extensions["gateway"]
    with rt.sessions() as session:
        reporters = session.scalars(select(Reporter)).all()
    assert len(reporters) == 1
    assert (reporters[0].key_version, reporters[0].language) == (2, "en")
    assert reporters[0].pseudonym == rt.pseudonyms.pseudonym("+22376123456")
    assert screen.get_data(as_text=True).startswith("CON ")


def test_without_the_previous_key_the_same_number_is_a_new_reporter(
    make_app: Callable[..., Flask],
) -> None:
    make_app(PHONE_HASH_KEY="old-key").test_client().post(
        "/webhooks/africastalking/sms", data=at_sms(id="before", text="confiance 4 gao")
    )
    rotated = make_app(PHONE_HASH_KEY="new-key")
    rotated.test_client().post(
        "/webhooks/africastalking/sms", data=at_sms(id="after", text="confiance 2 gao")
    )
    with rotated.extensions["gateway"].sessions() as session:
        assert len(session.scalars(select(Reporter)).all()) == 2


def test_data_key_rotation_still_reads_old_ciphertext(make_app: Callable[..., Flask]) -> None:
    import base64

    old_key = base64.urlsafe_b64encode(b"o" * 32).decode()
    new_key = base64.urlsafe_b64encode(b"n" * 32).decode()
    old = make_app(DATA_KEY=old_key).extensions["gateway"]
    token = old.vault.encrypt("+22376123456")
    rotated = make_app(DATA_KEY=new_key, DATA_KEY_PREVIOUS=old_key).extensions["gateway"]
    assert rotated.vault.decrypt(token) == "+22376123456"


def test_rotate_data_rewrites_every_ciphertext_under_the_new_key(
    make_app: Callable[..., Flask],
) -> None:
    import base64

    from gateway.crypto import Vault
    from gateway.models import InboundMessage

    old_key = base64.urlsafe_b64encode(b"o" * 32).decode()
    new_key = base64.urlsafe_b64encode(b"n" * 32).decode()
    old = make_app(DATA_KEY=old_key)
    old.test_client().post(
        "/webhooks/africastalking/sms", data=at_sms(id="k1", text="incident gao tirs")
    )
    rotated = make_app(DATA_KEY=new_key, DATA_KEY_PREVIOUS=old_key)
    result = rotated.test_cli_runner().invoke(args=["keys", "rotate-data"])
    assert result.exit_code == 0, result.output
    assert "re-encrypted" in result.output
    only_new = Vault(new_key)
    with rotated.extensions["gateway"].sessions() as session:
        payload = session.scalars(select(InboundMessage.payload_enc)).one()
    assert payload is not None
    assert "tirs" in only_new.decrypt(payload)
