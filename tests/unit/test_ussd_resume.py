"""The pure side of continuing a report: what a new call's paths replay, what is kept."""

from __future__ import annotations

import pytest

from gateway.domain.gsm7 import is_gsm7, septets
from gateway.domain.ussd_menu import load_menu
from gateway.domain.ussd_resume import (
    Choice,
    Left,
    Offered,
    Plan,
    Resume,
    after,
    goodbye,
    offer,
    plan,
)
from gateway.domain.ussd_types import Screen

START = ("fr", 12, False)
LEFT = Left("africastalking", "s1", START, "2*2*sevare*1", "s1")
QUESTION = Screen("CON", "Quand?", in_report=True)
AFTER = {"provider": "africastalking", "session": "s2", "start": START}


@pytest.mark.parametrize("lang", ["fr", "en", "bm"])
def test_the_offer_fits_one_screen_in_every_language(lang: str) -> None:
    menu = load_menu()
    for hint in (False, True):
        body = offer(lang, menu, hint).body
        assert is_gsm7(body) and septets(body) <= menu.max_septets
        assert body.count("\n1. ") == 1 and "\n2. " in body


def test_a_new_call_is_offered_then_its_paths_continue_the_report() -> None:
    offered = plan(Resume(LEFT), "s2", "")
    assert offered.path is None and offered.resume.offered == Offered("s2", LEFT)
    kept = offered.resume
    assert plan(kept, "s2", "1").path == LEFT.path
    going = plan(kept, "s2", "1*2")
    assert going.path == "2*2*sevare*1*2" and going.left == LEFT
    assert plan(kept, "s2", "9").hint and plan(kept, "s2", "9").path is None
    assert plan(kept, "s2", "9*1*2").path == going.path


def test_zero_at_the_offer_leaves_and_keeps_what_was_kept() -> None:
    kept = plan(Resume(LEFT), "s2", "").resume
    for text in ("0", "9*0"):
        leaving = plan(kept, "s2", text)
        assert leaving == Plan(kept, leave=True)
        assert after(leaving, goodbye("fr", load_menu()), **AFTER) == kept
    assert plan(kept, "s2", "1*0").path == f"{LEFT.path}*0"  # back, inside the report
    assert plan(kept, "s3", "").resume.offered == Offered("s3", LEFT)  # offered again


@pytest.mark.parametrize("lang", ["fr", "en", "bm"])
def test_the_goodbye_ends_the_session_in_every_language(lang: str) -> None:
    menu = load_menu()
    screen = goodbye(lang, menu)
    assert screen.kind == "END" and screen.body == menu.t(lang, "bye")
    assert "\n0. " + menu.t(lang, "exit") in offer(lang, menu).body


def test_a_step_of_the_same_call_or_a_call_that_sends_text_is_not_offered() -> None:
    assert plan(Resume(LEFT), "s1", "").path == ""
    assert plan(Resume(LEFT), "s2", "2").path == "2"


def test_what_is_kept_follows_the_report_and_is_forgotten_at_its_end() -> None:
    going = plan(plan(Resume(LEFT), "s2", "").resume, "s2", "1*2")
    kept = after(going, QUESTION, provider="africastalking", session="s2", start=("fr", 12, True))
    assert kept.left == Left("africastalking", "s1", START, going.path or "", "s2")
    end = Screen("END", "Merci, code R1")
    done = after(going, end, provider="africastalking", session="s2", start=START)
    assert done.left is None
    assert done.offered == Offered("s2", None, Choice.FINISHED, "Merci, code R1")
    assert plan(done, "s2", "1*2*2*1") == Plan(done, end="Merci, code R1")


def test_declining_forgets_the_answers_at_once() -> None:
    declined = plan(plan(Resume(LEFT), "s2", "").resume, "s2", "2")
    assert declined.path == "" and declined.left is None
    assert declined.resume == Resume(None, Offered("s2", None, Choice.RESTART))
    assert plan(declined.resume, "s2", "2*1").path == "1"


def test_what_is_kept_reads_back_as_it_was_written() -> None:
    resume = Resume(LEFT, Offered("s2", LEFT, Choice.CONTINUE))
    assert Resume.from_json(resume.to_json()) == resume
    assert not Resume() and Resume.from_json(Resume().to_json()) == Resume()
