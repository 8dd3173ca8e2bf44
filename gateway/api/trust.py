"""GET /api/v1/trust?level=national|region|cercle|commune: the overview's aggregates as
JSON, small cells suppressed unless the token is an admin's. Attached to the API
blueprint by `register_trust(bp)` (the API's token check runs before it)."""

from __future__ import annotations

from flask import Blueprint, g, request
from flask.typing import ResponseReturnValue

from gateway.api.errors import ApiError
from gateway.models import Role
from gateway.runtime import current_runtime
from gateway.services.figures.tables import CURRENT, K_MIN, LEVELS, PREVIOUS, level_records


def trust() -> ResponseReturnValue:
    level = request.args.get("level", "region")
    if level not in LEVELS:
        raise ApiError(400, "level must be one of: " + ", ".join(LEVELS))
    rt = current_runtime()
    show_small = g.get("api_role") == Role.ADMIN
    now = rt.now()
    with rt.sessions() as session:
        records = level_records(session, rt, level, show_small=show_small, area=None)
    return {
        "level": level,
        "as_of": now.isoformat(),
        "window_days": CURRENT.days,
        "trend_baseline_days": PREVIOUS.days,
        "k": K_MIN,
        "suppressed_below_k": not show_small,
        "areas": records,
    }


def register_trust(bp: Blueprint) -> None:
    """Attach GET /trust to the API blueprint `bp` (before it is registered)."""
    bp.add_url_rule("/trust", endpoint="trust", view_func=trust, methods=["GET"])


def _attach() -> None:
    from gateway.api.blueprint import bp

    register_trust(bp)


_attach()  # once, when the module is first imported (as views.py does with its routes)
