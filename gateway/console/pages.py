"""Small helpers shared by the console's views: rendering, messages, paging, dates."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import flash, render_template, request
from werkzeug.exceptions import HTTPException

from gateway.console.blueprint import bp
from gateway.console.i18n import number

PAGE_SIZE = 50


def render(template: str, **context: Any) -> str:
    return render_template(f"console/{template}", **context)


def notify(key: str, category: str = "ok") -> None:
    """Show the catalogue text `key` on the next page (category ok or error)."""
    flash(key, category)


def page_number() -> int:
    try:
        return max(1, int(request.args.get("page", "1")))
    except ValueError:
        return 1


def parse_day(raw: str | None) -> dt.date | None:
    """A date typed in a filter (YYYY-MM-DD), or None when empty or not a date."""
    try:
        return dt.date.fromisoformat(raw.strip()) if raw and raw.strip() else None
    except ValueError:
        return None


def day_start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=dt.UTC)


@bp.app_template_filter("num")
def num(value: float | int | None, digits: int = 2, sign: bool = False) -> str:
    return number(value, digits, sign)


@bp.app_template_filter("console_when")
def when(value: dt.datetime | None) -> str:
    """UTC, which is also Mali's time (no daylight saving)."""
    return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M") if value else "—"


@bp.app_template_filter("console_day")
def day(value: dt.datetime | None) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%d") if value else "—"


@bp.errorhandler(400)
@bp.errorhandler(403)
@bp.errorhandler(404)
def error_page(error: HTTPException) -> tuple[str, int]:
    code = error.code or 500
    return render("error.html", code=code), code
