"""A message to a large area is only marked `sending` by the request; the clock's
broadcast job hands it to the outbox in bounded batches, each its own transaction,
so a clock that dies between batches loses and duplicates nothing."""

from __future__ import annotations

import datetime as dt
import html
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from gateway.db import transaction
from gateway.models import ConsoleUser, InfoMessageStatus, OutboxStatus, Reporter, Role
from gateway.runtime import Runtime
from gateway.scheduler import EVERY, jobs
from gateway.services.admin import broadcast, info_messages
from gateway.services.outbox.dispatch import dispatch_due
from tests.conftest import is_postgres_run
from tests.console.conftest import KAYES, MOPTI
from tests.console.test_messages import only_message, outbox_rows, subscribe

AsRole = Callable[[Role], tuple[FlaskClient, ConsoleUser]]
BATCH = 4


@pytest.fixture(autouse=True)
def _small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    """Batches of 4, so a dozen subscribers make a large area."""
    monkeypatch.setattr(info_messages, "BATCH", BATCH)


def queued_numbers(rt: Runtime) -> Counter[str]:
    return Counter(rt.vault.decrypt(r.recipient_enc or "") for r in outbox_rows(rt))


def sent_by_admin(rt: Runtime, locality_id: int, body: str = "Bonjour") -> int:
    with transaction(rt.sessions) as session:
        message = info_messages.compose(session, rt, "a@x", locality_id, body, rt.now())
        info_messages.submit(session, rt, message.id, "a@x", rt.now())
        info_messages.send(session, rt, message.id, rt.now(), user_actor="a@x")
        return message.id


def test_a_message_to_many_subscribers_is_not_queued_by_the_request(
    as_role: AsRole, rt: Runtime, ids: dict[str, int]
) -> None:
    subscribe(rt, ids[KAYES], 10)
    client, _ = as_role(Role.ADMIN)
    client.post("/console/messages", data={"area": KAYES, "body": "Bonjour Kayes"})
    message = only_message(rt)
    response = client.post(f"/console/messages/{message.id}/send")
    page = html.unescape(client.get(response.headers["Location"]).get_data(as_text=True))
    assert only_message(rt).status == InfoMessageStatus.SENDING
    assert outbox_rows(rt) == []
    assert "0 sur 10" in page and "en cours d'envoi" in page
    page = client.get(f"/console/messages/{message.id}?lang=en").get_data(as_text=True)
    assert "0 of 10" in page


def test_clock_runs_queue_it_in_batches_to_completion(
    as_role: AsRole, rt: Runtime, ids: dict[str, int]
) -> None:
    numbers = subscribe(rt, ids[KAYES], 10)
    message_id = sent_by_admin(rt, ids[KAYES])
    summary = broadcast.broadcast_due(rt, rt.now(), max_batches=1)
    assert (summary.queued, summary.finished) == (BATCH, 0)
    assert only_message(rt).queued == BATCH
    client, _ = as_role(Role.ADMIN)
    page = client.get(f"/console/messages/{message_id}").get_data(as_text=True)
    assert f"{BATCH} sur 10" in page
    while only_message(rt).status == InfoMessageStatus.SENDING:
        jobs(rt)["broadcast"]()
    assert queued_numbers(rt) == Counter(numbers)
    message = only_message(rt)
    assert (message.status, message.queued, message.sent_at) == (
        InfoMessageStatus.SENT,
        10,
        rt.now(),
    )
    # Spread at 60 a minute across batches, as if sent in one go.
    starts = sorted(r.next_attempt_at - rt.now() for r in outbox_rows(rt))
    assert [s.total_seconds() for s in starts] == list(range(10))
    assert broadcast.broadcast_due(rt, rt.now()).queued == 0
    assert EVERY["broadcast"] <= 10


def test_a_run_killed_between_batches_loses_and_duplicates_nothing(
    monkeypatch: pytest.MonkeyPatch, rt: Runtime, ids: dict[str, int]
) -> None:
    numbers = subscribe(rt, ids[KAYES], 10)
    sent_by_admin(rt, ids[KAYES])
    real = info_messages.queue_batch
    calls = []

    def dies_after_the_first_batch(*args: Any, **kwargs: Any) -> int:
        if calls:
            raise RuntimeError("clock killed")
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(info_messages, "queue_batch", dies_after_the_first_batch)
    with pytest.raises(RuntimeError):
        broadcast.broadcast_due(rt, rt.now())
    assert len(outbox_rows(rt)) == BATCH
    monkeypatch.setattr(info_messages, "queue_batch", real)
    # As if a second clock had read the message before the first one's batch.
    with transaction(rt.sessions) as session:
        message = info_messages.sending(session)[0]
        message.fanout_after = 0
    broadcast.broadcast_due(rt, rt.now())
    assert queued_numbers(rt) == Counter(numbers)  # each exactly once
    assert (only_message(rt).status, only_message(rt).queued) == (InfoMessageStatus.SENT, 10)


@pytest.mark.skipif(is_postgres_run(), reason="PostgreSQL locks the message row instead")
def test_a_batch_from_a_stale_read_rolls_back_instead_of_counting_twice(
    rt: Runtime, ids: dict[str, int]
) -> None:
    numbers = subscribe(rt, ids[KAYES], 10)
    sent_by_admin(rt, ids[KAYES])
    with pytest.raises(info_messages.BatchRaced), transaction(rt.sessions) as session:
        stale = info_messages.sending(session)[0]
        broadcast.broadcast_due(rt, rt.now(), max_batches=1)  # another clock, meanwhile
        info_messages.queue_batch(session, rt, stale, rt.now())
    assert only_message(rt).queued == len(outbox_rows(rt)) == BATCH
    broadcast.broadcast_due(rt, rt.now())
    assert queued_numbers(rt) == Counter(numbers)
    assert only_message(rt).queued == 10


def test_a_cancelled_message_stops_being_queued(
    as_role: AsRole, rt: Runtime, ids: dict[str, int]
) -> None:
    subscribe(rt, ids[KAYES], 10)
    message_id = sent_by_admin(rt, ids[KAYES])
    broadcast.broadcast_due(rt, rt.now(), max_batches=1)
    client, _ = as_role(Role.ADMIN)
    page = client.get(f"/console/messages/{message_id}").get_data(as_text=True)
    assert "Annuler le message" in page
    client.post(f"/console/messages/{message_id}/cancel")
    assert only_message(rt).status == InfoMessageStatus.CANCELLED
    assert broadcast.broadcast_due(rt, rt.now()).queued == 0
    assert outbox_rows(rt) == []  # the batch queued but not yet sent is withdrawn


def test_cancelling_withdraws_what_is_queued_and_not_yet_sent(
    as_role: AsRole, rt: Runtime, ids: dict[str, int]
) -> None:
    """At 60 a minute a national message trickles out for hours after it is `sent`:
    cancelling it then still stops what has not left, and says how many."""
    subscribe(rt, ids[KAYES], 10)
    message_id = sent_by_admin(rt, ids[KAYES])
    broadcast.broadcast_due(rt, rt.now())
    assert only_message(rt).status == InfoMessageStatus.SENT
    dispatch_due(rt, rt.now())  # the first ones leave; the rest wait their turn
    left = [r for r in outbox_rows(rt) if r.status != OutboxStatus.PENDING]
    assert 0 < len(left) < 10
    client, _ = as_role(Role.ADMIN)
    page = client.get(f"/console/messages/{message_id}").get_data(as_text=True)
    assert "Annuler le message" in page
    answer = client.post(f"/console/messages/{message_id}/cancel", follow_redirects=True)
    assert f"{10 - len(left)} SMS" in html.unescape(answer.get_data(as_text=True))
    assert only_message(rt).status == InfoMessageStatus.CANCELLED
    assert [r.id for r in outbox_rows(rt)] == [r.id for r in left]  # those that left stay


def test_a_message_whose_every_sms_has_left_cannot_be_cancelled(
    as_role: AsRole, rt: Runtime, ids: dict[str, int]
) -> None:
    subscribe(rt, ids[MOPTI], 2)
    message_id = sent_by_admin(rt, ids[MOPTI])
    dispatch_due(rt, rt.now() + dt.timedelta(hours=1))
    client, _ = as_role(Role.ADMIN)
    page = client.get(f"/console/messages/{message_id}").get_data(as_text=True)
    assert "Annuler le message" not in page
    client.post(f"/console/messages/{message_id}/cancel")
    assert only_message(rt).status == InfoMessageStatus.SENT


def test_opt_outs_after_the_request_but_before_their_batch_are_not_sent(
    rt: Runtime, ids: dict[str, int]
) -> None:
    numbers = subscribe(rt, ids[KAYES], 10)
    sent_by_admin(rt, ids[KAYES])
    broadcast.broadcast_due(rt, rt.now(), max_batches=1)
    first = set(queued_numbers(rt))
    later = [n for n in numbers if n not in first]
    with transaction(rt.sessions) as session:
        for reporter in session.scalars(select(Reporter)):
            if reporter.pseudonym[1:] in later[:2]:
                reporter.opted_out = True  # what STOP does
    broadcast.broadcast_due(rt, rt.now())
    assert set(queued_numbers(rt)) == set(numbers) - set(later[:2])
    assert only_message(rt).status == InfoMessageStatus.SENT


def test_a_small_area_still_goes_at_once(rt: Runtime, ids: dict[str, int]) -> None:
    numbers = subscribe(rt, ids[MOPTI], BATCH)
    sent_by_admin(rt, ids[MOPTI])
    assert only_message(rt).status == InfoMessageStatus.SENT
    assert queued_numbers(rt) == Counter(numbers)


@pytest.mark.postgres
def test_two_clocks_at_once_queue_each_recipient_once(rt: Runtime, ids: dict[str, int]) -> None:
    import threading

    numbers = subscribe(rt, ids[KAYES], 40)
    sent_by_admin(rt, ids[KAYES])
    clocks = [threading.Thread(target=broadcast.broadcast_due, args=(rt, rt.now())) for _ in "ab"]
    for clock in clocks:
        clock.start()
    for clock in clocks:
        clock.join()
    assert queued_numbers(rt) == Counter(numbers)
    assert only_message(rt).queued == 40


def test_cancelling_one_message_withdraws_none_of_another(rt: Runtime, ids: dict[str, int]) -> None:
    subscribe(rt, ids[KAYES], 10)
    first = sent_by_admin(rt, ids[KAYES], "Premier")
    second = sent_by_admin(rt, ids[KAYES], "Second")
    broadcast.broadcast_due(rt, rt.now())
    with transaction(rt.sessions) as session:
        assert info_messages.cancel(session, first, "admin", rt.now()) == 10
    keys = {r.dedupe_key.split(":")[1] for r in outbox_rows(rt)}
    assert keys == {str(second)} and len(outbox_rows(rt)) == 10


def test_the_figures_follow_who_joins_or_leaves_during_the_fanout(
    as_role: AsRole, rt: Runtime, ids: dict[str, int]
) -> None:
    """ "x sur N" while the clock queues: N is those queued plus those still to queue,
    counted when the page is read; once all are queued, the recipients shown are the
    ones queued, the count made at submit beside them."""
    numbers = subscribe(rt, ids[KAYES], 10)
    message_id = sent_by_admin(rt, ids[KAYES])
    broadcast.broadcast_due(rt, rt.now(), max_batches=1)
    later = [n for n in numbers if n not in set(queued_numbers(rt))]
    with transaction(rt.sessions) as session:
        for reporter in session.scalars(select(Reporter)):
            if reporter.pseudonym[1:] in later[:2]:
                reporter.opted_out = True  # what STOP does
    joined = subscribe(rt, ids[KAYES], 3)
    expected = len(numbers) - 2 + len(joined)
    client, _ = as_role(Role.ADMIN)
    page = html.unescape(client.get(f"/console/messages/{message_id}").get_data(as_text=True))
    assert f"{BATCH} sur {expected} " in page and "comptés maintenant" in page
    while only_message(rt).status == InfoMessageStatus.SENDING:
        broadcast.broadcast_due(rt, rt.now(), max_batches=1)
    assert sum(queued_numbers(rt).values()) == expected
    message = only_message(rt)
    assert (message.queued, message.recipients) == (expected, len(numbers))
    page = html.unescape(client.get(f"/console/messages/{message_id}").get_data(as_text=True))
    assert f'<dd class="recipients">{expected} ' in page
    assert f"{len(numbers)} comptés à la soumission" in page
    listing = client.get("/console/messages").get_data(as_text=True)
    assert f'<td class="num">{expected}</td>' in listing
