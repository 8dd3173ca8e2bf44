"""Continuing a report the network cut off: what is kept, and how a new call uses it.

A session that drops part-way through an incident report leaves `Left`: the path of
answers it reached, the session the report is keyed by (its reference code and its
"stored once" key), and what that session began with (the menu replays the path from
it). The next call's first screen offers to continue or to start again; that call is
then `Offered`, and each of its paths (`1*...`, `2*...`, as the network resends the
whole of them) is turned into the path the menu replays by `plan`; `0` there ends the
call with a goodbye and keeps the report for the next one. `after` says what
is kept once the menu answered. The service keeps a `Resume` encrypted, for a short
time, and forgets it when the report is finished or declined.
"""

from __future__ import annotations

import enum
import json
from dataclasses import asdict, dataclass, replace
from typing import Any

from gateway.domain.ussd_catalog import Menu
from gateway.domain.ussd_render import Choices, render_choices
from gateway.domain.ussd_types import Screen

CONTINUE, RESTART, LEAVE = "1", "2", "0"


@dataclass(frozen=True)
class Left:
    """A report left unfinished. `start` is what its first session began with
    (language, home locality id, subscribed), as the service records it."""

    provider: str
    origin: str  # the session the report is keyed by
    start: tuple[str | None, int | None, bool]
    path: str  # the answers so far, `*`-joined, from the first screen of `origin`
    session: str  # the session that reached `path`


class Choice(enum.StrEnum):
    NONE = ""  # the offer is shown, not answered yet
    CONTINUE = "continue"
    RESTART = "restart"
    FINISHED = "finished"  # continued to its end: `end` is the screen it ended on


@dataclass(frozen=True)
class Offered:
    """The session that was offered to continue `left` (None once declined or
    finished: the answers are then forgotten)."""

    session: str
    left: Left | None
    choice: Choice = Choice.NONE
    end: str = ""


@dataclass(frozen=True)
class Resume:
    left: Left | None = None
    offered: Offered | None = None

    def __bool__(self) -> bool:
        return self.left is not None or self.offered is not None

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, raw: str) -> Resume:
        data: dict[str, Any] = json.loads(raw)
        offered = data.get("offered")
        return cls(
            _left(data.get("left")),
            Offered(
                str(offered["session"]),
                _left(offered.get("left")),
                Choice(offered.get("choice", "")),
                str(offered.get("end", "")),
            )
            if offered
            else None,
        )


def _left(data: dict[str, Any] | None) -> Left | None:
    if not data:
        return None
    lang, home, subscribed = data["start"]
    start = (lang, int(home) if home is not None else None, bool(subscribed))
    return Left(data["provider"], data["origin"], start, data["path"], data["session"])


@dataclass(frozen=True)
class Plan:
    """What the menu is asked for one step. `path` None: the offer is the screen (with
    a hint after a wrong answer), or the goodbye when she `leave`s. `left`: the path
    continues that report (replayed from its start, keyed by its origin). `end`: the
    continued report ended, this screen is the answer. `resume` is what is kept before
    the menu answers."""

    resume: Resume
    path: str | None = None
    hint: bool = False
    leave: bool = False
    left: Left | None = None
    end: str = ""


def plan(resume: Resume, session: str, text: str) -> Plan:
    """The plan for the step `text` of `session`, given what was kept."""
    offered = resume.offered
    if offered is not None and offered.session == session:
        return _answering(resume, offered, text)
    left = resume.left
    if left is not None and left.session != session and text == "":
        return Plan(replace(resume, offered=Offered(session, left)))
    # Another call's offer is kept: a step of that call delivered late still reads it.
    return Plan(resume, path=text)


def _answering(resume: Resume, offered: Offered, text: str) -> Plan:
    if offered.choice is Choice.FINISHED:
        return Plan(resume, end=offered.end)
    keys = text.split("*") if text else []
    picked = next(
        (i for i, key in enumerate(keys) if key.strip() in (CONTINUE, RESTART, LEAVE)), None
    )
    if picked is None:
        return Plan(resume, hint=bool(keys))
    if keys[picked].strip() == LEAVE:
        return Plan(resume, leave=True)  # kept as it is: the next call is offered it
    rest = "*".join(keys[picked + 1 :])
    if offered.choice is Choice.RESTART or keys[picked].strip() == RESTART or not offered.left:
        if offered.choice is Choice.RESTART:
            return Plan(resume, path=rest)
        # Declined: her earlier answers are forgotten now, not when they expire.
        left = resume.left if resume.left and resume.left.session == offered.session else None
        declined = Offered(offered.session, None, Choice.RESTART)
        return Plan(Resume(left, declined), path=rest)
    base = offered.left
    path = f"{base.path}*{rest}" if base.path and rest else base.path or rest
    chosen = replace(offered, choice=Choice.CONTINUE)
    return Plan(replace(resume, offered=chosen), path=path, left=base)


def after(
    planned: Plan,
    screen: Screen,
    *,
    provider: str,
    session: str,
    start: tuple[str | None, int | None, bool],
) -> Resume:
    """What is kept once the menu answered `planned.path` with `screen` in `session`
    (which began with `start`)."""
    resume = planned.resume
    if planned.path is None or planned.end:
        return resume
    base = planned.left
    if screen.kind == "CON" and screen.in_report:
        origin = (base.provider, base.origin, base.start) if base else (provider, session, start)
        left: Left | None = Left(*origin, planned.path, session)
    elif base is None and resume.left is not None and resume.left.session != session:
        left = resume.left  # another call's report, untouched by this one's steps
    else:
        left = None  # finished, or left for another menu: forgotten
    offered = resume.offered
    if base is not None and offered is not None and screen.kind == "END":
        offered = Offered(offered.session, None, Choice.FINISHED, screen.body)
    return Resume(left, offered)


def offer(lang: str, menu: Menu, hint: bool = False) -> Screen:
    """The first screen of a call that may continue a report."""
    choices = Choices(
        menu.t(lang, "resume_title"),
        (menu.t(lang, "resume_continue"), menu.t(lang, "resume_restart")),
        nav="exit",
    )
    return Screen("CON", render_choices(choices, 0, "hint_choice" if hint else "", lang, menu))


def goodbye(lang: str, menu: Menu) -> Screen:
    """The end of a call that left the offer with `0`."""
    return Screen("END", menu.t(lang, "bye"))
