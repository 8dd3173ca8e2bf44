"""The number to call for people in danger now: data per country, checked when read."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gateway.domain.emergency import DEFAULT_PATH, EmergencyError, load_emergency


def test_the_shipped_file_gives_each_country_its_number() -> None:
    numbers = load_emergency()
    assert numbers.for_locality("ML050301") == numbers.numbers["ML"]
    assert numbers.for_locality("CAMP-MR-MBERA") == numbers.numbers["MR"]
    assert numbers.for_locality("CAMP-NE-ABALA") == numbers.numbers["NE"]
    assert numbers.for_locality("CAMP-BF-GOUDOUBO") == numbers.numbers["ML"]  # no entry: Mali


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"numbers": {"ML": "17a"}}, "2 to 8 digits"),
        ({"numbers": {"Mali": "17"}, "default_country": "Mali"}, "country code"),
        ({"default_country": "SN"}, "default_country"),
        ({"numbers": []}, "numbers"),
    ],
)
def test_an_admin_edit_that_breaks_the_file_is_refused_with_its_key(
    tmp_path: Path, change: dict[str, object], problem: str
) -> None:
    data = json.loads(DEFAULT_PATH.read_text("utf-8")) | change
    path = tmp_path / "emergency.json"
    path.write_text(json.dumps(data), "utf-8")
    with pytest.raises(EmergencyError, match=problem):
        load_emergency(path)
