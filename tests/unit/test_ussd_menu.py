"""The USSD menu machine, driven through `respond` with a small fake gazetteer."""

from __future__ import annotations

import json
import re
import shutil
from collections import deque
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.domain.gsm7 import is_gsm7, septets
from gateway.domain.text import fold
from gateway.domain.ussd_catalog import DATA_DIR
from gateway.domain.ussd_menu import (
    Menu,
    MenuError,
    Place,
    RecordIncident,
    RecordRatings,
    Replays,
    Screen,
    SetHome,
    SetLanguage,
    Subscribe,
    Unsubscribe,
    UssdContext,
    load_menu,
    respond,
)

# --- a fake gazetteer: three regions, a few cercles, one cercle with many communes ---

REGIONS = [Place("ML01", "Kayes"), Place("ML05", "Mopti"), Place("ML06", "Tombouctou")]
CERCLES = {
    "ML01": [Place("ML0101", "Kéniéba")],
    "ML05": [Place("ML0501", "Bandiagara"), Place("ML0502", "Djenné"), Place("ML0503", "Mopti")],
    "ML06": [Place("ML0601", "Goundam")],
}
MOPTI_COMMUNES = [Place(f"ML0503{i:02d}", f"Commune {i} de Mopti") for i in range(1, 15)]
COMMUNES = {
    "ML0101": [Place("ML010101", "Faléa"), Place("ML010102", "Sitakili")],
    "ML0501": [Place("ML050101", "Dourou")],
    "ML0502": [Place("ML050201", "Djenné"), Place("ML050202", "Fakala")],
    "ML0503": [Place("ML050301", "Sévaré"), *MOPTI_COMMUNES],
    "ML0601": [Place("ML060101", "Tônka, une commune au nom beaucoup trop long « test »")],
}
ALL = (
    REGIONS
    + [p for ps in CERCLES.values() for p in ps]
    + [p for ps in COMMUNES.values() for p in ps]
)
SEVARE = Place("ML050301", "Sévaré")


def children(pcode: str | None) -> list[Place]:
    if pcode is None:
        return REGIONS
    return CERCLES.get(pcode) or COMMUNES.get(pcode) or []


def search(text: str) -> list[Place]:
    wanted = fold(text)
    return [p for p in ALL if wanted and wanted in fold(p.name)][:4]


def caller(**changes: object) -> UssdContext:
    base = UssdContext(session_id="ATUid_1", search=search, children=children)
    return replace(base, **changes)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def menu() -> Menu:
    return load_menu()


# --- screen rules ---------------------------------------------------------------------

OPTION = re.compile(r"^\d+\. \S")


def assert_screen_rules(screen: Screen, where: str) -> None:
    assert screen.kind in ("CON", "END"), where
    assert is_gsm7(screen.body), (where, screen.body)
    assert septets(screen.body) <= 160, (where, screen.body)
    assert screen.body.strip(), where
    for line in screen.body.split("\n"):
        if re.match(r"^\d+\.", line):
            assert OPTION.match(line), (where, line)


def option_keys(body: str) -> list[str]:
    return [m.group(1) for m in re.finditer(r"^(\d+)\. ", body, re.MULTILINE)]


def main_menus(ctx: UssdContext, menu: Menu) -> set[str]:
    """The main menu in each language: chosen on the first screen, or from the menu."""
    paths = [""] + [f"{pre}{i + 1}" for i in range(len(menu.languages)) for pre in ("", "5*")]
    return {respond(path, ctx, menu).body for path in paths} - {respond("5", ctx, menu).body}


def walk(ctx: UssdContext, menu: Menu, depth: int = 16) -> Iterator[tuple[str, Screen]]:
    """Every screen reachable breadth-first, answering each with its options, the
    navigation keys, a wrong number and typed names. A screen is expanded once per
    main-menu choice that led to it (the same body can belong to several actions)."""
    mains = main_menus(ctx, menu)
    seen: set[tuple[str, str]] = set()
    queue: deque[tuple[str, str]] = deque([("", "")])
    while queue:
        path, action = queue.popleft()
        screen = respond(path, ctx, menu)
        yield path, screen
        if screen.kind == "END" or (screen.body, action) in seen or path.count("*") >= depth:
            continue
        seen.add((screen.body, action))
        for answer in [*option_keys(screen.body), "0", "00", "77", "mopti", "zzz"]:
            tag = f"{screen.body}:{answer}" if screen.body in mains else action
            queue.append((f"{path}*{answer}" if path else answer, tag))


CONTEXTS = {
    "new caller": caller(),
    **{
        f"{lang}, home, subscribed": caller(language=lang, home=SEVARE, subscribed=True)
        for lang in ("fr", "bm", "en")
    },
}


END_KEYS = ["bye", "trust_done", "incident_done", "home_done"]


@pytest.mark.parametrize("name", list(CONTEXTS))
def test_every_reachable_screen_keeps_the_screen_rules(name: str, menu: Menu) -> None:
    ctx = CONTEXTS[name]
    ends: set[str] = set()
    for path, screen in walk(ctx, menu):
        assert_screen_rules(screen, f"{name}: {path!r}")
        if screen.kind == "END":
            ends.add(screen.body)
    # The walk really reached the end of every action, in every language.
    keys = [*END_KEYS, "unsub_done" if ctx.subscribed else "sub_done"]
    for lang in menu.languages:
        for key in keys:
            start = menu.texts[lang][key].split("{")[0]
            assert any(body.startswith(start) for body in ends), (lang, key)


def test_every_language_is_walked_from_the_first_screen(menu: Menu) -> None:
    langs = {p.split("*")[0] for p, _ in walk(caller(), menu, depth=3) if p}
    assert {"1", "2", "3"} <= langs


# --- first screen and language --------------------------------------------------------


def test_first_dial_asks_the_language(menu: Menu) -> None:
    screen = respond("", caller(), menu)
    assert screen.kind == "CON" and screen.effects == ()
    assert "1. Francais" in screen.body and "3. English" in screen.body
    assert "2. Bamanankan" in screen.body


def test_a_remembered_language_skips_the_language_screen(menu: Menu) -> None:
    screen = respond("", caller(language="en"), menu)
    assert screen.body.startswith("Welcome")
    assert "1. Rate my trust in the DSF" in screen.body


def test_an_unknown_remembered_language_asks_again(menu: Menu) -> None:
    assert "3. English" in respond("", caller(language="xx"), menu).body


def test_the_language_chosen_applies_to_the_rest_of_the_session(menu: Menu) -> None:
    chosen = respond("3", caller(), menu)
    assert chosen.effects == (SetLanguage("en"),)
    assert chosen.body.startswith("Welcome")
    later = respond("3*2", caller(), menu)
    assert later.body.startswith("What happened?") and later.effects == ()


def test_language_can_be_changed_from_the_main_menu(menu: Menu) -> None:
    screen = respond("5*2", caller(language="en"), menu)
    assert screen.effects == (SetLanguage("bm"),)
    assert "Kunnafoniw" in screen.body


# --- trust questionnaire -------------------------------------------------------------


def test_the_trust_questionnaire_records_one_set_of_ratings(menu: Menu) -> None:
    ctx = caller(language="en", home=SEVARE)
    assert respond("1", ctx, menu).body.startswith("For which locality?\n1. Sevare")
    first = respond("1*1", ctx, menu)
    assert "How much do you trust the defense and security forces in your area?" in first.body
    end = respond("1*1*4*5*3*2", ctx, menu)
    ids = [q.id for q in menu.questions]
    assert end.kind == "END" and "Thank you" in end.body
    assert end.effects == (RecordRatings(SEVARE.pcode, tuple(zip(ids, (4, 5, 3, 2), strict=True))),)


def test_each_answer_of_the_questionnaire_is_recorded_as_it_comes(menu: Menu) -> None:
    ctx = caller(language="en", home=SEVARE)
    for path in ("1", "1*1"):
        assert respond(path, ctx, menu).effects == ()
    ids = [q.id for q in menu.questions]
    for n, path in enumerate(("1*1*4", "1*1*4*5", "1*1*4*5*3"), start=1):
        screen = respond(path, ctx, menu)
        answers = tuple(zip(ids, (4, 5, 3), strict=False))[:n]
        assert screen.kind == "CON" and screen.effects == (RecordRatings(SEVARE.pcode, answers),)


def test_a_caller_without_home_names_the_locality_first_and_it_becomes_home(menu: Menu) -> None:
    ctx = caller(language="fr")
    assert respond("1", ctx, menu).body.startswith("Tapez le nom")
    end = respond("1*sevare*1*4*4*4*4", ctx, menu)
    assert end.effects[0] == RecordRatings(SEVARE.pcode, tuple((q.id, 4) for q in menu.questions))
    assert end.effects[1:] == (SetHome(SEVARE.pcode),)


def test_rating_another_locality_than_home(menu: Menu) -> None:
    end = respond("1*2*falea*1*1*2*3*4", caller(language="fr", home=SEVARE), menu)
    assert isinstance(end.effects[0], RecordRatings)
    assert end.effects[0].pcode == "ML010101" and len(end.effects) == 1


# --- incident report -----------------------------------------------------------------

INCIDENT = "2*1*1*1*1*1"  # attack, at home, today, danger now, send


def test_a_full_incident_report_ends_with_a_reference_code(menu: Menu) -> None:
    end = respond(INCIDENT, caller(language="en", home=SEVARE), menu)
    assert end.kind == "END"
    (record,) = end.effects
    assert isinstance(record, RecordIncident)
    assert (record.kind, record.pcode, record.when, record.danger_now) == (
        "attack",
        SEVARE.pcode,
        "today",
        True,
    )
    assert re.fullmatch(r"R[A-HJ-NP-Z2-9]{5}", record.ref_code)  # as SMS references
    assert f"INCIDENT {record.ref_code}" in end.body  # free text can follow by SMS


def test_a_resent_step_gives_the_same_code_and_another_session_another(menu: Menu) -> None:
    ctx = caller(language="fr", home=SEVARE)
    first, again = respond(INCIDENT, ctx, menu), respond(INCIDENT, ctx, menu)
    other = respond(INCIDENT, replace(ctx, session_id="ATUid_2"), menu)
    assert first == again
    assert first.effects[0] != other.effects[0]
    assert isinstance(other.effects[0], RecordIncident)
    assert isinstance(first.effects[0], RecordIncident)
    assert first.effects[0].ref_code != other.effects[0].ref_code


def test_an_incident_elsewhere_on_page_two_of_kinds(menu: Menu) -> None:
    ctx = caller(language="en", home=SEVARE)
    assert "98. More" in respond("2", ctx, menu).body
    confirm = respond("2*98*6*2*djenne*2*3*2", ctx, menu)
    assert confirm.body.startswith("Confirm: Mine or explosive, Djenne, This week. Danger: No.")
    (record,) = respond("2*98*6*2*djenne*2*3*2*1", ctx, menu).effects
    assert isinstance(record, RecordIncident)
    assert (record.kind, record.pcode, record.when, record.danger_now) == (
        "explosive",
        "ML050201",
        "week",
        False,
    )


# --- wrong answers and navigation ----------------------------------------------------


@pytest.mark.parametrize("wrong", ["9", "77", "abc", "", " ", "1.5", "٣", "-1"])
def test_a_wrong_answer_repeats_the_question_with_a_hint(wrong: str, menu: Menu) -> None:
    ctx = caller(language="en", home=SEVARE)
    question = respond("1*1", ctx, menu)
    again = respond(f"1*1*{wrong}", ctx, menu)
    assert again.kind == "CON"
    assert again.body == "Answer 1 to 5.\n" + question.body
    main = respond(f"2*0*{wrong}", ctx, menu)  # "" alone would be the first request
    assert main.kind == "CON" and main.body.startswith("Invalid choice.\nWelcome")


@pytest.mark.parametrize(("path", "shown"), [("2", "8"), ("2*98", "2"), ("2*98*99", "6")])
def test_an_option_of_another_page_repeats_the_page_with_a_hint(
    path: str, shown: str, menu: Menu
) -> None:
    ctx = caller(language="en", home=SEVARE)
    page = respond(path, ctx, menu)
    assert shown not in option_keys(page.body)
    again = respond(f"{path}*{shown}", ctx, menu)
    assert again.kind == "CON" and again.effects == ()
    assert again.body == "Invalid choice.\n" + page.body
    # A resent step gives the same screen, kept replays or not.
    replays: Replays = {}
    assert respond(f"{path}*{shown}", ctx, menu, replays) == again
    assert respond(f"{path}*{shown}", ctx, menu, replays) == again
    # The hint goes with the next page key, and the option then shown is taken.
    turned = "99" if "99." in page.body else "98"
    assert "Invalid" not in respond(f"{path}*{shown}*{turned}", ctx, menu).body


def test_the_hint_goes_once_the_answer_is_right(menu: Menu) -> None:
    ctx = caller(language="en", home=SEVARE)
    assert respond("1*1*9*4", ctx, menu).body.startswith("2/4 ")


def test_zero_goes_back_and_exits_on_the_main_menu(menu: Menu) -> None:
    ctx = caller(language="en", home=SEVARE)
    assert respond("1*1*4*0", ctx, menu) == respond("1*1", ctx, menu)
    assert respond("2*0", ctx, menu).body == respond("", ctx, menu).body
    bye = respond("0", ctx, menu)
    assert bye.kind == "END" and bye.effects == ()
    assert respond("0", caller(), menu).kind == "END"  # on the first language screen


def test_double_zero_goes_to_the_main_menu(menu: Menu) -> None:
    ctx = caller(language="en", home=SEVARE)
    assert respond("2*98*6*1*00", ctx, menu).body == respond("", ctx, menu).body
    assert respond("2*98*6*1*00*0", ctx, menu).kind == "END"


# --- locality: browse with paging, typed name ----------------------------------------


def test_browse_region_cercle_commune_with_paging(menu: Menu) -> None:
    ctx = caller(language="en")
    regions = respond("3*1", ctx, menu)
    assert regions.body.startswith("Region:\n1. Kayes\n2. Mopti\n3. Tombouctou")
    cercles = respond("3*1*2", ctx, menu)
    assert "3. Mopti" in cercles.body
    first = respond("3*1*2*3", ctx, menu)
    assert first.body.startswith("Commune:\n1. Sevare") and "98. More" in first.body
    assert "99." not in first.body
    second = respond("3*1*2*3*98", ctx, menu)
    assert "99. Previous" in second.body and "1. Sevare" not in second.body
    assert respond("3*1*2*3*98*99", ctx, menu).body == first.body
    number = option_keys(second.body)[0]
    end = respond(f"3*1*2*3*98*{number}", ctx, menu)
    place = MOPTI_COMMUNES[int(number) - 2]
    assert end.kind == "END" and end.effects == (SetHome(place.pcode),)
    assert place.name in end.body


def test_long_place_names_are_cut_and_made_gsm(menu: Menu) -> None:
    screen = respond("3*1*3*1", caller(language="fr"), menu)
    assert "1. Tonka, une commune au nom" in screen.body
    assert_screen_rules(screen, "long name")


def test_a_typed_locality_offers_candidates_to_choose(menu: Menu) -> None:
    ctx = caller(language="en")
    picks = respond("3*djenne", ctx, menu)
    assert picks.body == "Choose:\n1. Djenne\n2. Djenne\n3. None, type again\n0. Back"
    assert respond("3*djenne*2", ctx, menu).effects == (SetHome("ML050201"),)
    assert respond("3*Djenné*2", ctx, menu).effects == (SetHome("ML050201"),)


def test_an_unknown_name_asks_again_with_a_hint(menu: Menu) -> None:
    screen = respond("3*zzz", caller(language="en"), menu)
    assert screen.kind == "CON" and screen.body.startswith("Place not found.\nType the name")
    assert respond("3*zzz*sevare*1", caller(language="en"), menu).effects == (
        SetHome(SEVARE.pcode),
    )


# --- subscribe / leave ---------------------------------------------------------------


def test_subscribe_for_home_or_another_locality(menu: Menu) -> None:
    ctx = caller(language="en", home=SEVARE)
    assert "4. Get information messages" in respond("", ctx, menu).body
    assert respond("4*1", ctx, menu).effects == (Subscribe(SEVARE.pcode),)
    assert respond("4*2*sitakili*1", ctx, menu).effects == (Subscribe("ML010102"),)


def test_leave_information_messages(menu: Menu) -> None:
    ctx = caller(language="en", home=SEVARE, subscribed=True)
    assert "4. Stop information messages" in respond("", ctx, menu).body
    assert respond("4", ctx, menu).effects == ()
    end = respond("4*1", ctx, menu)
    assert end.kind == "END" and end.effects == (Unsubscribe(),)


# --- any path at all -----------------------------------------------------------------

ANSWER = st.one_of(
    st.sampled_from(["", "0", "00", "1", "2", "3", "4", "5", "98", "99", "mopti", "sev"]),
    st.text(max_size=30),
    st.text(alphabet="0123456789*", max_size=8),
)
PATH = st.one_of(
    st.lists(ANSWER, max_size=60).map("*".join),
    st.text(alphabet="0123456789*abc é", max_size=3000),
    st.text(max_size=3000),
)


@settings(max_examples=300, deadline=None)
@given(path=PATH, ctx=st.sampled_from(list(CONTEXTS.values())))
def test_any_path_gives_a_screen_within_the_rules(path: str, ctx: UssdContext) -> None:
    menu = load_menu()
    screen = respond(path, ctx, menu)
    assert_screen_rules(screen, path[:80])
    assert respond(path, ctx, menu) == screen


def test_thousands_of_steps_are_answered(menu: Menu) -> None:
    for path in ("*" * 5000, "1*" * 3000, "98*" * 2000, "x" * 20000, "3*1*2*3" + "*98" * 3000):
        assert_screen_rules(respond(path, caller(), menu), path[:20])


# --- the data files ------------------------------------------------------------------


def copy_data(tmp_path: Path) -> Path:
    target = tmp_path / "ussd"
    shutil.copytree(DATA_DIR, target)
    return target


def edit(path: Path, change: dict[str, object]) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    data.update(change)
    path.write_text(json.dumps(data), encoding="utf-8")


def test_the_shipped_files_load_and_mark_bambara_unreviewed(menu: Menu) -> None:
    assert menu.languages == ("fr", "bm", "en") and 3 <= len(menu.questions) <= 4
    assert menu.questions[0].text["en"].startswith("How much do you trust the defense")
    for name in ("bm.json", "questions.json"):
        meta = json.loads((DATA_DIR / name).read_text(encoding="utf-8"))["_meta"]
        assert meta["reviewed_by_speaker"] is False


@pytest.mark.parametrize(
    ("file", "change", "message"),
    [
        ("fr.json", {"kind_title": "Quel incident ç?"}, "fr.json: key 'kind_title' is not GSM"),
        ("en.json", {"incident_done": "Code {cod}"}, "en.json: key 'incident_done'"),
        ("menu.json", {"main": ["trust", "dance"]}, "menu.json: key 'main'"),
        ("menu.json", {"page_items": 0}, "menu.json: key 'page_items'"),
        ("questions.json", {"scale": {"fr": ["1"]}}, "questions.json: key 'scale.fr'"),
    ],
)
def test_a_bad_file_is_refused_naming_file_and_key(
    tmp_path: Path, file: str, change: dict[str, object], message: str
) -> None:
    directory = copy_data(tmp_path)
    edit(directory / file, change)
    with pytest.raises(MenuError, match=re.escape(message)):
        load_menu(directory)


def test_a_missing_key_is_named(tmp_path: Path) -> None:
    directory = copy_data(tmp_path)
    data = json.loads((directory / "bm.json").read_text(encoding="utf-8"))
    del data["when.week"]
    (directory / "bm.json").write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(MenuError, match=r"bm\.json: missing keys \['when\.week'\]"):
        load_menu(directory)


def test_a_question_too_long_for_one_screen_is_refused(tmp_path: Path) -> None:
    directory = copy_data(tmp_path)
    data = json.loads((directory / "questions.json").read_text(encoding="utf-8"))
    data["questions"][1]["text"]["en"] = "Do the DSF " + "really " * 12 + "protect you?"
    (directory / "questions.json").write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(MenuError, match=re.escape("questions.json: key 'questions[1].text.en'")):
        load_menu(directory)


def test_a_broken_json_file_is_named(tmp_path: Path) -> None:
    directory = copy_data(tmp_path)
    (directory / "menu.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(MenuError, match=r"menu\.json: cannot read"):
        load_menu(directory)


MENAKA = [
    Place("ML0801", "Ménaka", "cercle", "Ménaka"),
    Place("ML080101", "Ménaka", "commune", "Ménaka"),
    Place("ML08", "Ménaka", "region"),
]


def menaka_search(text: str) -> list[Place]:
    return MENAKA if "men" in fold(text) else []


def menaka_children(pcode: str | None) -> list[Place]:
    return {None: [MENAKA[2]], "ML08": [MENAKA[0]], "ML0801": [MENAKA[1]]}.get(pcode, [])


@pytest.mark.parametrize("lang", ["fr", "en", "bm"])
def test_same_named_places_are_told_apart_and_none_of_them_types_again(
    menu: Menu, lang: str
) -> None:
    ctx = caller(language=lang, search=menaka_search, children=menaka_children)
    picks = respond("3*menakka", ctx, menu)
    lines = [line for line in picks.body.splitlines() if line[:2] in ("1.", "2.", "3.", "4.")]
    assert len(lines) == 4 and len(set(lines)) == 4, picks.body
    assert "Menaka (" in lines[0] and "Menaka" in lines[1].split("(")[1]  # the cercle named
    assert "98." not in picks.body  # one screen
    assert_screen_rules(picks, f"menaka {lang}")
    again = respond("3*menakka*4", ctx, menu)
    assert again.body == respond("3", ctx, menu).body


def test_a_cercle_or_region_chosen_for_a_rating_leads_on_to_its_communes(menu: Menu) -> None:
    ctx = caller(language="en", search=menaka_search, children=menaka_children)
    region = respond("1*menakka*3", ctx, menu)
    assert region.kind == "CON" and region.effects == ()
    assert "1. Menaka" in region.body  # its cercle, then
    commune = respond("1*menakka*3*1*1", ctx, menu)
    assert "How much do you trust" in commune.body
    rated = respond("1*menakka*3*1*1*4", ctx, menu)
    assert rated.effects[0] == RecordRatings("ML080101", (("trust_dsf", 4),))


@pytest.mark.parametrize("danger", [True, False])
@pytest.mark.parametrize("reached", [True, False])
def test_the_end_of_an_incident_tells_the_truth_and_the_number_in_danger(
    menu: Menu, danger: bool, reached: bool
) -> None:
    ctx = caller(
        language="fr",
        home=SEVARE,
        reaches=lambda pcode, kind, now: reached,
        emergency_number=lambda pcode: "117" if pcode == SEVARE.pcode else "0",
    )
    end = respond(f"2*1*1*1*{1 if danger else 2}*1", ctx, menu)
    assert end.kind == "END" and isinstance(end.effects[0], RecordIncident)
    assert ("comite" in end.body) is reached
    assert ("117" in end.body) is danger
    assert_screen_rules(end, "incident end")


# --- replays kept between steps ---------------------------------------------------------


def test_every_reachable_screen_is_the_same_from_kept_replays(menu: Menu) -> None:
    """One `replays` for every context, filled breadth-first as sessions would fill it:
    each path's screen (body, kind and effects) is the one replayed from the start."""
    replays: Replays = {}
    for ctx in CONTEXTS.values():
        for path, screen in walk(ctx, menu, depth=8):
            assert respond(path, ctx, menu, replays) == screen, path


@given(path=PATH, ctx=st.sampled_from(list(CONTEXTS.values())))
def test_a_session_step_by_step_with_kept_replays_gives_the_same_screens(
    path: str, ctx: UssdContext
) -> None:
    menu = load_menu()
    replays: Replays = {}
    answers = path.split("*")
    for n in range(len(answers) + 1):
        so_far = "*".join(answers[:n])
        assert respond(so_far, ctx, menu, replays) == respond(so_far, ctx, menu), so_far


def test_a_step_after_a_kept_path_replays_only_its_last_answer(menu: Menu) -> None:
    replays: Replays = {}
    respond("1*1", caller(), menu, replays)
    searched: list[str] = []

    def counting(text: str) -> list[Place]:
        searched.append(text)
        return search(text)

    ctx = caller(search=counting)
    respond("1*1*mopti", ctx, menu, replays)
    respond("1*1*mopti*1", ctx, menu, replays)
    assert searched == ["mopti"]  # the typed name was looked up once, at its own step


@pytest.mark.parametrize("lang", ["fr", "en", "bm"])
def test_a_long_name_is_kept_whole_and_its_cercle_cut_first(menu: Menu, lang: str) -> None:
    """A walk typed "tombouctou" and was offered "Tombou (commune, Tombouctou)": the
    name a caller looks for was cut to keep the cercle whole."""
    place = Place("ML060106", "Tombouctou", "commune", "Tombouctou")
    ctx = caller(language=lang, search=lambda text: [place], children=lambda pcode: [])
    picks = respond("3*tombouctou", ctx, menu)
    first = next(line for line in picks.body.splitlines() if line.startswith("1. "))
    assert first.startswith("1. Tombouctou ("), first
    assert len(first) - 3 <= menu.name_chars
    assert_screen_rules(picks, f"tombouctou {lang}")


INCIDENT_ENDS = (
    "incident_done",
    "incident_done_told",
    "incident_done_danger",
    "incident_done_danger_told",
)


@pytest.mark.parametrize("lang", ["fr", "en", "bm"])
def test_every_end_of_a_report_says_the_same_way_how_to_add_details(lang: str) -> None:
    # The urgent end said only "Details: SMS INCIDENT R7SD3K.", which does not say that
    # her own words go after the code, as every other end does.
    texts = json.loads((DATA_DIR / f"{lang}.json").read_text(encoding="utf-8"))
    tails = {key: texts[key].split("INCIDENT {code}")[-1] for key in INCIDENT_ENDS}
    assert len(set(tails.values())) == 1, tails


def test_bambara_says_people_are_in_danger_as_its_danger_question_does() -> None:
    # "Mogow bee farati la" ("all the people ...", bɛɛ) was a slip for "be" (bɛ, are).
    texts = json.loads((DATA_DIR / "bm.json").read_text(encoding="utf-8"))
    assert "Mogow be farati la" in texts["danger_title"]
    for key in ("incident_done_danger", "incident_done_danger_told"):
        assert "Mogow be farati la" in texts[key], texts[key]
