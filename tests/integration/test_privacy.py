"""No reporter's number, in any common format, and no free text, in clear anywhere:
every column of every table, the logs, and the console provider's SMS file."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select

from gateway.models import Base
from gateway.runtime import Runtime
from gateway.services.outbox.dispatch import dispatch_due
from tests.handlers.payloads import at_delivery, at_sms, at_ussd, twilio_sms

NUMBERS = ["+22376123456", "+22365432109", "+22790123456"]
FREE_TEXT = "hommes armes vus pres du puits de Kamba"
# Numbers typed into messages: the first reporter's own, written as people write it.
TYPED = [
    "LIEU 76 12 34 56 mon numero",
    "CONFIANCE 3 0022376123456",
    "76-12-34-56",  # an answer to the pending "which locality?"
    "appelez moi au 76.12.34.56 svp",  # no keyword
    "INCIDENT +22376123456",
]


def formats(e164: str) -> set[str]:
    """The ways a number is commonly written, so a leak in any of them is caught."""
    national = e164[4:]
    pairs = " ".join(national[i : i + 2] for i in range(0, len(national), 2))
    return {
        e164,
        e164[1:],
        "00" + e164[1:],
        national,
        pairs,
        pairs.replace(" ", "-"),
        pairs.replace(" ", "."),
        e164[:4] + " " + pairs,
    }


def run_scenario(app: Flask) -> None:
    client = app.test_client()
    at = "/webhooks/africastalking"
    client.post(
        f"{at}/sms", data=at_sms(id="p1", **{"from": NUMBERS[0], "text": "CONFIANCE 2 Mopti"})
    )
    client.post(
        f"{at}/sms",
        data=at_sms(id="p2", **{"from": NUMBERS[0], "text": f"INCIDENT Mopti {FREE_TEXT}"}),
    )
    client.post(f"{at}/sms", data=at_sms(id="p3", **{"from": NUMBERS[1], "text": "abonner sevare"}))
    client.post(f"{at}/sms", data=at_sms(id="p4", **{"from": NUMBERS[1], "text": "stop"}))
    client.post(f"{at}/sms", data=at_sms(id="p5", **{"from": NUMBERS[2], "text": "n'importe quoi"}))
    client.post("/webhooks/twilio/sms", data=twilio_sms(From=NUMBERS[2], Body="trust 5 gao"))
    # What citizens type where a place or an answer is expected, or with no keyword at
    # all, is free text: never quoted back, never stored in clear (issue 12, point 2).
    for n, typed in enumerate(TYPED, start=6):
        client.post(f"{at}/sms", data=at_sms(id=f"p{n}", **{"from": NUMBERS[0], "text": typed}))
    for step in [
        "",
        "1",
        "1*1",
        "1*1*kidal",
        "1*1*kidal*1",
        "1*1*kidal*1*4",
        "1*1*kidal*1*4*4",
        "1*1*kidal*1*4*4*4",
        "1*1*kidal*1*4*4*4*4",
    ]:
        client.post(f"{at}/ussd", data=at_ussd(phoneNumber="0022365432109", text=step))
    rt: Runtime = app.extensions["gateway"]
    dispatch_due(rt, rt.now())
    client.post(f"{at}/delivery", data=at_delivery(phoneNumber=NUMBERS[0]))


def every_value(rt: Runtime) -> list[tuple[str, str, str]]:
    values = []
    with rt.sessions() as session:
        for table in Base.metadata.sorted_tables:
            for row in session.execute(select(table)).mappings():
                for column, value in row.items():
                    if value is not None:
                        values.append((table.name, column, str(value)))
    return values


def test_no_number_or_free_text_in_clear_in_the_database_logs_or_sms_file(
    app: Flask,
    rt: Runtime,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    run_scenario(app)
    printed = capsys.readouterr()
    dispatcher_output = printed.out + printed.err
    assert "[sms +223******56]" in dispatcher_output  # the dispatcher really sent
    values = every_value(rt)
    assert len(values) > 100  # the scenario really stored things
    needles = {fmt for number in NUMBERS for fmt in formats(number)} | {FREE_TEXT, "puits de Kamba"}
    leaks = [
        (table, column, needle)
        for table, column, text in values
        for needle in needles
        if needle in text and table not in ("localities", "places")
    ]
    assert leaks == []
    sms_file = (tmp_path / "sms.jsonl").read_text("utf-8")
    assert sms_file.count("\n") >= 3
    assert "+223******56" in sms_file
    for needle in needles:
        assert needle not in sms_file
        assert needle not in caplog.text
        assert needle not in dispatcher_output
