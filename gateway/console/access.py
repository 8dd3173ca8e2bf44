"""Who is logged in and what they may see.

admin: everything. analyst: reads everything but free text, changes nothing.
committee: only its committee's area (the committee's locality and all under it),
where it may also act on alerts.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from flask import abort, g, redirect, request, url_for
from flask import session as web_session
from sqlalchemy import Select, select
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from gateway.console.blueprint import bp
from gateway.console.i18n import language, remember_choice, translate, translate_or
from gateway.console.security import add_headers, protect_form
from gateway.gazetteer.index import gazetteer
from gateway.models import Committee, ConsoleUser, Role
from gateway.runtime import Runtime, current_runtime

F = TypeVar("F", bound=Callable[..., Any])
# Endpoints open to anyone: the login form and the stylesheet.
PUBLIC = {"console.login", "console.static"}


def runtime() -> Runtime:
    rt = current_runtime()
    return rt


def current_user() -> ConsoleUser:
    """The logged-in user (views behind the login only)."""
    user: ConsoleUser | None = g.get("user")
    if user is None:
        abort(401)
    return user


def actor(user: ConsoleUser) -> str:
    """How a user is named in audit rows and alert histories."""
    return user.email


def require(*roles: Role) -> Callable[[F], F]:
    """Refuse (403) users whose role is not among `roles`."""

    def decorate(view: F) -> F:
        @functools.wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if current_user().role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return cast(F, wrapped)

    return decorate


def area_of(
    user: ConsoleUser, session: Session | None = None, rt: Runtime | None = None
) -> set[int] | None:
    """Locality ids the user may see: None for all (admin, analyst); for a committee
    user its committee's locality and everything under it (empty when the committee
    is gone or inactive). Without `rt`, the current app's runtime."""
    if user.role != Role.COMMITTEE:
        return None
    rt = rt or runtime()
    if session is None:
        with rt.sessions() as own:
            return area_of(user, own, rt)
    committee = session.get(Committee, user.committee_id) if user.committee_id else None
    if committee is None or not committee.active:
        return set()
    if committee.locality_id is None:  # a national committee: the whole country
        return set(gazetteer(rt).pcodes)
    return with_descendants(rt, [committee.locality_id])


def with_descendants(rt: Runtime, locality_ids: Iterable[int]) -> set[int]:
    """The localities and every locality under them (cercles, communes, camps)."""
    places = gazetteer(rt)
    found = set(locality_ids)
    frontier = [places.pcodes[i] for i in found if i in places.pcodes]
    while frontier:
        pcode = frontier.pop()
        for child in places.children(pcode):
            child_id = places.ids[child.pcode]
            if child_id not in found:
                found.add(child_id)
                frontier.append(child.pcode)
    return found


def _safe_next(target: str | None) -> str | None:
    if (
        target
        and target.startswith("/console")
        and "//" not in target
        and "\\" not in target
        and target.isprintable()  # CR, LF and other controls would break the header
    ):
        return target
    return None


def safe_next(target: str | None) -> str:
    """Where to go after login: a console path only, never another site."""
    return _safe_next(target) or url_for("console.overview")


@bp.before_request
def load_user() -> Response | None:
    """Language choice, the user of the session, login gate, then CSRF on forms."""
    remember_choice()
    g.user = None
    user_id = web_session.get("uid")
    if user_id is not None:
        with runtime().sessions() as db:
            user = db.scalar(
                select(ConsoleUser).where(ConsoleUser.id == user_id, ConsoleUser.active)
            )
        if user is None or web_session.get("sv") != user.session_version:
            web_session.clear()  # deactivated, or the session was ended on the server
            user = None
        g.user = user
    if g.user is None and request.endpoint not in PUBLIC:
        return redirect(url_for("console.login", next=request.full_path.rstrip("?")))
    protect_form()
    return None


@bp.after_request
def secure_headers(response: Response) -> Response:
    return add_headers(response)


@bp.context_processor
def template_helpers() -> dict[str, Any]:
    return {
        "t": translate,
        "t_or": translate_or,
        "lang": language(),
        "user": g.get("user"),
        "Role": Role,
    }


PAGE_SIZE = 50
MAX_PAGE = 100_000  # 5 million rows: further is no page anyone reads, and its offset overflows


@dataclass(frozen=True)
class Page:
    rows: list[Any]
    number: int
    more: bool


def page_number() -> int:
    try:
        return min(MAX_PAGE, max(1, int(request.args.get("page", "1"))))
    except ValueError:
        return 1


def area_page(session: Session, query: Select[Any], locality: Any, *order: Any) -> Page:
    """The page asked for (`?page=`) of `query` in `order`, restricted to what the
    current user may see through the locality column `locality`."""
    area = area_of(current_user(), session)
    if area is not None:
        query = query.where(locality.in_(area))
    number = page_number()
    query = query.order_by(*order).offset((number - 1) * PAGE_SIZE).limit(PAGE_SIZE + 1)
    rows = list(session.scalars(query))
    return Page(rows[:PAGE_SIZE], number, len(rows) > PAGE_SIZE)
