"""Laying out USSD screens: option lines, pages of long lists, and the 160-septet rule."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from gateway.domain.gsm7 import EXTENSION, septets, to_gsm7
from gateway.domain.ussd_catalog import Menu

MORE, PREV, BACK, MAIN = "98", "99", "0", "00"
_HINTS = ("hint_choice", "hint_scale", "hint_type", "hint_notfound")
# page_ranges of the screens already laid out: each USSD step replays its whole path,
# so the same few screens are laid out again and again. Keyed by the menu's identity
# (a Menu holds dicts, so it is not hashable); bounded, cleared when full.
_LAID_OUT: dict[tuple[int, Choices, str], tuple[Menu, list[tuple[int, int]]]] = {}
_LAID_OUT_MAX = 4096


@dataclass(frozen=True)
class Choices:
    """A question with numbered options; `nav` is the text key of the `0.` line
    ("back" or "exit"), or "" for no such line."""

    title: str
    labels: tuple[str, ...]
    nav: str = "back"


def clip(text: str, limit: int) -> str:
    """`text` in GSM 7-bit, on one line, cut to at most `limit` septets."""
    line = to_gsm7(" ".join(text.split()))
    if septets(line) <= limit:
        return line  # the common case: nothing to cut
    out: list[str] = []
    used = 0
    for c in line:
        cost = 2 if c in EXTENSION else 1
        if used + cost > limit:
            break
        out.append(c)
        used += cost
    return "".join(out)


def fit(body: str, limit: int) -> str:
    """Last guard of the screen rules: GSM 7-bit and at most `limit` septets."""
    body = to_gsm7(body)
    if septets(body) <= limit:
        return body
    lines = [clip(line, limit) for line in body.split("\n")]
    return clip_lines(lines, limit)


def clip_lines(lines: Sequence[str], limit: int) -> str:
    kept: list[str] = []
    for line in lines:
        if septets("\n".join([*kept, line])) > limit:
            break
        kept.append(line)
    return "\n".join(kept) if kept else clip(lines[0] if lines else "", limit)


def option_lines(labels: Sequence[str], first: int = 1) -> list[str]:
    return [f"{first + i}. {label}" for i, label in enumerate(labels)]


def _nav_lines(menu: Menu, lang: str, nav: str, more: bool, prev: bool) -> list[str]:
    lines = [f"{MORE}. {menu.t(lang, 'more')}"] if more else []
    lines += [f"{PREV}. {menu.t(lang, 'prev')}"] if prev else []
    return lines + ([f"{BACK}. {menu.t(lang, nav)}"] if nav else [])


def first_number(count: int, start: int) -> int:
    """Options are numbered across pages, unless a list is so long that its numbers
    would reach the paging keys 98 and 99."""
    return start + 1 if count < int(MORE) else 1


def _nav_cost(menu: Menu, lang: str, nav: str, more: bool, prev: bool) -> int:
    return sum(1 + septets(line) for line in _nav_lines(menu, lang, nav, more, prev))


def page_ranges(ch: Choices, lang: str, menu: Menu) -> list[tuple[int, int]]:
    """Where each page of `ch` starts and ends. Laid out as if a hint were shown, so
    the numbers on a page do not move when a wrong answer adds the hint."""
    key = (id(menu), ch, lang)
    known = _LAID_OUT.get(key)
    if known is not None and known[0] is menu:
        return known[1]
    ranges = _page_ranges(ch, lang, menu)
    if len(_LAID_OUT) >= _LAID_OUT_MAX:
        _LAID_OUT.clear()
    _LAID_OUT[key] = (menu, ranges)
    return ranges


def _page_ranges(ch: Choices, lang: str, menu: Menu) -> list[tuple[int, int]]:
    head = max(septets(menu.t(lang, k)) for k in _HINTS) + 1 + septets(ch.title)
    labels = [septets(label) for label in ch.labels]
    n, cap, limit = len(labels), menu.page_items, menu.max_septets

    def line(i: int, start: int) -> int:  # a newline, then "N. label"
        return 3 + len(str(first_number(n, start) + i - start)) + labels[i]

    single = head + sum(line(i, 0) for i in range(n))
    if n <= cap and single + _nav_cost(menu, lang, ch.nav, False, False) <= limit:
        return [(0, n)]
    budget = limit - head - _nav_cost(menu, lang, ch.nav, True, True)
    ranges: list[tuple[int, int]] = []
    start = 0
    while start < n:
        end, used = start + 1, line(start, start)
        while end < n and end - start < cap and used + line(end, start) <= budget:
            used += line(end, start)
            end += 1
        ranges.append((start, end))
        start = end
    return ranges or [(0, 0)]


def render_choices(ch: Choices, page: int, hint: str, lang: str, menu: Menu) -> str:
    ranges = page_ranges(ch, lang, menu)
    page = min(page, len(ranges) - 1)
    start, end = ranges[page]
    head = [menu.t(lang, hint)] if hint else []
    nav = _nav_lines(menu, lang, ch.nav, page + 1 < len(ranges), page > 0)
    options = option_lines(ch.labels[start:end], first_number(len(ch.labels), start))
    return "\n".join([*head, ch.title, *options, *nav])


def chosen(ch: Choices, ranges: Sequence[tuple[int, int]], page: int, key: str) -> int | None:
    """Index in `ch.labels` of the option `key` names on `page` of `ranges`, or None."""
    if not (key.isascii() and key.isdigit()) or len(key) > 3:
        return None
    start, end = ranges[min(page, len(ranges) - 1)]
    index = int(key) - first_number(len(ch.labels), start) + start
    # Only what this page shows: a number from another page is a wrong answer, so
    # the caller sees the hint rather than a choice she never read (CONTRACT).
    return index if start <= index < end else None
