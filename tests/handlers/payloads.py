"""Provider payloads in their real shapes (see shared/reference/providers.md)."""

from __future__ import annotations

PHONE = "+22376123456"
OTHER_PHONE = "+22365432109"


def at_sms(**changes: str) -> dict[str, str]:
    form = {
        "linkId": "03090445075804249226",
        "text": "CONFIANCE 4 Sevare",
        "to": "36000",
        "id": "ec9adc86-51d5-4bc8-8eb0-d8ab0bb53dc3",
        "date": "2026-11-02T09:30:00Z",
        "from": PHONE,
        "networkCode": "61001",
    }
    form.update(changes)
    return form


def at_ussd(**changes: str) -> dict[str, str]:
    form = {
        "phoneNumber": PHONE,
        "serviceCode": "*384*44135#",
        "text": "",
        "sessionId": "ATUid_7c898d72eb11f723ed8ea05ef232f279",
        "networkCode": "61002",
    }
    form.update(changes)
    return form


def at_ussd_event(**changes: str) -> dict[str, str]:
    form = {
        "date": "2026-11-02 09:31:00",
        "sessionId": "ATUid_7c898d72eb11f723ed8ea05ef232f279",
        "serviceCode": "*384*44135#",
        "networkCode": "61002",
        "phoneNumber": PHONE,
        "status": "Incomplete",
        "cost": "XOF 0.00",
        "durationInMillis": "20135",
        "hopsCount": "3",
        "input": "1*2",
        "lastAppResponse": "CON Quelle confiance",
        "errorMessage": "",
    }
    form.update(changes)
    return form


def at_delivery(**changes: str) -> dict[str, str]:
    form = {
        "id": "ATXid_dda018a640edfcc5d2ce455de3e4a6e7",
        "status": "Success",
        "phoneNumber": PHONE,
        "networkCode": "61001",
        "failureReason": "",
    }
    form.update(changes)
    return form


def twilio_sms(**changes: str) -> dict[str, str]:
    form = {
        "ToCountry": "ML",
        "SmsMessageSid": "SMe287d7109a5a925f182f0e07fe5b223b",
        "NumMedia": "0",
        "SmsSid": "SMe287d7109a5a925f182f0e07fe5b223b",
        "SmsStatus": "received",
        "Body": "TRUST 4 Mopti",
        "FromCountry": "ML",
        "To": "+22320202020",
        "NumSegments": "1",
        "MessageSid": "SMe287d7109a5a925f182f0e07fe5b223b",
        "AccountSid": "AC" + "0" * 32,
        "From": PHONE,
        "ApiVersion": "2010-04-01",
    }
    form.update(changes)
    return form


def twilio_status(**changes: str) -> dict[str, str]:
    form = {
        "SmsStatus": "delivered",
        "MessageStatus": "delivered",
        "To": PHONE,
        "MessageSid": "SM0b6e2697aae04182a9f5b5c7a8994c7f",
        "AccountSid": "AC" + "0" * 32,
        "From": "+22320202020",
        "ApiVersion": "2010-04-01",
    }
    form.update(changes)
    return form


def without(form: dict[str, str], field: str) -> dict[str, str]:
    return {k: v for k, v in form.items() if k != field}


# Kannel: what smsbox's get-url sent (captured from Kannel 1.4.5 with fakesmsc); `%b`
# is the message's bytes, url-encoded, so UCS-2 holds %00.
KANNEL_MO = (
    "backend=fake1&sender=%2B22376123456&message=CONFIANCE+4+Mopti&ts=1796118970"
    "&id=773aee36-d31a-48f4-8b15-f08df2d99e18&to=36000&coding=0&charset=UTF-8"
)
# "Ɛ bɛ ɲɔgɔn" as UCS-2 (UTF-16BE), exactly as Kannel encoded it.
KANNEL_MO_UCS2 = (
    "backend=fake1&sender=%2B22376123456&message=%01%90%00+%00b%02%5B%00+%02r%02T%00g%02T%00n"
    "&ts=1796118980&id=fddbb26d-9ba8-44fa-acb2-9b622a069f04&to=36000&coding=2&charset=UTF-16BE"
)
KANNEL_MO_UCS2_TEXT = "Ɛ bɛ ɲɔgɔn"
# A dlr-url as our sender writes it, with Kannel's %d and %A filled in.
KANNEL_DLR = "id=ea34fcc38044471ab5b275f65c2a0f5a&channel=kannel&status=1&smsc_reply="


def kannel_query(base: str, **changes: str | None) -> str:
    """`base` with parameters replaced (already url-encoded values) or removed (None)."""
    pairs = [p.split("=", 1) for p in base.split("&")]
    fields = dict((k, v) for k, v in pairs)
    for name, value in changes.items():
        if value is None:
            fields.pop(name, None)
        else:
            fields[name] = value
    return "&".join(f"{k}={v}" for k, v in fields.items())


# SMS Gateway for Android: envelopes as in the app's documentation (docs/features/webhooks.md).
ANDROID_KEY = "android-signing-key-0123456789"


def android_event(event: str = "sms:received", **payload: object) -> dict[str, object]:
    body: dict[str, object] = {
        "deviceId": "ffffffffceb0b1db0000018e937c815b",
        "event": event,
        "id": "Ey6ECgOkVVFjz3CL48B8C",
        "webhookId": "LreFUt-Z3sSq0JufY9uWB",
        "payload": {
            "sms:received": {
                "messageId": "abc123",
                "message": "CONFIANCE 4 Mopti",
                "phoneNumber": "76123456",  # local format, as the phone saw it
                "simNumber": 1,
                "receivedAt": "2026-11-02T09:29:55.000+00:00",
            },
            "sms:sent": {"messageId": "ours1", "phoneNumber": "+22376123456", "sentAt": "x"},
            "sms:delivered": {"messageId": "ours1", "phoneNumber": "+22376123456"},
            "sms:failed": {
                "messageId": "ours1",
                "phoneNumber": "+22376123456",
                "reason": "No service",
            },
            "system:ping": {"health": {"status": "pass", "checks": {}}},
        }.get(event, {}),
    }
    body["payload"] = {**body["payload"], **payload}  # type: ignore[dict-item]
    return body
