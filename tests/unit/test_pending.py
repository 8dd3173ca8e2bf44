"""A reporter's pending question survives being stored, whatever version wrote it."""

from __future__ import annotations

import datetime as dt
import json

from gateway.services.intake import pending_parts
from gateway.services.intake.conversation import Pending, PendingIntent


def test_an_urgent_report_waiting_for_its_place_keeps_its_danger() -> None:
    pending = Pending(PendingIntent.INCIDENT, kind="attack", text="tirs", danger=True)
    assert Pending.from_json(pending.to_json()) == pending


def test_a_state_stored_before_urgent_existed_reads_as_no_danger() -> None:
    old = {"intent": "incident", "rating": None, "kind": "attack", "text": "tirs"}
    old |= {"choices": ["ML070403"], "pcode": None}
    restored = Pending.from_json(json.dumps(old))
    assert restored.danger is False and restored.choices == ("ML070403",)


# --- the SMS question and the USSD report kept beside it (pending_parts) ----------

NOW = dt.datetime(2026, 11, 2, 9, 30, tzinfo=dt.UTC)


def test_a_question_stored_before_the_parts_had_ends_runs_until_the_column_says() -> None:
    old, until = {"enc": "sealed"}, NOW + dt.timedelta(hours=1)
    assert pending_parts.part(old, until, pending_parts.SMS, NOW) == "sealed"
    assert pending_parts.part(old, until, pending_parts.USSD, NOW) is None
    assert pending_parts.part(old, NOW, pending_parts.SMS, NOW) is None  # over


def test_setting_one_part_keeps_the_other_with_its_own_end() -> None:
    day, minutes = NOW + dt.timedelta(days=1), NOW + dt.timedelta(minutes=15)
    pending, until = pending_parts.with_part(None, None, pending_parts.SMS, "q", day, NOW)
    pending, until = pending_parts.with_part(pending, until, pending_parts.USSD, "r", minutes, NOW)
    assert until == day
    later = NOW + dt.timedelta(minutes=20)
    assert pending_parts.part(pending, until, pending_parts.USSD, later) is None
    assert pending_parts.part(pending, until, pending_parts.SMS, later) == "q"
    assert pending_parts.tidy(pending, until, later) == (
        {"enc": "q", "enc_until": day.isoformat()},
        day,
    )
    cleared = pending_parts.with_part(pending, until, pending_parts.SMS, None, None, NOW)
    assert cleared == ({"ussd": "r", "ussd_until": minutes.isoformat()}, minutes)
    assert pending_parts.with_part(*cleared, pending_parts.USSD, None, None, NOW) == (None, None)


def test_a_report_kept_beside_an_sms_question_does_not_lengthen_it() -> None:
    soon, minutes = NOW + dt.timedelta(minutes=5), NOW + dt.timedelta(minutes=15)
    pending, until = pending_parts.with_part(None, None, pending_parts.SMS, "q", soon, NOW)
    pending, until = pending_parts.with_part(pending, until, pending_parts.USSD, "r", minutes, NOW)
    assert until == minutes
    later = NOW + dt.timedelta(minutes=10)
    assert pending_parts.part(pending, until, pending_parts.SMS, later) is None
    assert pending_parts.part(pending, until, pending_parts.USSD, later) == "r"
