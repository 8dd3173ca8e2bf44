"""Where each answer leads: one step of the USSD menu from a screen and an input."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from gateway.domain.ussd_render import MAIN, MORE, PREV, chosen, page_ranges
from gateway.domain.ussd_screens import (
    QUERY_CHARS,
    Env,
    Forward,
    Outcome,
    State,
    choices,
    has_letter,
    hint_for,
    ref_code,
)
from gateway.domain.ussd_types import (
    Place,
    RecordIncident,
    RecordRatings,
    SetHome,
    SetLanguage,
    Subscribe,
    Unsubscribe,
)


def step(state: State, key: str, env: Env) -> Outcome:
    """Apply one answer (not `0`, which the replay handles) to the screen `state` is on."""
    if key == MAIN:
        return _to_main(state)
    if state.screen == "loc_ask":
        return _typed_locality(state, key, env)
    if state.screen == "loc_pick" and has_letter(key):
        return _typed_locality(state, key, env)
    ch = choices(state, env)
    lang = state.lang or env.fallback()
    ranges = page_ranges(ch, lang, env.menu)
    if key == MORE and state.page + 1 < len(ranges):
        return replace(state, page=state.page + 1, hint="")
    if key == PREV and state.page > 0:
        return replace(state, page=state.page - 1, hint="")
    index = chosen(ch, ranges, state.page, key)
    if index is None:
        return replace(state, hint=hint_for(state))
    return _ON_CHOICE[state.screen](state, index, env)


def _forward(state: State, screen: str) -> Forward:
    return Forward(replace(state, screen=screen, page=0, hint=""))


def _to_main(state: State) -> Outcome:
    if not state.lang:
        return replace(state, hint="hint_choice")
    return Forward(State("main", lang=state.lang))


def _typed_locality(state: State, key: str, env: Env) -> Outcome:
    if has_letter(key):
        found = env.search(key[:QUERY_CHARS])
        if not found:
            return replace(state, hint="hint_notfound")
        return _forward(replace(state, candidates=found), "loc_pick")
    if key == "1" and state.screen == "loc_ask":
        return _forward(replace(state, parent=None, depth=0), "loc_browse")
    return replace(state, hint=hint_for(state))


def _start_locality(state: State, env: Env) -> Forward:
    return _forward(state, "loc_home" if env.ctx.home else "loc_ask")


def _on_lang(state: State, index: int, env: Env) -> Outcome:
    lang = env.menu.languages[index]
    return Forward(State("main", lang=lang), (SetLanguage(lang),))


def _on_main(state: State, index: int, env: Env) -> Outcome:
    action = env.menu.main[index]
    fresh = State("main", lang=state.lang, flow=action)
    if action == "trust" or (action == "subscribe" and not env.ctx.subscribed):
        return _start_locality(fresh, env)
    screen = {"incident": "kind", "home": "loc_ask", "subscribe": "unsub", "language": "lang"}
    return _forward(fresh, screen[action])


def _on_home(state: State, index: int, env: Env) -> Outcome:
    if index == 0 and env.ctx.home is not None:
        return _place_chosen(state, env.ctx.home, env)
    return _forward(state, "loc_ask")


def _on_pick(state: State, index: int, env: Env) -> Outcome:
    if index == len(state.candidates):  # "none of these": type the name again
        return replace(state, screen="loc_ask", page=0, hint="", candidates=())
    return _place_chosen(state, state.candidates[index], env)


def _on_browse(state: State, index: int, env: Env) -> Outcome:
    place = env.children(state.parent.pcode if state.parent else None)[index]
    if env.children(place.pcode):
        return _forward(replace(state, parent=place, depth=state.depth + 1), "loc_browse")
    return _place_chosen(state, place, env)


# Ratings, incidents and a home are about one commune or camp: a wider area chosen
# leads on to the list of what is inside it.
_NEEDS_COMMUNE = frozenset({"trust", "incident", "home"})
_WIDE = {"region": 1, "cercle": 2}


def _place_chosen(state: State, place: Place, env: Env) -> Outcome:
    if state.flow in _NEEDS_COMMUNE and place.kind in _WIDE and env.children(place.pcode):
        deeper = replace(state, parent=place, depth=_WIDE[place.kind], candidates=())
        return _forward(deeper, "loc_browse")
    name = env.confirmation(place)
    if state.flow == "trust":
        return _forward(replace(state, place=place, answers=()), "question")
    if state.flow == "incident":
        return _forward(replace(state, place=place), "when")
    if state.flow == "subscribe":
        return env.end(state.lang, "sub_done", Subscribe(place.pcode), place=name)
    return env.end(state.lang, "home_done", SetHome(place.pcode), place=name)


def _on_question(state: State, index: int, env: Env) -> Outcome:
    question = env.menu.questions[len(state.answers)]
    answers = (*state.answers, (question.id, index + 1))
    pcode = state.place.pcode if state.place else ""
    # Every answer is stored as it comes (once: the service keys each by session and
    # question), so a caller who hangs up part-way keeps what they answered. A caller
    # with no home yet has just told us where they live.
    home = () if env.ctx.home else (SetHome(pcode),)
    record = RecordRatings(pcode, answers)
    if len(answers) < len(env.menu.questions):
        return Forward(replace(state, answers=answers, page=0, hint=""), (record, *home))
    return env.end(state.lang, "trust_done", record, *home)


def _on_kind(state: State, index: int, env: Env) -> Outcome:
    return _start_locality(replace(state, kind=env.menu.kinds[index]), env)


def _on_when(state: State, index: int, env: Env) -> Outcome:
    return _forward(replace(state, when=env.menu.whens[index]), "danger")


def _on_danger(state: State, index: int, env: Env) -> Outcome:
    return _forward(replace(state, danger=index == 0), "confirm")


def _on_confirm(state: State, index: int, env: Env) -> Outcome:
    code = ref_code(env.ctx.session_id, env.menu.code_length)
    pcode = state.place.pcode if state.place else ""
    record = RecordIncident(state.kind, pcode, state.when, state.danger, code)
    # Say that a committee will hear of it only when one will; people in danger now
    # are given the number to call.
    told = "_told" if pcode and env.ctx.reaches(pcode, state.kind, state.danger) else ""
    if state.danger:
        number = env.ctx.emergency_number(pcode)
        return env.end(state.lang, f"incident_done_danger{told}", record, code=code, number=number)
    return env.end(state.lang, f"incident_done{told}", record, code=code)


def _on_unsub(state: State, index: int, env: Env) -> Outcome:
    return env.end(state.lang, "unsub_done", Unsubscribe())


_ON_CHOICE: dict[str, Callable[[State, int, Env], Outcome]] = {
    "lang": _on_lang,
    "main": _on_main,
    "loc_home": _on_home,
    "loc_pick": _on_pick,
    "loc_browse": _on_browse,
    "question": _on_question,
    "kind": _on_kind,
    "when": _on_when,
    "danger": _on_danger,
    "confirm": _on_confirm,
    "unsub": _on_unsub,
}
