"""Addresses and filters typed or forged beyond what the database can hold: an id,
a page or a day past the largest one is answered like one that does not exist (404,
an empty page, no bound), never a 500 from an integer or a date overflowing."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask.testing import FlaskClient

from gateway.models import ConsoleUser, Role

AsRole = Callable[[Role], tuple[FlaskClient, ConsoleUser]]
HUGE = "99999999999999999999999"  # past a 64-bit integer
BIG = "9223372036854775807"  # the largest 64-bit integer: its offset overflows


@pytest.mark.parametrize(
    ("path", "status"),
    [
        (f"/console/alerts/{HUGE}", 404),
        (f"/console/messages/{HUGE}", 404),
        (f"/console/alerts?page={HUGE}", 200),
        (f"/console/alerts?page={BIG}", 200),
        (f"/console/incidents?page={HUGE}", 200),
        (f"/console/messages?page={BIG}", 200),
        (f"/console/audit?page={BIG}", 200),
        ("/console/alerts?until=9999-12-31", 200),
        ("/console/incidents?until=9999-12-31", 200),
    ],
)
def test_an_id_page_or_day_past_the_largest_is_not_a_500(
    as_role: AsRole, path: str, status: int
) -> None:
    client, _ = as_role(Role.ADMIN)
    assert client.get(path).status_code == status, path


@pytest.mark.parametrize(
    "path",
    [
        f"/console/alerts/{HUGE}/acknowledge",
        f"/console/committees/{HUGE}/activate",
        f"/console/members/{HUGE}/deactivate",
        f"/console/incidents/{HUGE}/text",
        f"/console/outbox/{HUGE}/retry",
        f"/console/messages/{HUGE}/cancel",
    ],
)
def test_a_form_posted_to_an_id_past_the_largest_is_404(as_role: AsRole, path: str) -> None:
    client, _ = as_role(Role.ADMIN)
    assert client.post(path).status_code == 404, path
