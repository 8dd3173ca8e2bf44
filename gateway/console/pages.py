"""Small helpers shared by the console's views: rendering, messages, dates."""

from __future__ import annotations

import datetime as dt
from typing import Any, NoReturn

from flask import abort, flash, render_template
from werkzeug.exceptions import HTTPException

from gateway.console.blueprint import bp
from gateway.console.i18n import number, translate
from gateway.db import DB_UNAVAILABLE


def render(template: str, **context: Any) -> str:
    return render_template(f"console/{template}", **context)


def notify(key: str, category: str = "ok", **values: str) -> None:
    """Show the catalogue text `key` on the next page (category ok or error). With
    `values` its `{placeholders}` are filled now, in the reader's language of this
    request (the page shows a text no catalogue has as it is)."""
    flash(translate(key, **values) if values else key, category)


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
    """ "2 nov. 2026, 09:30": UTC, which is also Mali's time (no daylight saving)."""
    if value is None:
        return "—"
    at = value.astimezone(dt.UTC)
    return translate("date.when", **_parts(at.date()), time=at.strftime("%H:%M"))


@bp.app_template_filter("console_day")
def day(value: dt.datetime | dt.date | None) -> str:
    """ "2 nov. 2026"."""
    if value is None:
        return "—"
    if isinstance(value, dt.datetime):
        value = value.astimezone(dt.UTC).date()
    return translate("date.day", **_parts(value))


def _parts(value: dt.date) -> dict[str, object]:
    return {"day": value.day, "month": translate(f"month.{value.month}"), "year": value.year}


@bp.route("/<path:_rest>", methods=["GET", "POST"])
def no_such_page(_rest: str) -> NoReturn:
    """Any address under /console/ that no view has: the console's own 404 page (in the
    reader's language, behind the login like every page), not Flask's bare one."""
    abort(404)


@bp.errorhandler(400)
@bp.errorhandler(403)
@bp.errorhandler(404)
def error_page(error: HTTPException) -> tuple[str, int]:
    code = error.code or 500
    return render("error.html", code=code), code


def database_unavailable(error: Exception) -> tuple[str, int, dict[str, str]]:
    """The database cannot be reached (down, restarting, cut): 503 and a page that says
    to try again in a moment, not a 500 and a traceback in the log for each page."""
    return render("error.html", code=503), 503, {"Retry-After": "10"}


for _unavailable in DB_UNAVAILABLE:
    bp.register_error_handler(_unavailable, database_unavailable)
