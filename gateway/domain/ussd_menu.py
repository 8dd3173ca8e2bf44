"""The USSD menu machine: a pure function from the session's whole `text` path to a screen.

Africa's Talking resends every answer of the session, joined by `*`, on each request.
`respond` replays that path from the first screen, so a resent step gives the same
screen and the same effects. Nothing of the session is kept between requests; the
caller may keep the stacks of states that paths reached (`Replays`), which only
spares replaying a path's prefix again.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from dataclasses import replace
from pathlib import Path

from gateway.domain.gsm7 import septets
from gateway.domain.ussd_catalog import Menu, MenuError, Question, read_menu
from gateway.domain.ussd_flows import step
from gateway.domain.ussd_render import BACK, fit
from gateway.domain.ussd_screens import Env, Forward, State, first_state, render
from gateway.domain.ussd_types import (
    Effect,
    Place,
    RecordIncident,
    RecordRatings,
    Screen,
    SetHome,
    SetLanguage,
    Subscribe,
    Unsubscribe,
    UssdContext,
)

__all__ = [
    "Effect",
    "Menu",
    "MenuError",
    "Place",
    "Question",
    "RecordIncident",
    "RecordRatings",
    "Replays",
    "Screen",
    "SetHome",
    "SetLanguage",
    "Subscribe",
    "Unsubscribe",
    "UssdContext",
    "load_menu",
    "respond",
]


def load_menu(directory: Path | str | None = None) -> Menu:
    """Read the menu from `directory` (default `gateway/data/ussd/`). Raises MenuError
    naming the file and key when a file is missing, malformed, or a question screen
    would not fit in one USSD screen."""
    menu = read_menu(Path(directory) if directory is not None else None)
    _check_questions(menu)
    return menu


# The stacks of states that paths reached, kept by the caller between requests (see
# `respond`): keyed by what the caller had at the session's start and the path.
Replays = MutableMapping[tuple[object, ...], tuple[State, ...]]


def respond(path: str, ctx: UssdContext, menu: Menu, replays: Replays | None = None) -> Screen:
    """The screen for the session whose answers so far are `path` (`*`-joined, "" at
    the first request). Never raises on any `path`; every body is GSM 7-bit and at most
    `menu.max_septets` long.

    With `replays`, the stack each path reached is kept there, and a path whose prefix
    (all but its last answer) is found replays only its last answer: the network
    resends the whole path at every step. A stack depends only on the path, `menu`,
    the caller's start (language, home, subscription, default language) and the
    place look-ups (`search`, `children`): the session's id, `reaches` and
    `emergency_number` only shape a last screen (END), never a kept stack. So the
    caller gives one `replays` per menu and gazetteer, and bounds it."""
    env = Env(ctx, menu)
    keys = path.split("*") if path else []
    start = (ctx.language, ctx.home, ctx.subscribed, ctx.default_language)
    prefix = path.rpartition("*")[0]  # "" has no answer, not one empty answer: not kept
    kept = replays.get((start, prefix)) if replays is not None and prefix else None
    stack = list(kept) if kept else [first_state(env)]
    effects: tuple[Effect, ...] = ()
    for raw in keys[len(keys) - 1 :] if kept else keys:
        key = raw.strip()
        effects = ()
        if key == BACK:
            if _is_root(stack[-1]):
                return _final(env.end(stack[-1].lang, "bye"), menu)
            stack.pop()
            stack[-1] = replace(stack[-1], hint="")
            continue
        outcome = step(stack[-1], key, env)
        if isinstance(outcome, Screen):
            return _final(outcome, menu)
        if isinstance(outcome, Forward):
            # The main menu starts afresh: `0` there exits, so nothing below it is needed.
            if outcome.state.screen == "main":
                stack.clear()
            stack.append(outcome.state)
            effects = outcome.effects
        else:
            stack[-1] = outcome
    if replays is not None:
        replays[(start, path)] = tuple(stack)
    in_report = stack[-1].flow == "incident"
    return _final(Screen("CON", render(stack[-1], env), effects, in_report), menu)


def _is_root(state: State) -> bool:
    """`0` on these screens ends the session instead of going back."""
    return state.screen == "main" or (state.screen == "lang" and not state.flow)


def _final(screen: Screen, menu: Menu) -> Screen:
    return replace(screen, body=fit(screen.body, menu.max_septets))


def _check_questions(menu: Menu) -> None:
    """Admins edit questions.json: refuse a question that would not fit on one screen."""
    ctx = UssdContext(session_id="check")
    env = Env(ctx, menu)
    for lang in menu.languages:
        for n, question in enumerate(menu.questions):
            state = State("question", lang=lang, hint="hint_scale", answers=(("", 1),) * n)
            body = render(state, env)
            if "\n98. " in body or septets(body) > menu.max_septets:
                raise MenuError(
                    f"questions.json: key 'questions[{n}].text.{lang}' ({question.id}) "
                    f"does not fit in one screen with its 5 answers"
                )
