"""Information messages: recipients of an area (never opted-out numbers), the preview
with segments, sending once through the outbox at a bounded rate, a second admin
above 1,000 recipients, and committee users kept to their area."""

from __future__ import annotations

import datetime as dt
import html
import itertools
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from gateway.db import transaction
from gateway.models import (
    AuditLog,
    ConsoleUser,
    InfoMessage,
    InfoMessageStatus,
    OutboxMessage,
    Reporter,
    Role,
    Subscription,
)
from gateway.runtime import Runtime
from gateway.scheduler import jobs
from gateway.services.admin import info_messages
from gateway.services.admin.info_messages import InfoMessageError
from tests.console.conftest import KAYES, MOPTI, MOPTI_CERCLE, SOCOURA, add_user, login

AsRole = Callable[[Role], tuple[FlaskClient, ConsoleUser]]
_numbers = itertools.count(1)
TWO_SEGMENTS = "Reunion de dialogue avec les FDS samedi a 10h a la mairie. " * 3


def subscribe(rt: Runtime, locality_id: int, count: int, opted_out: bool = False) -> list[str]:
    """`count` subscribers of a locality; their numbers."""
    numbers = [f"+2237{next(_numbers):07d}" for _ in range(count)]
    now = rt.now()
    with transaction(rt.sessions) as session:
        reporters = [
            Reporter(pseudonym=f"p{n}", created_at=now, opted_out=opted_out) for n in numbers
        ]
        session.add_all(reporters)
        session.flush()
        session.add_all(
            Subscription(
                reporter_id=r.id,
                locality_id=locality_id,
                phone_enc=rt.vault.encrypt(n),
                created_at=now,
            )
            for r, n in zip(reporters, numbers, strict=True)
        )
    return numbers


def outbox_rows(rt: Runtime) -> list[OutboxMessage]:
    with rt.sessions() as session:
        return list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def only_message(rt: Runtime) -> InfoMessage:
    with rt.sessions() as session:
        return session.scalars(select(InfoMessage)).one()


def test_recipients_are_the_area_and_below_without_opted_out(
    rt: Runtime, ids: dict[str, int]
) -> None:
    subscribe(rt, ids[MOPTI], 3)
    subscribe(rt, ids[MOPTI], 2, opted_out=True)
    subscribe(rt, ids[SOCOURA], 2)
    subscribe(rt, ids[KAYES], 4)
    with rt.sessions() as session:
        assert info_messages.recipients(session, rt, ids[MOPTI]) == 3
        assert info_messages.recipients(session, rt, ids[SOCOURA]) == 2
        assert info_messages.recipients(session, rt, ids[MOPTI_CERCLE]) == 5
        assert info_messages.recipients(session, rt, ids[KAYES]) == 4


def test_the_preview_shows_recipients_and_segments_before_sending(
    as_role: AsRole, rt: Runtime, ids: dict[str, int]
) -> None:
    subscribe(rt, ids[MOPTI], 3)
    subscribe(rt, ids[SOCOURA], 1, opted_out=True)
    client, _ = as_role(Role.ADMIN)
    response = client.post("/console/messages", data={"area": MOPTI_CERCLE, "body": TWO_SEGMENTS})
    assert response.status_code == 302
    message = only_message(rt)
    assert (message.recipients, message.segments) == (3, 2)
    assert message.status == InfoMessageStatus.DRAFT
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert '<dd class="recipients">3 <small' in page and "comptés à la rédaction" in page
    assert "2 SMS par destinataire" in page and "GSM 7 bits" in page
    assert "Envoyer" in page
    assert outbox_rows(rt) == []  # a preview sends nothing


def test_accents_outside_gsm_count_as_unicode_and_long_texts_are_refused(
    as_role: AsRole, rt: Runtime, ids: dict[str, int]
) -> None:
    client, _ = as_role(Role.ADMIN)
    client.post("/console/messages", data={"area": MOPTI, "body": "Réunion à la mairie, ça marche"})
    message = only_message(rt)
    assert message.body == "Réunion à la mairie, ça marche"  # stored as typed
    page = client.get(f"/console/messages/{message.id}").get_data(as_text=True)
    assert "1 SMS par destinataire" in page and "Unicode" in page
    response = client.post("/console/messages", data={"area": MOPTI, "body": "x" * 460})
    assert "trop long" in client.get(response.headers["Location"]).get_data(as_text=True)
    with rt.sessions() as session:
        assert session.scalar(select(func.count()).select_from(InfoMessage)) == 1
    with transaction(rt.sessions) as session, pytest.raises(InfoMessageError) as error:
        info_messages.compose(session, rt, "x", ids[MOPTI], "x" * 460, rt.now())
    assert error.value.reason == "too_long"


def test_sending_enqueues_one_row_per_recipient_once_at_a_bounded_rate(
    as_role: AsRole, rt: Runtime, ids: dict[str, int]
) -> None:
    numbers = subscribe(rt, ids[MOPTI], 3) + subscribe(rt, ids[SOCOURA], 2)
    subscribe(rt, ids[MOPTI], 2, opted_out=True)
    subscribe(rt, ids[KAYES], 2)
    client, user = as_role(Role.ADMIN)
    client.post("/console/messages", data={"area": MOPTI_CERCLE, "body": "Bonjour Mopti"})
    message = only_message(rt)
    response = client.post(f"/console/messages/{message.id}/send")
    assert response.status_code == 302
    rows = outbox_rows(rt)
    assert sorted(rt.vault.decrypt(r.recipient_enc or "") for r in rows) == sorted(numbers)
    assert {(r.purpose, r.body) for r in rows} == {("info", "Bonjour Mopti")}
    assert all(r.dedupe_key and r.dedupe_key.startswith(f"info:{message.id}:") for r in rows)
    # 60 a minute: one a second from now.
    starts = sorted(r.next_attempt_at for r in rows)
    assert [s - rt.now() for s in starts] == [dt.timedelta(seconds=i) for i in range(5)]
    assert only_message(rt).status == InfoMessageStatus.SENT
    # A second press, or a second send, adds nothing.
    client.post(f"/console/messages/{message.id}/send")
    with transaction(rt.sessions) as session:
        assert info_messages.send(session, rt, message.id, rt.now()) == 0
    assert len(outbox_rows(rt)) == 5
    with rt.sessions() as session:
        actions = list(session.scalars(select(AuditLog.action).where(AuditLog.actor == user.email)))
    assert {"message.compose", "message.submit", "message.send"} <= set(actions)


def test_a_replayed_send_adds_no_row_for_a_subscriber_already_queued(
    rt: Runtime, ids: dict[str, int]
) -> None:
    subscribe(rt, ids[MOPTI], 2)
    with transaction(rt.sessions) as session:
        message = info_messages.compose(session, rt, "a@x", ids[MOPTI], "Bonjour", rt.now())
        info_messages.submit(session, rt, message.id, "a@x", rt.now())
        assert info_messages.send(session, rt, message.id, rt.now(), rate_per_minute=30) == 2
        # As if the status had not been saved: the keys still hold.
        message.status = InfoMessageStatus.APPROVED
    subscribe(rt, ids[MOPTI], 1)
    with transaction(rt.sessions) as session:
        assert info_messages.send(session, rt, message.id, rt.now()) == 1
    assert len(outbox_rows(rt)) == 3


def test_more_than_a_thousand_recipients_need_a_second_admin(
    app: Flask, as_role: AsRole, rt: Runtime, ids: dict[str, int]
) -> None:
    subscribe(rt, ids[KAYES], 1000)
    composer, _ = as_role(Role.ADMIN)
    composer.post("/console/messages", data={"area": KAYES, "body": "Bonjour Kayes"})
    message = only_message(rt)
    assert message.recipients == 1000  # a thousand may go without a second admin
    page = html.unescape(composer.get(f"/console/messages/{message.id}").get_data(as_text=True))
    assert "Demander l'approbation" not in page and "Envoyer" in page
    subscribe(rt, ids[KAYES], 1)  # one more before the send: counted again
    composer.post(f"/console/messages/{message.id}/send")
    assert only_message(rt).recipients == 1001
    assert only_message(rt).status == InfoMessageStatus.AWAITING_APPROVAL
    assert outbox_rows(rt) == []
    # The composer cannot approve their own message.
    page = composer.get(f"/console/messages/{message.id}").get_data(as_text=True)
    assert "Approuver et envoyer" not in page and "autre administrateur" in page
    response = composer.post(f"/console/messages/{message.id}/approve")
    assert "propre message" in composer.get(response.headers["Location"]).get_data(as_text=True)
    assert only_message(rt).status == InfoMessageStatus.AWAITING_APPROVAL
    # Analysts and committee users cannot approve at all.
    for role in (Role.ANALYST, Role.COMMITTEE):
        other, _ = as_role(role)
        assert other.post(f"/console/messages/{message.id}/approve").status_code == 403
    second = add_user(rt, Role.ADMIN, email="second-admin@example.org")
    client = app.test_client()
    login(client, second.email)
    assert "Approuver et envoyer" in client.get(f"/console/messages/{message.id}").get_data(
        as_text=True
    )
    client.post(f"/console/messages/{message.id}/approve")
    approved = only_message(rt)
    assert (approved.status, approved.approved_by) == (InfoMessageStatus.SENDING, second.email)
    assert outbox_rows(rt) == []  # the clock queues it, in batches
    while only_message(rt).status == InfoMessageStatus.SENDING:
        jobs(rt)["broadcast"]()
    rows = outbox_rows(rt)
    assert len(rows) == 1001
    assert max(r.next_attempt_at for r in rows) - rt.now() == dt.timedelta(seconds=1000)


def test_a_committee_user_writes_only_to_its_area(
    as_role: AsRole, rt: Runtime, ids: dict[str, int]
) -> None:
    subscribe(rt, ids[KAYES], 2)
    subscribe(rt, ids[MOPTI], 1)
    admin, _ = as_role(Role.ADMIN)
    admin.post("/console/messages", data={"area": KAYES, "body": "Pour Kayes"})
    kayes_message = only_message(rt)
    client, _ = as_role(Role.COMMITTEE)
    response = client.post("/console/messages", data={"area": KAYES, "body": "Hors zone"})
    assert "hors de votre zone" in client.get(response.headers["Location"]).get_data(as_text=True)
    # With no area typed, the committee's own.
    response = client.post("/console/messages", data={"area": "", "body": "Pour Mopti"})
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Pour Mopti" in page and MOPTI_CERCLE in page
    client.post("/console/messages", data={"area": MOPTI, "body": "Pour la commune"})
    listing = client.get("/console/messages").get_data(as_text=True)
    assert "Kayes" not in listing
    assert client.get(f"/console/messages/{kayes_message.id}").status_code == 404
    assert client.post(f"/console/messages/{kayes_message.id}/send").status_code == 404
    with rt.sessions() as session:
        areas = set(session.scalars(select(InfoMessage.locality_id)))
    assert areas == {ids[KAYES], ids[MOPTI_CERCLE], ids[MOPTI]}


def test_analysts_read_the_list_but_do_not_compose(as_role: AsRole) -> None:
    client, _ = as_role(Role.ANALYST)
    page = client.get("/console/messages")
    assert page.status_code == 200 and "Nouveau message" not in page.get_data(as_text=True)
    response = client.post("/console/messages", data={"area": MOPTI, "body": "x"})
    assert response.status_code == 403


def test_a_cancelled_message_cannot_be_sent(
    as_role: AsRole, rt: Runtime, ids: dict[str, int]
) -> None:
    subscribe(rt, ids[MOPTI], 1)
    client, _ = as_role(Role.ADMIN)
    client.post("/console/messages", data={"area": MOPTI, "body": "Annule"})
    message = only_message(rt)
    client.post(f"/console/messages/{message.id}/cancel")
    client.post(f"/console/messages/{message.id}/send")
    assert only_message(rt).status == InfoMessageStatus.CANCELLED
    assert outbox_rows(rt) == []


def test_each_subscriber_gets_the_text_of_their_own_language(
    as_role: AsRole, rt: Runtime, ids: dict[str, int]
) -> None:
    numbers = subscribe(rt, ids[MOPTI], 4)
    languages = dict(zip(numbers, ["fr", "en", "bm", None], strict=True))
    with transaction(rt.sessions) as session:
        for reporter in session.scalars(select(Reporter)):
            reporter.language = languages[reporter.pseudonym[1:]]
    client, _ = as_role(Role.ADMIN)
    form = {"area": MOPTI, "body_fr": "Reunion samedi", "body_en": "Meeting on Saturday"}
    response = client.post("/console/messages", data=form)
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Meeting on Saturday" in page and 'class="muted segments-en"' in page
    message = only_message(rt)
    client.post(f"/console/messages/{message.id}/send")
    by_number = {rt.vault.decrypt(m.recipient_enc or ""): m.body for m in outbox_rows(rt)}
    assert [by_number[n] for n in numbers] == [
        "Reunion samedi",
        "Meeting on Saturday",
        "Reunion samedi",  # no Bambara text: the default language's
        "Reunion samedi",
    ]


def test_a_text_too_long_in_any_language_is_refused(rt: Runtime, ids: dict[str, int]) -> None:
    texts = {"fr": "Bonjour", "bm": "x" * 500}
    with transaction(rt.sessions) as session, pytest.raises(InfoMessageError) as refused:
        info_messages.compose(session, rt, "a@x", ids[MOPTI], texts, rt.now())
    assert refused.value.reason == "too_long" and "bm" in str(refused.value)


def test_a_name_several_areas_share_is_refused_with_their_codes(
    as_role: AsRole, rt: Runtime, ids: dict[str, int]
) -> None:
    # "Mopti" is a region, a cercle and a commune: a message for the region's
    # subscribers must not quietly go to the commune's only.
    subscribe(rt, ids[MOPTI], 2)
    client, _ = as_role(Role.ADMIN)
    response = client.post("/console/messages", data={"area": "mopti", "body": "Bonjour"})
    assert response.status_code == 302
    with rt.sessions() as session:
        assert session.scalar(select(func.count()).select_from(InfoMessage)) == 0
    page = html.unescape(client.get(response.headers["Location"]).get_data(as_text=True))
    assert "Plusieurs zones portent ce nom" in page
    assert f"{MOPTI_CERCLE} (cercle)" in page and f"{MOPTI} (commune)" in page


def test_the_message_page_names_its_area_with_its_kind_and_the_places_above(
    as_role: AsRole, rt: Runtime, ids: dict[str, int]
) -> None:
    subscribe(rt, ids[MOPTI], 1)
    client, _ = as_role(Role.ADMIN)
    response = client.post("/console/messages", data={"area": MOPTI, "body": "Bonjour"})
    page = html.unescape(client.get(response.headers["Location"]).get_data(as_text=True))
    assert 'Mopti <small class="muted">commune ML050109</small> › Mopti' in page


def test_a_small_message_sent_says_it_is_with_the_outbox_and_claims_no_approval(
    as_role: AsRole, rt: Runtime, ids: dict[str, int]
) -> None:
    # Its composer's own send is no approval: "Approuvé par" the same person read as
    # if a second admin had checked it, and "envoyé" while every SMS still waited.
    subscribe(rt, ids[MOPTI], 2)
    client, _ = as_role(Role.ADMIN)
    client.post("/console/messages", data={"area": MOPTI, "body": "Bonjour"})
    message = only_message(rt)
    response = client.post(f"/console/messages/{message.id}/send", follow_redirects=True)
    page = html.unescape(response.get_data(as_text=True))
    assert only_message(rt).status == InfoMessageStatus.SENT
    assert "Approuvé par" not in page
    assert '<span class="status sent">remis aux envois</span>' in page


def test_the_area_field_offers_only_what_a_message_can_go_to(as_role: AsRole) -> None:
    # Its hint was the committees' "ou ML pour tout le pays", and ML was then refused.
    client, _ = as_role(Role.ADMIN)
    form = html.unescape(client.get("/console/messages").get_data(as_text=True))
    assert "ML pour tout le pays" not in form
    response = client.post("/console/messages", data={"area": "ML", "body": "Bonjour"})
    page = html.unescape(client.get(response.headers["Location"]).get_data(as_text=True))
    assert "pas au pays entier" in page
