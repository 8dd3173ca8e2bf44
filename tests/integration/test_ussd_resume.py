"""A report cut off by the network is offered back on the next call, and stored once.

A caller on a weak network loses her USSD session part-way through a report. Dialling
again within `USSD_RESUME_MINUTES`, she is offered to continue where she was (with what
she had entered) or to start again; what was kept is encrypted on her reporter row,
keyed by her pseudonym, and forgotten when she finishes, declines, or it expires.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select, text

from gateway.domain.gsm7 import is_gsm7, septets
from gateway.domain.ussd_resume import Resume
from gateway.domain.ussd_screens import ref_code
from gateway.models import Incident, Locality, Reporter
from gateway.runtime import Runtime
from gateway.services.intake import pending_parts
from gateway.services.upkeep.purge import forget_pending, purge_expired
from tests.conftest import Clock
from tests.integration.test_sms_conversation import ratings, texted
from tests.integration.test_ussd_flow import dial, scalar, statements_sent

PHONE = "+22376123456"
# A first call: 1 French, 2 report, 2 kidnapping, "sevare" typed, 1 its commune,
# 2 yesterday, 2 nobody in danger now, 1 send.
REPORT = ["1", "2", "2", "sevare", "1", "2", "2", "1"]
STARTED = REPORT.index("2")  # the answers before this one are not a report yet
OFFER = ("1. Continuer votre signalement", "2. Recommencer")


def call(client: FlaskClient, answers: list[str], session: str) -> list[str]:
    """Every screen of a session, the whole path sent each time as the network does."""
    return [
        dial(client, "*".join(answers[:i]), session=session, phone=PHONE)
        for i in range(len(answers) + 1)
    ]


def step(client: FlaskClient, answers: list[str], session: str) -> str:
    return dial(client, "*".join(answers), session=session, phone=PHONE)


def incidents(rt: Runtime) -> list[Incident]:
    with rt.sessions() as session:
        return list(session.scalars(select(Incident)))


def kept(rt: Runtime) -> dict[str, object] | None:
    """The caller's kept state as stored (ciphertext only), or None."""
    with rt.sessions() as session:
        return session.scalars(select(Reporter.pending)).one()


def no_answers_kept(rt: Runtime) -> bool:
    with rt.sessions() as session:
        reporter = session.scalars(select(Reporter)).one()
    sealed = pending_parts.part(reporter.pending, reporter.pending_until, "ussd", rt.now())
    if sealed is None:
        return True
    resume = Resume.from_json(rt.vault.decrypt(sealed))
    return resume.left is None and (resume.offered is None or resume.offered.left is None)


def assert_the_report_of(rt: Runtime, origin: str) -> Incident:
    """One incident, with the answers of REPORT, keyed by the session it began in."""
    (incident,) = incidents(rt)
    assert (incident.kind, incident.occurred, incident.danger_now) == (
        "kidnapping",
        "yesterday",
        False,
    )
    with rt.sessions() as session:
        place = session.get(Locality, incident.locality_id)
    assert place is not None and place.name == "Mopti"  # the commune of Sévaré
    assert incident.source_ref == f"ussd:africastalking:{origin}"
    assert incident.ref_code == ref_code(origin, 6)
    return incident


@pytest.mark.parametrize("dropped_at", range(STARTED + 1, len(REPORT)))
def test_a_report_dropped_at_any_step_is_continued_on_redial_and_stored_once(
    client: FlaskClient, rt: Runtime, dropped_at: int
) -> None:
    before = call(client, REPORT[:dropped_at], session="s1")  # then the network drops
    offer = step(client, [], session="s2")
    assert offer.startswith("CON ") and all(line in offer for line in OFFER)
    assert step(client, ["1"], session="s2") == before[-1]  # where she was, as she left it
    rest = REPORT[dropped_at:]
    screens = [step(client, ["1", *rest[: i + 1]], session="s2") for i in range(len(rest))]
    end = screens[-1]
    assert end.startswith("END ") and ref_code("s1", 6) in end
    assert step(client, ["1", *rest], session="s2") == end  # the last step resent
    assert_the_report_of(rt, "s1")
    assert no_answers_kept(rt)  # finished: only the end, for a resent step of s2
    assert "Bienvenue" in step(client, [], session="s3")  # no offer any more


def test_a_call_dropped_before_the_report_began_is_not_offered(client: FlaskClient) -> None:
    call(client, REPORT[:STARTED], session="s1")  # the main menu, nothing chosen
    again = step(client, [], session="s2")
    assert "Bienvenue" in again and OFFER[0] not in again


def test_declining_starts_afresh_and_forgets_the_answers(client: FlaskClient, rt: Runtime) -> None:
    call(client, REPORT[:5], session="s1")
    step(client, [], session="s2")
    fresh = step(client, ["2"], session="s2")
    assert "Bienvenue" in fresh and OFFER[0] not in fresh  # the main menu
    assert step(client, ["2"], session="s2") == fresh  # resent
    assert not incidents(rt)
    assert no_answers_kept(rt)  # a marker of the declining session only
    # A new report in the same session is its own, keyed by this session.
    new = ["2", "1", "sevare", "1", "1", "1", "1"]  # report, attack, Sevare, today, danger
    screens = call(client, ["2", *new], session="s2")
    assert screens[-1].startswith("END ")
    (incident,) = incidents(rt)
    assert incident.source_ref == "ussd:africastalking:s2" and incident.kind == "attack"
    assert "Bienvenue" in step(client, [], session="s3")


def test_a_wrong_answer_to_the_offer_asks_again_with_a_hint(client: FlaskClient) -> None:
    before = call(client, REPORT[:6], session="s1")
    offer = step(client, [], session="s2")
    wrong = step(client, ["7"], session="s2")
    assert wrong.startswith("CON ") and wrong != offer and OFFER[0] in wrong
    assert step(client, ["7", "1"], session="s2") == before[-1]


BYE = {"fr": "Au revoir. Merci.", "en": "Goodbye. Thank you.", "bm": "K'an ben. I ni ce."}
LANGUAGE_KEY = {"fr": "1", "bm": "2", "en": "3"}  # the first screen's order


@pytest.mark.parametrize("lang", ["fr", "en", "bm"])
def test_zero_at_the_offer_says_goodbye_and_keeps_the_report_for_a_later_call(
    client: FlaskClient, rt: Runtime, clock: Clock, lang: str
) -> None:
    """The contract's `0` exits: she may have dialled for something else, or cannot
    talk now; her report waits for the next call, as after a drop."""
    report = [LANGUAGE_KEY[lang], *REPORT[1:]]
    before = call(client, report[:6], session="s1")
    offer = step(client, [], session="s2")
    assert offer.startswith("CON ") and "\n0. " in offer
    bye = step(client, ["0"], session="s2")
    assert bye == f"END {BYE[lang]}"
    assert is_gsm7(bye[4:]) and septets(bye[4:]) <= 160
    assert step(client, ["0"], session="s2") == bye  # resent
    assert step(client, ["7", "0"], session="s2") == bye  # after a wrong answer too
    clock.advance(minutes=14)
    assert step(client, [], session="s3") == offer
    assert step(client, ["1"], session="s3") == before[-1]  # where she was
    end = step(client, ["1", *report[6:]], session="s3")
    assert end.startswith("END ") and ref_code("s1", 6) in end
    assert len(incidents(rt)) == 1 and no_answers_kept(rt)


def test_an_offer_expires_after_the_setting_and_the_purge_forgets_it(
    make_app: Callable[..., Flask], clock: Clock
) -> None:
    app = make_app(USSD_RESUME_MINUTES="5")
    client, rt = app.test_client(), app.extensions["gateway"]
    call(client, REPORT[:5], session="s1")
    clock.advance(minutes=4)
    assert OFFER[0] in step(client, [], session="s2")  # within 5 minutes of her last step
    clock.advance(minutes=6)
    assert "Bienvenue" in step(client, [], session="s3")
    assert kept(rt) is not None  # still stored, unreadable: the purge erases it
    purge_expired(rt, clock())
    assert kept(rt) is None


def test_the_default_keeps_a_report_for_fifteen_minutes(client: FlaskClient, clock: Clock) -> None:
    call(client, REPORT[:5], session="s1")
    clock.advance(minutes=14)
    assert OFFER[0] in step(client, [], session="s2")
    clock.advance(minutes=16)
    assert OFFER[0] not in step(client, [], session="s3")


def test_a_report_dropped_twice_is_continued_from_the_second_drop(
    client: FlaskClient, rt: Runtime
) -> None:
    call(client, REPORT[:4], session="s1")  # dropped when typing the place
    step(client, [], session="s2")
    second = [step(client, ["1", *REPORT[4:i]], session="s2") for i in (5, 6)][-1]
    assert "Des personnes" in second  # the danger question; dropped again
    step(client, [], session="s3")
    assert step(client, ["1"], session="s3") == second
    end = step(client, ["1", *REPORT[6:]], session="s3")
    assert end.startswith("END ")
    assert_the_report_of(rt, "s1")


def test_continuing_a_report_already_stored_stores_it_once(
    client: FlaskClient, rt: Runtime
) -> None:
    end = call(client, REPORT, session="s1")[-1]
    step(client, REPORT[:6], session="s1")  # an earlier step delivered late by the network
    step(client, [], session="s2")
    again = step(client, ["1", *REPORT[6:]], session="s2")
    assert again == end  # the same report, the same code
    assert_the_report_of(rt, "s1")


def test_a_step_resent_after_the_continued_report_ended_gives_the_same_end(
    client: FlaskClient, rt: Runtime
) -> None:
    call(client, REPORT[:6], session="s1")
    step(client, [], session="s2")
    end = step(client, ["1", *REPORT[6:]], session="s2")
    assert end.startswith("END ")
    assert step(client, ["1", *REPORT[6:]], session="s2") == end
    assert step(client, ["1", *REPORT[6:7]], session="s2") == end  # an earlier one, late
    assert len(incidents(rt)) == 1


def test_leaving_the_report_for_the_main_menu_forgets_it(client: FlaskClient, rt: Runtime) -> None:
    call(client, [*REPORT[:5], "00"], session="s1")
    assert kept(rt) is None
    assert OFFER[0] not in step(client, [], session="s2")


def test_what_is_kept_is_encrypted_and_keyed_by_the_pseudonym(
    client: FlaskClient, rt: Runtime
) -> None:
    call(client, REPORT[:5], session="s1")
    stored = json.dumps(kept(rt))
    for clear in ("sevare", "2*2", PHONE, PHONE[1:], "kidnapping"):
        assert clear not in stored.lower()
    with rt.sessions() as session:
        dump = " ".join(
            str(v) for row in session.execute(text("SELECT * FROM reporters")) for v in row
        )
    assert PHONE[4:] not in dump


def test_an_sms_question_and_a_kept_report_do_not_erase_each_other(
    client: FlaskClient, rt: Runtime
) -> None:
    call(client, REPORT[:5], session="s1")
    asked = texted(client, rt, "CONFIANCE 4", phone=PHONE)  # a pending SMS question
    assert "LIEU" in asked[0]
    assert OFFER[0] in step(client, [], session="s2")
    step(client, ["1"], session="s2")
    texted(client, rt, "Mopti", phone=PHONE)  # completes the SMS rating
    assert ratings(rt) == [("Mopti", 4)]
    assert OFFER[0] in step(client, [], session="s3")
    end = step(client, ["1", *REPORT[5:]], session="s3")
    assert end.startswith("END ")
    assert scalar(rt, select(func.count()).select_from(Incident)) == 1


def test_no_report_is_kept_when_the_setting_is_zero(make_app: Callable[..., Flask]) -> None:
    app = make_app(USSD_RESUME_MINUTES="0")
    client = app.test_client()
    call(client, REPORT[:5], session="s1")
    assert OFFER[0] not in step(client, [], session="s2")


def test_the_clock_job_erases_a_kept_report_that_is_over_and_leaves_the_sms_question(
    client: FlaskClient, rt: Runtime, clock: Clock
) -> None:
    call(client, REPORT[:5], session="s1")
    texted(client, rt, "CONFIANCE 4", phone=PHONE)  # an SMS question, for a day
    clock.advance(minutes=16)
    assert forget_pending(rt, clock()) == 1
    stored = kept(rt)
    assert stored is not None and "ussd" not in stored and "enc" in stored
    texted(client, rt, "Mopti", phone=PHONE)
    assert ratings(rt) == [("Mopti", 4)]


def test_a_late_step_of_the_dropped_call_does_not_undo_the_continued_one(
    client: FlaskClient, rt: Runtime
) -> None:
    call(client, REPORT[:5], session="s1")
    step(client, [], session="s2")
    step(client, ["1"], session="s2")
    step(client, REPORT[:4], session="s1")  # the network delivers an old step late
    end = step(client, ["1", *REPORT[5:]], session="s2")
    assert end.startswith("END ")
    assert_the_report_of(rt, "s1")


def test_a_report_question_costs_one_more_statement_and_a_resent_one_none(
    client: FlaskClient, rt: Runtime
) -> None:
    """Keeping her answers is one UPDATE of her row (on PostgreSQL in autocommit, after
    the step's one round trip); a resent step, which changes nothing kept, writes
    nothing more."""
    call(client, REPORT[:4], session="s1")
    pg = rt.engine.dialect.name == "postgresql"
    with statements_sent(rt.engine) as statements:
        step(client, REPORT[:5], session="s1")
    assert statements == (["WITH", "UPDATE"] if pg else ["SELECT", "INSERT", "UPDATE"])
    with statements_sent(rt.engine) as statements:
        step(client, REPORT[:5], session="s1")
    assert statements == (["WITH"] if pg else ["SELECT", "INSERT"])


def after_the_callers_read(monkeypatch: pytest.MonkeyPatch, then: Callable[[], object]) -> None:
    """Run `then` once, inside the next USSD step, just after it read the caller's row
    (PostgreSQL: its one round trip; SQLite: the reporter's SELECT) and before it
    writes what it keeps: the interleaving of two requests, without threads or sleeps."""
    from gateway.services.intake import ussd

    done: list[bool] = []
    for name in ("known_caller_step", "identify_reporter"):
        original = getattr(ussd, name)

        def read_then(*args: object, _original: Callable[..., object] = original, **kw: object):  # type: ignore[no-untyped-def]
            found = _original(*args, **kw)
            if found is not None and not done:
                done.append(True)
                then()
            return found

        monkeypatch.setattr(ussd, name, read_then)


def test_an_sms_question_stored_while_a_ussd_step_runs_is_not_lost(
    client: FlaskClient, rt: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    call(client, REPORT[:4], session="s1")
    asked: list[str] = []
    after_the_callers_read(
        monkeypatch, lambda: asked.extend(texted(client, rt, "CONFIANCE 4", phone=PHONE))
    )
    step(client, REPORT[:5], session="s1")  # keeps one more answer, after the SMS
    assert asked and "LIEU" in asked[0]
    stored = kept(rt)
    assert stored is not None and {"enc", "ussd"} <= set(stored)
    texted(client, rt, "Mopti", phone=PHONE)  # the SMS question was still there
    assert ratings(rt) == [("Mopti", 4)]
    assert OFFER[0] in step(client, [], session="s2")  # and so is the USSD report


def test_a_ussd_report_kept_while_an_sms_is_handled_is_not_lost(
    client: FlaskClient, rt: Runtime
) -> None:
    """The SMS read her row before the USSD step committed what it keeps, and stores
    its question after (on SQLite only a read before the SMS's first write can be
    stale: writers are serialised)."""
    from gateway.services.intake.conversation import Conversation, Pending, PendingIntent

    call(client, REPORT[:4], session="s1")
    with rt.sessions() as session:
        reporter = session.scalars(select(Reporter)).one()
        step(client, REPORT[:5], session="s1")  # commits one more answer kept
        convo = Conversation(session, rt, reporter, PHONE, "fr", rt.now(), "sms:t:1")
        convo.set_pending(Pending(PendingIntent.TRUST, rating=4))
        session.commit()
    stored = kept(rt)
    assert stored is not None and {"enc", "ussd"} <= set(stored)
    resume = Resume.from_json(rt.vault.decrypt(str(stored["ussd"])))
    assert resume.left is not None and resume.left.path == "*".join(REPORT[:5])
