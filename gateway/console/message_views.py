"""Information messages: admins and committee users (in their area) compose a message
to an area's subscribers, see its recipients and SMS segments before sending, and send
it; above APPROVAL_THRESHOLD recipients a second admin approves first. Analysts read."""

from __future__ import annotations

from flask import abort, redirect, request, url_for
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from gateway.console.access import actor, area_of, area_page, current_user, require, runtime
from gateway.console.blueprint import bp
from gateway.console.committee_views import find_locality
from gateway.console.i18n import translate as t
from gateway.console.pages import notify, render
from gateway.db import transaction
from gateway.domain import gsm7
from gateway.domain.text import LANGUAGES
from gateway.gazetteer.index import gazetteer
from gateway.models import Committee, ConsoleUser, InfoMessage, InfoMessageStatus, Role
from gateway.services.admin import info_messages
from gateway.services.admin.info_messages import APPROVAL_THRESHOLD, MAX_SEGMENTS, InfoMessageError

MAX_BODY = 1000


@bp.route("/messages")
def messages() -> str:
    rt = runtime()
    user = current_user()
    with rt.sessions() as session:
        order = (InfoMessage.created_at.desc(), InfoMessage.id.desc())
        page = area_page(session, select(InfoMessage), InfoMessage.locality_id, *order)
        home = _home_area(session, user)
    places = gazetteer(rt)
    return render(
        "messages.html",
        messages=page.rows,
        names={
            m.locality_id: (places.name_of(m.locality_id), places.entry(m.locality_id).kind)
            for m in page.rows
        },
        can_compose=user.role != Role.ANALYST,
        home=places.pcodes.get(home) if home else "",
        threshold=APPROVAL_THRESHOLD,
        max_segments=MAX_SEGMENTS,
        languages=[rt.settings.default_language]
        + [lang for lang in LANGUAGES if lang != rt.settings.default_language],
        page=page.number,
        more=page.more,
    )


def _home_area(session: Session, user: ConsoleUser) -> int | None:
    """A committee user's own area, the default place of their messages."""
    committee = session.get(Committee, user.committee_id) if user.committee_id else None
    return committee.locality_id if committee else None


@bp.route("/messages", methods=["POST"])
@require(Role.ADMIN, Role.COMMITTEE)
def message_compose() -> Response:
    rt = runtime()
    user = current_user()
    default = rt.settings.default_language
    # One text per language; `body` alone is the default language's (an older form).
    bodies = {lang: request.form.get(f"body_{lang}", "")[:MAX_BODY] for lang in LANGUAGES}
    if not bodies[default].strip():
        bodies[default] = request.form.get("body", "")[:MAX_BODY]
    typed = request.form.get("area", "").strip()[:120]
    with transaction(rt.sessions) as session:
        locality_id = _typed_area(session, typed) if typed else _home_area(session, user)
        area = area_of(user, session)
        if isinstance(locality_id, str):
            notify("messages.error.ambiguous", "error", codes=locality_id)
            return redirect(url_for("console.messages"))
        if locality_id is None or (area is not None and locality_id not in area):
            notify("messages.error.unknown_area", "error")
            return redirect(url_for("console.messages"))
        try:
            message = info_messages.compose(session, rt, actor(user), locality_id, bodies, rt.now())
        except InfoMessageError as exc:
            notify(f"messages.error.{exc.reason}", "error")
            return redirect(url_for("console.messages"))
        message_id = message.id
    return redirect(url_for("console.message_detail", message_id=message_id))


def _typed_area(session: Session, typed: str) -> int | str | None:
    """The area typed (P-code, or a name that resolves clearly), or, when several
    areas bear that exact name ("Mopti" is a region, a cercle and a commune), their
    P-codes and kinds to choose from, so a message does not go to the wrong one."""
    named = find_locality(session, typed)
    if isinstance(named, list):
        return ", ".join(f"{c.pcode} ({t('place_kind.' + c.kind.value)})" for c in named)
    return named.id if named is not None else gazetteer(runtime()).lookup(typed)


def visible_message(session: Session, message_id: int) -> InfoMessage:
    """The message, or 404 when it does not exist or is outside the user's area."""
    message = session.get(InfoMessage, message_id)
    area = area_of(current_user(), session)
    if message is None or (area is not None and message.locality_id not in area):
        abort(404)
    return message


@bp.route("/messages/<int:message_id>")
def message_detail(message_id: int) -> str:
    rt = runtime()
    user = current_user()
    with rt.sessions() as session:
        message = visible_message(session, message_id)
        progress = info_messages.progress(session, message_id)
        sending = message.status == InfoMessageStatus.SENDING
        fanout = info_messages.fanout(session, rt, message) if sending else None
    places = gazetteer(rt)
    plain = gsm7.to_gsm7(message.body)
    texts = message.bodies or {rt.settings.default_language: message.body}
    return render(
        "message.html",
        message=message,
        texts=[
            (lang, str(text), gsm7.is_gsm7(str(text)), gsm7.segments(str(text)))
            for lang, text in texts.items()
        ],
        chain=[
            (places.pcodes[i], places.name_of(i), places.entry(i).kind)
            for i in places.chain(message.locality_id)
        ],
        gsm=gsm7.is_gsm7(message.body),
        plain_segments=gsm7.segments(plain),
        characters=len(message.body),
        progress=progress,
        fanout=fanout,
        Status=InfoMessageStatus,
        cancellable=info_messages.cancellable(message, progress),
        can_act=user.role != Role.ANALYST,
        can_approve=user.role == Role.ADMIN and actor(user) != message.created_by,
        threshold=APPROVAL_THRESHOLD,
    )


def _step(message_id: int, action: str) -> Response:
    """Cancel, or submit/approve then send when the message may go: a small area at
    once, a large one marked sending for the clock to queue in batches."""
    rt = runtime()
    who, now = actor(current_user()), rt.now()
    values: dict[str, str] = {}
    try:
        with transaction(rt.sessions) as session:
            visible_message(session, message_id)
            if action == "cancel":
                withdrawn = info_messages.cancel(session, message_id, who, now)
                done = "messages.done.cancel_withdrawn" if withdrawn else "messages.done.cancel"
                values = {"n": str(withdrawn)} if withdrawn else {}
            else:
                if action == "approve":
                    message = info_messages.approve(session, message_id, who, now)
                else:
                    message = info_messages.submit(session, rt, message_id, who, now)
                done = "messages.done.awaiting"
                if message.status == InfoMessageStatus.APPROVED:
                    info_messages.send(session, rt, message_id, now, user_actor=who)
                    done = _sent_notice(message)
    except InfoMessageError as exc:
        notify(f"messages.error.{exc.reason}", "error")
    else:
        notify(done, **values)
    return redirect(url_for("console.message_detail", message_id=message_id))


def _sent_notice(message: InfoMessage) -> str:
    """Sent at once (a small area), or being sent by the clock."""
    if message.status == InfoMessageStatus.SENT:
        return "messages.done.sent"
    return "messages.done.sending"


@bp.route("/messages/<int:message_id>/send", methods=["POST"])
@require(Role.ADMIN, Role.COMMITTEE)
def message_send(message_id: int) -> Response:
    return _step(message_id, action="send")


@bp.route("/messages/<int:message_id>/approve", methods=["POST"])
@require(Role.ADMIN)
def message_approve(message_id: int) -> Response:
    return _step(message_id, action="approve")


@bp.route("/messages/<int:message_id>/cancel", methods=["POST"])
@require(Role.ADMIN, Role.COMMITTEE)
def message_cancel(message_id: int) -> Response:
    return _step(message_id, action="cancel")
