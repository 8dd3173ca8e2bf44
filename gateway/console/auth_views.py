"""Login and logout."""

from __future__ import annotations

from flask import g, redirect, request, url_for
from flask import session as web_session
from werkzeug.wrappers import Response

from gateway.console.access import actor, current_user, runtime, safe_next
from gateway.console.blueprint import bp
from gateway.console.pages import render
from gateway.db import transaction
from gateway.services import audit
from gateway.services.admin.auth import SLOTS_CACHE, VerifySlots, authenticate, end_sessions


@bp.route("/login", methods=["GET", "POST"])
def login() -> Response | str | tuple[str, int] | tuple[str, int, dict[str, str]]:
    if request.method == "GET":
        if g.get("user") is not None:
            return redirect(safe_next(request.args.get("next")))
        return render("login.html", next=request.args.get("next", ""))
    rt = runtime()
    ip = request.remote_addr or "unknown"
    result = authenticate(
        rt.sessions,
        request.form.get("email", ""),
        request.form.get("password", ""),
        ip,
        rt.now(),
        rt.cached(SLOTS_CACHE, VerifySlots),
    )
    user_id = result.user.id if result.user is not None else None
    if result.reason == "busy":
        page = render("login.html", error="login.busy", next=request.form.get("next", ""))
        return page, 503, {"Retry-After": "5"}
    if user_id is None:
        error = "login.locked" if result.reason == "ip_limited" else "login.refused"
        return render("login.html", error=error, next=request.form.get("next", "")), 401
    lang = web_session.get("lang")
    web_session.clear()  # a fresh session at login: no fixation
    web_session.permanent = True  # expires after PERMANENT_SESSION_LIFETIME idle
    web_session["uid"] = user_id
    web_session["sv"] = result.user.session_version if result.user is not None else 0
    if lang:
        web_session["lang"] = lang
    return redirect(safe_next(request.form.get("next")))


@bp.route("/logout", methods=["POST"])
def logout() -> Response:
    user = current_user()
    rt = runtime()
    with transaction(rt.sessions) as session:
        audit.record(session, actor(user), "logout", f"user:{user.id}", None, rt.now())
        end_sessions(session, user.id)  # a copied cookie dies with this one
    web_session.clear()
    return redirect(url_for("console.login"))
