"""Flooding cannot skew the index: a rate limit per reporter, one answer per reporter
per window, and bursts from few reporters flagged and left out."""

from __future__ import annotations

import datetime as dt

from flask.testing import FlaskClient
from sqlalchemy import func, select

from gateway.models import InboundMessage, OutboxMessage, Outcome, TrustRating
from gateway.runtime import Runtime
from gateway.services.figures import measures
from tests.conftest import Clock
from tests.handlers.payloads import at_sms


def send(client: FlaskClient, n: int, text: str, phone: str = "+22376123456") -> None:
    response = client.post(
        "/webhooks/africastalking/sms", data=at_sms(id=f"m{phone}{n}", text=text, **{"from": phone})
    )
    assert response.status_code == 200


def test_past_the_hourly_limit_messages_are_kept_but_not_acted_on(
    client: FlaskClient, rt: Runtime, clock: Clock
) -> None:
    for n in range(25):
        send(client, n, "aide")
        clock.advance(seconds=30)
    with rt.sessions() as s:
        outcomes = s.scalars(select(InboundMessage.outcome).order_by(InboundMessage.id)).all()
        replies = s.scalar(select(func.count()).select_from(OutboxMessage))
    assert len(outcomes) == 25
    assert outcomes.count(Outcome.REJECTED) == 5  # the 21st and after
    assert replies == 20 + 1  # 20 answers and the privacy notice


def test_one_reporter_counts_once_in_a_window_with_their_latest_answer(
    client: FlaskClient, rt: Runtime, clock: Clock
) -> None:
    for n, value in enumerate([5, 5, 1]):
        send(client, n, f"confiance {value} gao")
        clock.advance(hours=2)
    with rt.sessions() as s:
        aggregates = measures.trust_aggregates(
            s, "trust_dsf", clock() - dt.timedelta(days=30), clock()
        )
    (agg,) = aggregates.values()
    assert (agg.n, agg.total) == (1, 1.0)


def test_a_burst_from_two_people_is_flagged_and_left_out(
    client: FlaskClient, rt: Runtime, clock: Clock
) -> None:
    for n in range(10):
        send(client, n, "confiance 1 kidal", phone="+2237600000" + str(n % 2))
        clock.advance(minutes=3)
    with rt.sessions() as s:
        flags = s.scalars(select(TrustRating.burst).order_by(TrustRating.id)).all()
        aggregates = measures.trust_aggregates(
            s, "trust_dsf", clock() - dt.timedelta(days=1), clock()
        )
    assert flags[:5] == [False] * 5
    assert all(flags[5:])
    assert (
        sum(a.n for a in aggregates.values()) == 2
    )  # the two people, once each, unflagged answers
