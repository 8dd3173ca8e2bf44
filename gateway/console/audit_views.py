"""The audit log, read only, for admins."""

from __future__ import annotations

from gateway.console.access import PAGE_SIZE, page_number, require, runtime
from gateway.console.blueprint import bp
from gateway.console.pages import render
from gateway.console.wording import member_names
from gateway.models import Role
from gateway.services import audit


@bp.route("/audit")
@require(Role.ADMIN)
def audit_log() -> str:
    with runtime().sessions() as session:
        rows, pages = audit.page(session, page_number(), PAGE_SIZE)
        members = member_names(session, (row.actor for row in rows))
    return render(
        "audit.html", rows=rows, members=members, page=min(page_number(), pages), pages=pages
    )
