"""Several channels at once: routing by operator, replies on their own channel,
failover down the SMS_PROVIDER list, and each channel's health row."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy import select

from gateway.db import transaction
from gateway.domain.backoff import RetryPolicy
from gateway.models import ChannelHealth, OutboxMessage
from gateway.ports import SendResult
from gateway.runtime import Runtime
from gateway.services.outbox import routing
from gateway.services.outbox.dispatch import dispatch_due
from gateway.services.outbox.queue import enqueue
from handlers.console.sender import ConsoleSender

ORANGE, MOOV, TELECEL, NIGER = "+22376123456", "+22366123456", "+22350123456", "+22790123456"
DOWN = SendResult.retryable("kannel HTTP 503: Temporal failure, try again later.")


class Always:
    def random(self) -> float:
        return 0.0


def multi(rt: Runtime, routes: tuple[tuple[str, str], ...] = ()) -> Runtime:
    rt.settings = replace(
        rt.settings,
        sms_provider="kannel-orange",
        sms_extra_channels=("kannel-moov", "android"),
        sms_routes=routes,
    )
    return rt


def fakes() -> dict[str, ConsoleSender]:
    return {
        n: ConsoleSender(name=n, echo=None) for n in ("kannel-orange", "kannel-moov", "android")
    }


def add(rt: Runtime, to: str, channel: str | None = None) -> int:
    with transaction(rt.sessions) as session:
        new_id = enqueue(
            session,
            rt.vault,
            to_e164=to,
            body="Alerte A1",
            purpose="alert",
            now=rt.now(),
            channel=channel,
        )
    assert new_id is not None
    return new_id


def used(rt: Runtime) -> list[str | None]:
    with rt.sessions() as session:
        return list(session.scalars(select(OutboxMessage.provider).order_by(OutboxMessage.id)))


@pytest.mark.parametrize(
    ("number", "expected"),
    [
        (ORANGE, "kannel-orange"),
        (MOOV, "kannel-moov"),
        (TELECEL, "android"),
        (NIGER, "kannel-orange"),
    ],
)
def test_sms_routes_pick_the_channel_by_the_recipients_operator(
    rt: Runtime, number: str, expected: str
) -> None:
    # Niger's Orange is "Orange" too: a route names an operator, not a country.
    settings = multi(
        rt, (("orange", "kannel-orange"), ("moov", "kannel-moov"), ("*", "android"))
    ).settings
    assert routing.routed_channel(settings, number) == expected


def test_without_routes_everything_goes_on_the_default(rt: Runtime) -> None:
    assert routing.routed_channel(multi(rt).settings, MOOV) == "kannel-orange"


def test_failover_walks_the_channel_list_in_order() -> None:
    policy = RetryPolicy(fallback_after=2)
    order = ("kannel-moov", "kannel-orange", "android")
    assert [routing.channel_for(order, n, policy) for n in range(1, 9)] == [
        "kannel-moov",
        "kannel-moov",
        "kannel-orange",
        "kannel-orange",
        "android",
        "android",
        "android",
        "android",
    ]


def test_a_reply_goes_back_on_its_channel_and_an_alert_on_its_route(rt: Runtime) -> None:
    multi(rt, (("moov", "kannel-moov"),))
    add(rt, ORANGE, channel="android")  # a reply to an SMS that came through the phone
    add(rt, MOOV)  # an alert: routed
    add(rt, ORANGE, channel="twilio")  # a channel no longer configured: routed instead
    senders = fakes()
    dispatch_due(rt, rt.now(), senders, Always())
    assert used(rt) == ["android", "kannel-moov", "kannel-orange"]
    assert [len(senders[n].sent) for n in ("kannel-orange", "kannel-moov", "android")] == [1, 1, 1]


def test_a_channel_that_keeps_failing_hands_over_to_the_next(rt: Runtime) -> None:
    multi(rt)
    senders = fakes()
    senders["kannel-orange"].fail_next(DOWN, DOWN, DOWN)
    add(rt, ORANGE)
    policy = RetryPolicy(fallback_after=3)
    for _ in range(4):
        dispatch_due(rt, rt.now(), senders, Always(), policy=policy)
    assert used(rt) == ["kannel-moov"]
    assert len(senders["kannel-moov"].sent) == 1 and not senders["kannel-orange"].sent


def test_each_send_result_lands_in_its_channels_health_row(rt: Runtime) -> None:
    multi(rt)
    senders = fakes()
    senders["kannel-orange"].fail_next(DOWN)
    add(rt, ORANGE)
    add(rt, ORANGE)
    dispatch_due(rt, rt.now(), senders, Always())
    with rt.sessions() as session:
        row = session.get(ChannelHealth, "kannel-orange")
        assert row is not None
        assert row.last_success_at == rt.now() and row.last_error_at == rt.now()
        assert row.last_error and "503" in row.last_error
