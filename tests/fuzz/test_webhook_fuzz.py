"""Bounded fuzzing of the provider webhooks with hypothesis.

Whatever a caller sends (arbitrary or missing or repeated fields, injection strings,
binary, invalid UTF-8, huge bodies, thousands of `*` in a USSD path, GET instead of
POST) the gateway never answers 500; a USSD answer is always a screen (`CON `/`END `
and at most 160 GSM 7-bit characters); and nothing is stored half: no inbound SMS is
left `received` (stored but never handled) after its webhook answered.

The test app has TESTING=True: an unexpected exception is raised into the test (and
shrunk by hypothesis to a minimal input) instead of being turned into a 500.
"""

from __future__ import annotations

import itertools
from typing import Any
from urllib.parse import quote_from_bytes

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from werkzeug.datastructures import MultiDict

from gateway.app import MAX_BODY_BYTES
from gateway.domain.gsm7 import is_gsm7
from gateway.models import InboundMessage, Outcome
from gateway.runtime import Runtime
from tests.handlers.payloads import at_delivery, at_sms, at_ussd, at_ussd_event, twilio_sms

pytestmark = pytest.mark.slow

AT_SMS = "/webhooks/africastalking/sms"
TWILIO_SMS = "/webhooks/twilio/sms"
USSD = "/webhooks/africastalking/ussd"
ENDPOINTS = [
    AT_SMS,
    TWILIO_SMS,
    USSD,
    "/webhooks/africastalking/ussd/events",
    "/webhooks/africastalking/delivery",
    "/webhooks/twilio/status",
]
ALLOWED = {200, 400, 405, 413}  # the database is up and no token is configured
FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    derandomize=True,  # the same inputs on every run: CI stays reproducible
)

INJECTIONS = [
    "'; DROP TABLE reporters;--",
    "1' OR '1'='1",
    "{{7*7}}",
    "{0.__class__}",
    "{text}{lang}",
    "%s%s%n",
    "%(text)s",
    "${jndi:ldap://x}",
    "<script>alert(1)</script>",
    "\x00",
    "\udcff".encode("utf-8", "surrogateescape").decode("latin-1"),  # undecodable byte
    "CONFIANCE 4 {{7*7}}",
    "INCIDENT Sevare '; DROP TABLE reporters;--",
    "LIEU %s%s%n",
    "STOP",
    "LANGUE BM",
    "OK A123",
    "CLOS A99999999999999999999",
    "🙂" * 200,
    "ߒߞߏ",  # N'Ko
    "ⵜⴰⵎⴰⵣⵉⵖⵜ",  # Tifinagh
    "\u202e\u200b\ufeff",
    "*" * 5000,
]
_ids = itertools.count()


def values() -> st.SearchStrategy[str]:
    return st.one_of(
        st.text(max_size=300),
        st.sampled_from(INJECTIONS),
        st.binary(max_size=200).map(lambda b: b.decode("latin-1")),
        st.text(alphabet="*0123456789#", max_size=3000),
    )


PHONE_FIELDS = ("from", "From", "phoneNumber")
MOBILE = st.integers(60_000_000, 99_999_999).map(lambda n: f"+223{n}")


def phones() -> st.SearchStrategy[str]:
    """Mostly valid Malian mobiles (distinct reporters, so the rate limit rarely cuts
    handling short), sometimes anything."""
    return st.one_of(
        MOBILE, MOBILE, MOBILE, MOBILE, st.sampled_from(["", "+", "0", "+1", "76123456"]), values()
    )


def forms(base: dict[str, str], key_fields: list[str]) -> st.SearchStrategy[Any]:
    """The base payload with fields fuzzed, dropped, repeated, or extra ones added.
    Returned as a list of pairs, so a field can appear twice."""

    @st.composite
    def build(draw: st.DrawFn) -> list[tuple[str, str]]:
        form = dict(base)
        for name in key_fields:
            choice = draw(st.sampled_from(["keep", "keep", "fuzz", "fuzz", "fuzz", "drop"]))
            if choice == "keep" and name in PHONE_FIELDS:
                form[name] = draw(MOBILE)  # a new reporter: the rate limit stays away
            elif choice == "fuzz":
                form[name] = draw(phones() if name in PHONE_FIELDS else values())
            elif choice == "drop":
                form.pop(name, None)
        pairs = list(form.items())
        extra = draw(st.lists(st.tuples(st.text(max_size=20), values()), max_size=3))
        pairs += extra
        if pairs and draw(st.booleans()):
            name, _ = draw(st.sampled_from(pairs))
            pairs.append((name, draw(values())))  # the same field twice
        return pairs

    return build()


def unique(pairs: list[tuple[str, str]], field: str, prefix: str) -> list[tuple[str, str]]:
    """Give the provider id a fresh prefix so examples do not collide by accident
    (duplicates are generated on purpose elsewhere)."""
    n = next(_ids)
    return [(k, f"{prefix}{n}-{v}" if k == field else v) for k, v in pairs]


def post(client: FlaskClient, path: str, data: Any, **kw: Any) -> Any:
    if isinstance(data, list):
        data = MultiDict(data)
    try:
        return client.post(path, data=data, **kw)
    except Exception as exc:  # TESTING propagates what would have been a 500
        raise AssertionError(f"500: {path} raised {exc!r} for {data!r}") from exc


def check_status(rt: Runtime, response: Any, data: Any) -> None:
    """Never a 500, and never a 503 (no outage is simulated here: a 503 would make the
    provider retry input that can never be stored)."""
    assert response.status_code in ALLOWED, response.get_data(as_text=True)


def assert_screen(body: str) -> None:
    assert body.startswith(("CON ", "END ")), body
    assert len(body) - 4 <= 160, (len(body), body)
    assert is_gsm7(body[4:]), body


def unhandled(rt: Runtime) -> int:
    with rt.sessions() as session:
        count = session.scalar(
            select(func.count())
            .select_from(InboundMessage)
            .where(InboundMessage.outcome == Outcome.RECEIVED)
        )
    return int(count or 0)


@pytest.fixture
def fuzz_client(app: Flask) -> tuple[FlaskClient, Runtime]:
    return app.test_client(), app.extensions["gateway"]


@pytest.mark.timeout(180)
@FUZZ
@given(form=forms(at_sms(), ["from", "text", "id", "to", "date", "linkId"]))
def test_africastalking_sms_never_500s_and_stores_nothing_half(
    fuzz_client: tuple[FlaskClient, Runtime], form: list[tuple[str, str]]
) -> None:
    client, rt = fuzz_client
    data = unique(form, "id", "fz")
    response = post(client, AT_SMS, data)
    event(f"status {response.status_code}")
    check_status(rt, response, data)
    assert unhandled(rt) == 0


@pytest.mark.timeout(180)
@FUZZ
@given(form=forms(twilio_sms(), ["From", "Body", "MessageSid", "To", "NumMedia"]))
def test_twilio_sms_never_500s_and_stores_nothing_half(
    fuzz_client: tuple[FlaskClient, Runtime], form: list[tuple[str, str]]
) -> None:
    client, rt = fuzz_client
    data = unique(form, "MessageSid", "SMfz")
    response = post(client, TWILIO_SMS, data)
    event(f"status {response.status_code}")
    check_status(rt, response, data)
    if response.status_code == 200:
        assert response.mimetype == "application/xml"
    assert unhandled(rt) == 0


def ussd_paths() -> st.SearchStrategy[str]:
    step = st.sampled_from(["1", "2", "3", "4", "5", "0", "00", "98", "99", "", "6", "9", "Mopti"])
    return st.one_of(
        st.lists(step, max_size=12).map("*".join),
        st.integers(1, 6000).map(lambda n: "*" * n),
        st.lists(step, max_size=5).map(lambda s: "*".join(s) + "*" * 3000),
        values(),
    )


@pytest.mark.timeout(180)
@FUZZ
@given(
    form=forms(at_ussd(), ["sessionId", "phoneNumber", "serviceCode", "networkCode"]),
    path=ussd_paths(),
    drop_text=st.booleans(),
)
def test_ussd_any_text_path_gives_a_screen(
    fuzz_client: tuple[FlaskClient, Runtime],
    form: list[tuple[str, str]],
    path: str,
    drop_text: bool,
) -> None:
    client, rt = fuzz_client
    pairs = [(k, v) for k, v in form if k != "text"]
    if not drop_text:
        pairs.append(("text", path))
    data = unique(pairs, "sessionId", "ATUid_fz")
    response = post(client, USSD, data)
    event(f"status {response.status_code}")
    check_status(rt, response, data)
    if response.status_code == 200:
        assert_screen(response.get_data(as_text=True))


@pytest.mark.timeout(180)
@FUZZ
@given(path=ussd_paths(), lang=st.sampled_from(["", "1", "2", "3"]))
def test_ussd_one_session_walked_step_by_step_always_gives_a_screen(
    fuzz_client: tuple[FlaskClient, Runtime], path: str, lang: str
) -> None:
    """Each prefix of a path, as a phone sends it step by step, in one session."""
    client, _ = fuzz_client
    session = f"ATUid_walk{next(_ids)}"
    steps = ([lang] if lang else []) + path.split("*")[:15]
    for i in range(1, len(steps) + 1):
        text = "*".join(steps[:i])
        response = post(client, USSD, at_ussd(sessionId=session, text=text))
        assert response.status_code == 200, response.get_data(as_text=True)
        assert_screen(response.get_data(as_text=True))


@pytest.mark.timeout(180)
@FUZZ
@given(path=st.sampled_from(ENDPOINTS), body=st.binary(max_size=2000))
def test_raw_bytes_and_invalid_utf8_never_500(
    fuzz_client: tuple[FlaskClient, Runtime], path: str, body: bytes
) -> None:
    client, rt = fuzz_client
    response = post(client, path, body, content_type="application/x-www-form-urlencoded")
    check_status(rt, response, body)
    if path == USSD and response.status_code == 200:
        assert_screen(response.get_data(as_text=True))
    assert unhandled(rt) == 0


@pytest.mark.timeout(180)
@FUZZ
@given(
    path=st.sampled_from(ENDPOINTS),
    field=st.sampled_from(["text", "Body", "from", "From", "id", "MessageSid", "phoneNumber"]),
    raw=st.binary(min_size=1, max_size=300),
)
def test_percent_encoded_invalid_utf8_in_a_real_payload_never_500s(
    fuzz_client: tuple[FlaskClient, Runtime], path: str, field: str, raw: bytes
) -> None:
    """A real payload with one field's value as arbitrary bytes, percent-encoded (what
    a gateway that is not UTF-8 clean sends)."""
    client, rt = fuzz_client
    base = {
        AT_SMS: at_sms(id=f"fzraw{next(_ids)}"),
        TWILIO_SMS: twilio_sms(MessageSid=f"SMfzraw{next(_ids)}"),
        USSD: at_ussd(sessionId=f"ATUid_raw{next(_ids)}"),
    }.get(path, at_delivery())
    parts = [
        f"{quote_from_bytes(k.encode())}={quote_from_bytes(v.encode())}"
        for k, v in base.items()
        if k != field
    ]
    parts.append(f"{field}={quote_from_bytes(raw)}")
    body = "&".join(parts).encode()
    response = post(client, path, body, content_type="application/x-www-form-urlencoded")
    check_status(rt, response, body)
    if path == USSD and response.status_code == 200:
        assert_screen(response.get_data(as_text=True))
    assert unhandled(rt) == 0


@pytest.mark.timeout(60)
@pytest.mark.parametrize("path", ENDPOINTS)
def test_get_instead_of_post_is_405(client: FlaskClient, path: str) -> None:
    assert client.get(path, query_string=at_sms()).status_code == 405


@pytest.mark.timeout(60)
@pytest.mark.parametrize("path", ENDPOINTS)
def test_a_body_over_64_kb_is_refused_and_one_under_is_answered(
    client: FlaskClient, rt: Runtime, path: str
) -> None:
    huge = post(client, path, {**at_sms(), "text": "x" * (MAX_BODY_BYTES + 1)})
    assert huge.status_code == 413
    raw = post(
        client,
        path,
        b"a=" + b"\xff" * (MAX_BODY_BYTES * 2),
        content_type="application/x-www-form-urlencoded",
    )
    assert raw.status_code == 413
    big_form = {
        AT_SMS: at_sms(id="fzbig", text="INCIDENT Sevare " + "tirs " * 12000),
        TWILIO_SMS: twilio_sms(MessageSid="SMfzbig", Body="TRUST 4 " + "é" * 8000),
        USSD: at_ussd(sessionId="ATUid_big", text="1*" * 30000),
        "/webhooks/africastalking/ussd/events": at_ussd_event(input="1*" * 30000),
    }.get(path, at_delivery(failureReason="x" * 60000))
    answer = post(client, path, big_form)
    assert answer.status_code in ALLOWED - {413}, answer.get_data(as_text=True)
    if path == USSD:
        assert_screen(answer.get_data(as_text=True))
    assert unhandled(rt) == 0


@pytest.mark.timeout(60)
def test_one_message_id_delivered_with_different_contents_is_stored_once(
    client: FlaskClient, rt: Runtime
) -> None:
    """A provider retry carries the same id; whatever else differs, it is one message."""
    for text in ["CONFIANCE 4 Sevare", "{{7*7}}", "'; DROP TABLE reporters;--", ""]:
        assert post(client, AT_SMS, at_sms(id="ATXid_same", text=text)).status_code == 200
    with rt.sessions() as session:
        count = session.scalar(
            select(func.count())
            .select_from(InboundMessage)
            .where(InboundMessage.provider_id == "ATXid_same")
        )
    assert count == 1
    assert unhandled(rt) == 0


NUL_CASES = [
    (AT_SMS, at_sms(id="ATXid_\x00nul")),
    (TWILIO_SMS, twilio_sms(MessageSid="SM\x00nul")),
    (USSD, at_ussd(sessionId="ATUid_\x00nul")),
    ("/webhooks/africastalking/ussd/events", at_ussd_event(sessionId="\x00")),
    ("/webhooks/africastalking/ussd/events", at_ussd_event(status="\x00")),
    ("/webhooks/africastalking/delivery", at_delivery(id="ATXid_\x00")),
    ("/webhooks/twilio/status", {"MessageSid": "SM\x00", "MessageStatus": "delivered"}),
]


@pytest.mark.timeout(60)
@pytest.mark.parametrize(("path", "form"), NUL_CASES, ids=lambda v: v if isinstance(v, str) else "")
def test_a_nul_byte_in_a_field_is_refused_not_retried(
    client: FlaskClient, rt: Runtime, path: str, form: dict[str, str]
) -> None:
    """Found by the fuzz on PostgreSQL: text columns cannot hold NUL, psycopg raises
    DataError, a DBAPIError, which gateway.db.DB_UNAVAILABLE counts as an outage: the
    webhook answers 503 and the provider retries a message that can never be stored
    (USSD ends with the "service unavailable" apology). Bad input must get a 400
    (USSD: a screen). SQLite stores the NUL and answers 200."""
    response = post(client, path, form)
    body = response.get_data(as_text=True)
    assert response.status_code in {200, 400}, body
    if path == USSD and response.status_code == 200:
        assert_screen(body)
