"""Twilio as it really behaves: its opt-out words and OptOutType, error 21610,
pictures without text, multi-valued forms, HMAC-SHA256 signatures."""

from __future__ import annotations

import hashlib
import hmac
import json
from base64 import b64encode
from collections.abc import Callable

import pytest
from flask import Flask
from sqlalchemy import select
from twilio.request_validator import HMAC_SHA256, RequestValidator
from werkzeug.datastructures import MultiDict

from gateway.models import InboundMessage, Reporter
from gateway.runtime import Runtime
from handlers.twilio.sender import error_result
from tests.handlers.payloads import PHONE, twilio_sms, twilio_status

AUTH_TOKEN = "twilio-auth-token-0123456789abcd"
SHARED_KEY = "twilio-shared-key-fedcba9876543210"
BASE = "https://gateway.example.org"
SMS = "/webhooks/twilio/sms"


@pytest.fixture
def app(make_app: Callable[..., Flask]) -> Flask:
    return make_app(
        TWILIO_AUTH_TOKEN=AUTH_TOKEN, PUBLIC_BASE_URL=BASE, TWILIO_WEBHOOK_KEY=SHARED_KEY
    )


def sign(path: str, form: MultiDict[str, str] | dict[str, str]) -> dict[str, str]:
    return {"X-Twilio-Signature": RequestValidator(AUTH_TOKEN).compute_signature(BASE + path, form)}


def post(app: Flask, form: dict[str, str], path: str = SMS) -> str:
    response = app.test_client().post(path, data=form, headers=sign(path, form))
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_data(as_text=True)


def opted_out(rt: Runtime) -> bool:
    with rt.sessions() as session:
        reporter = session.scalars(select(Reporter)).one()
        return reporter.opted_out


@pytest.mark.parametrize(
    "word", ["END", "REVOKE", "STOPALL", "UNSUBSCRIBE", "CANCEL", "QUIT", "OPTOUT", "end"]
)
def test_twilio_default_opt_out_words_are_honoured_as_stop(
    app: Flask, rt: Runtime, word: str
) -> None:
    post(app, twilio_sms(Body="TRUST 4 Mopti"))
    answer = post(app, twilio_sms(Body=word, MessageSid="SM" + "1" * 32))
    assert opted_out(rt), word
    assert "no more messages" in answer or "ne recevrez plus" in answer


def test_opt_out_type_stop_wins_over_our_reading(app: Flask, rt: Runtime) -> None:
    # A custom opt-out keyword configured at Twilio that our grammar does not know.
    post(app, twilio_sms(Body="NON MERCI", OptOutType="STOP"))
    assert opted_out(rt)


def test_a_picture_without_text_is_stored_and_answered(app: Flask, rt: Runtime) -> None:
    form = twilio_sms(NumMedia="1", MediaContentType0="image/jpeg")
    form["MediaUrl0"] = "https://api.twilio.com/2010-04-01/Accounts/AC0/Messages/SM0/Media/ME0"
    del form["Body"]
    answer = post(app, form)
    assert "<Message>" in answer  # the help text: we cannot read pictures
    with rt.sessions() as session:
        stored = session.scalars(select(InboundMessage)).one()
    payload = json.loads(rt.vault.decrypt(stored.payload_enc))
    assert payload["text"] == "" and payload["media"] == "1"


def test_the_signature_covers_every_value_of_a_repeated_field(app: Flask) -> None:
    form = MultiDict([*twilio_sms().items(), ("Body", "second part")])
    response = app.test_client().post(SMS, data=form, headers=sign(SMS, form))
    assert response.status_code == 200
    tampered = MultiDict([*twilio_sms().items(), ("Body", "added on the way")])
    response = app.test_client().post(SMS, data=tampered, headers=sign(SMS, twilio_sms()))
    assert response.status_code == 403


def test_hmac_sha256_signatures_with_the_shared_key_are_accepted(app: Flask) -> None:
    form = twilio_sms()
    settings = {"X-Twilio-Webhooks-Signature-Settings": f"key=k1,algorithm={HMAC_SHA256}"}
    good = RequestValidator(SHARED_KEY).compute_signature(BASE + SMS, form, HMAC_SHA256)
    response = app.test_client().post(
        SMS, data=form, headers={"X-Twilio-Signature": good, **settings}
    )
    assert response.status_code == 200
    # The same by hand, to be sure the SDK did compute HMAC-SHA256.
    text = BASE + SMS + "".join(k + form[k] for k in sorted(form))
    digest = hmac.new(SHARED_KEY.encode(), text.encode(), hashlib.sha256).digest()
    assert good == b64encode(digest).decode()
    forged = RequestValidator(AUTH_TOKEN).compute_signature(BASE + SMS, form, HMAC_SHA256)
    response = app.test_client().post(
        SMS, data=form, headers={"X-Twilio-Signature": forged, **settings}
    )
    assert response.status_code == 403


def test_error_21610_opts_the_number_out(app: Flask, rt: Runtime) -> None:
    post(app, twilio_sms())
    assert not opted_out(rt)
    status = twilio_status(MessageStatus="undelivered", ErrorCode="21610", To=PHONE)
    post(app, status, "/webhooks/twilio/status")
    assert opted_out(rt)


def test_a_send_refused_with_21610_is_an_opt_out() -> None:
    assert error_result(400, 21610).opted_out
    assert error_result(400, 21610).outcome == "permanent"
    assert not error_result(400, 21211).opted_out
