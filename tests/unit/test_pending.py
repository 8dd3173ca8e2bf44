"""A reporter's pending question survives being stored, whatever version wrote it."""

from __future__ import annotations

import json

from gateway.services.intake.conversation import Pending, PendingIntent


def test_an_urgent_report_waiting_for_its_place_keeps_its_danger() -> None:
    pending = Pending(PendingIntent.INCIDENT, kind="attack", text="tirs", danger=True)
    assert Pending.from_json(pending.to_json()) == pending


def test_a_state_stored_before_urgent_existed_reads_as_no_danger() -> None:
    old = {"intent": "incident", "rating": None, "kind": "attack", "text": "tirs"}
    old |= {"choices": ["ML070403"], "pcode": None}
    restored = Pending.from_json(json.dumps(old))
    assert restored.danger is False and restored.choices == ("ML070403",)
