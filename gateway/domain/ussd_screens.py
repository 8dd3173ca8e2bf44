"""The screens of the USSD menu: what each one shows and where each answer leads."""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field

from gateway.domain.gsm7 import septets
from gateway.domain.text import fold
from gateway.domain.ussd_catalog import Menu
from gateway.domain.ussd_render import Choices, clip, render_choices
from gateway.domain.ussd_types import (
    Effect,
    Place,
    Screen,
    UssdContext,
)

# The alphabet of report references, shared with the SMS side (R and five of these).
REF_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
# Long enough for any locality name; keeps a pasted novel away from the matcher.
QUERY_CHARS = 60


@dataclass(frozen=True)
class State:
    """Where the caller is and what they answered so far in the current action."""

    screen: str
    lang: str = ""  # "" until a language is known
    flow: str = ""  # trust, incident, home, subscribe, language
    page: int = 0
    hint: str = ""  # text key of the hint shown after a wrong answer
    place: Place | None = None
    parent: Place | None = None  # the list being browsed: children of this place
    depth: int = 0
    candidates: tuple[Place, ...] = ()
    answers: tuple[tuple[str, int], ...] = ()
    kind: str = ""
    when: str = ""
    danger: bool = False


@dataclass
class Env:
    """The caller, the menu, and the caller's look-ups remembered for one request, so
    replaying a long path asks the matcher and the gazetteer once per distinct input."""

    ctx: UssdContext
    menu: Menu
    _found: dict[str, tuple[Place, ...]] = field(default_factory=dict)
    _kids: dict[str | None, tuple[Place, ...]] = field(default_factory=dict)

    def search(self, text: str) -> tuple[Place, ...]:
        if text not in self._found:
            self._found[text] = tuple(self.ctx.search(text))[: self.menu.search_max]
        return self._found[text]

    def children(self, pcode: str | None) -> tuple[Place, ...]:
        if pcode not in self._kids:
            self._kids[pcode] = tuple(self.ctx.children(pcode))
        return self._kids[pcode]

    def fallback(self) -> str:
        lang = self.ctx.default_language
        return lang if lang in self.menu.languages else self.menu.languages[0]

    def name(self, place: Place) -> str:
        # Plain letters, like the texts: some handsets garble accents on USSD. Most
        # names are plain already (a step names up to ~10 places): no loop for them.
        plain = place.name
        if not plain.isascii():
            plain = unicodedata.normalize("NFKD", plain)
            plain = "".join(c for c in plain if not unicodedata.combining(c))
        return clip(plain, self.menu.name_chars) or clip(place.pcode, self.menu.name_chars)

    def confirmation(self, place: Place) -> str:
        """How an answer names the place chosen: a commune with its cercle
        ("Benkadi (Dioila)")."""
        if place.kind != "commune" or not place.parent:
            return self.name(place)
        parent = self.name(Place(place.parent, place.parent))
        return clip(f"{self.name(place)} ({parent})", self.menu.name_chars + 8)

    def label(self, place: Place, lang: str) -> str:
        """A choice a caller can tell from the others, within `name_chars`: "Menaka
        (commune, Menaka)", "Menaka (cercle)"; the cercle is cut first, then the name,
        never what it is."""
        if f"level.{place.kind}" not in self.menu.texts[lang]:
            return self.name(place)
        word = self.menu.t(lang, f"level.{place.kind}")
        parent = self.name(Place(place.parent, place.parent)) if place.parent else ""
        name, limit = self.name(place), self.menu.name_chars
        # The name typed is what a caller looks for: cut the cercle before it.
        room = limit - septets(f"{name} ({word}, )")
        if place.kind == "commune" and parent and room >= min(3, septets(parent)):
            return f"{name} ({word}, {clip(parent, room)})"
        detail = f"{word}, {parent}" if place.kind == "commune" and parent else word
        detail = clip(detail, self.menu.name_chars - 9)
        room = self.menu.name_chars - len(detail) - 3
        return f"{clip(self.name(place), room)} ({detail})"

    def end(self, lang: str, key: str, *effects: Effect, **values: object) -> Screen:
        return Screen("END", self.menu.t(lang or self.fallback(), key, **values), effects)


@dataclass(frozen=True)
class Forward:
    state: State
    effects: tuple[Effect, ...] = ()


Outcome = Forward | State | Screen  # a new screen, the same one redrawn, or the end


def first_state(env: Env) -> State:
    lang = env.ctx.language
    if lang in env.menu.languages and lang is not None:
        return State("main", lang=lang)
    return State("lang")


def ref_code(session_id: str, length: int) -> str:
    """A report reference derived from the session, so a resent step gives the same one:
    `R` and characters people can read out (no I, O, 0, 1), as SMS reports use."""
    digest = hashlib.sha256(f"ussd-incident:{session_id}".encode()).digest()
    return "R" + "".join(REF_ALPHABET[b % len(REF_ALPHABET)] for b in digest[: length - 1])


# --- what each choice screen shows -------------------------------------------------


def choices(state: State, env: Env) -> Choices:
    lang, menu = state.lang or env.fallback(), env.menu
    return _CHOICES[state.screen](state, env, lang, menu)


def _lang_choices(state: State, env: Env, lang: str, menu: Menu) -> Choices:
    title = " / ".join(menu.t(code, "choose_language") for code in menu.languages)
    labels = tuple(menu.t(code, "language_name") for code in menu.languages)
    return Choices(title, labels, "" if state.flow == "" else "back")


def _main_choices(state: State, env: Env, lang: str, menu: Menu) -> Choices:
    def label(action: str) -> str:
        stop = action == "subscribe" and env.ctx.subscribed
        return menu.t(lang, "main.unsubscribe" if stop else f"main.{action}")

    return Choices(menu.t(lang, "main_title"), tuple(label(a) for a in menu.main), "exit")


def _home_choices(state: State, env: Env, lang: str, menu: Menu) -> Choices:
    home = env.ctx.home
    title = menu.t(lang, "sub_title" if state.flow == "subscribe" else "loc_home")
    return Choices(title, (env.name(home) if home else "", menu.t(lang, "loc_other")))


def _pick_choices(state: State, env: Env, lang: str, menu: Menu) -> Choices:
    labels = tuple(env.label(p, lang) for p in state.candidates)
    return Choices(menu.t(lang, "loc_pick"), (*labels, menu.t(lang, "loc_none")))


def _browse_choices(state: State, env: Env, lang: str, menu: Menu) -> Choices:
    title = ("browse_region", "browse_cercle", "browse_commune")[min(state.depth, 2)]
    places = env.children(state.parent.pcode if state.parent else None)
    return Choices(menu.t(lang, title), tuple(env.name(p) for p in places))


def _question_choices(state: State, env: Env, lang: str, menu: Menu) -> Choices:
    n = len(state.answers)
    question = menu.questions[n].text[lang]
    title = menu.t(lang, "question", n=n + 1, total=len(menu.questions), text=question)
    return Choices(title, menu.scale[lang])


def _fixed(title: str, prefix: str, codes: Callable[[Menu], tuple[str, ...]]) -> _ChoicesFn:
    def build(state: State, env: Env, lang: str, menu: Menu) -> Choices:
        labels = tuple(menu.t(lang, f"{prefix}{c}") for c in codes(menu))
        return Choices(menu.t(lang, title), labels)

    return build


def _confirm_choices(state: State, env: Env, lang: str, menu: Menu) -> Choices:
    title = menu.t(
        lang,
        "confirm",
        kind=menu.t(lang, f"kind.{state.kind}"),
        place=env.confirmation(state.place) if state.place else "",
        when=menu.t(lang, f"when.{state.when}"),
        danger=menu.t(lang, "yes" if state.danger else "no"),
    )
    return Choices(title, (menu.t(lang, "send"),))


_ChoicesFn = Callable[[State, Env, str, Menu], Choices]
_CHOICES: dict[str, _ChoicesFn] = {
    "lang": _lang_choices,
    "main": _main_choices,
    "loc_home": _home_choices,
    "loc_pick": _pick_choices,
    "loc_browse": _browse_choices,
    "question": _question_choices,
    "kind": _fixed("kind_title", "kind.", lambda m: m.kinds),
    "when": _fixed("when_title", "when.", lambda m: m.whens),
    "danger": _fixed("danger_title", "", lambda m: ("yes", "no")),
    "confirm": _confirm_choices,
    "unsub": _fixed("unsub_title", "", lambda m: ("unsub_yes",)),
}


def render(state: State, env: Env) -> str:
    """The body of the screen `state` is on."""
    lang = state.lang or env.fallback()
    if state.screen == "loc_ask":
        hint = [env.menu.t(lang, state.hint)] if state.hint else []
        rest = [f"1. {env.menu.t(lang, 'loc_browse')}", f"0. {env.menu.t(lang, 'back')}"]
        return "\n".join([*hint, env.menu.t(lang, "loc_ask"), *rest])
    return render_choices(choices(state, env), state.page, state.hint, lang, env.menu)


def has_letter(text: str) -> bool:
    return any(c.isalpha() for c in fold(text))


def hint_for(state: State) -> str:
    return {"question": "hint_scale", "loc_ask": "hint_type"}.get(state.screen, "hint_choice")
