"""Pages still to come: one view each, so each can be swapped for the real one."""

from __future__ import annotations

from gateway.console import bp
from gateway.console.pages import render


@bp.route("/")
def overview() -> str:
    return render("coming.html", page="overview")


@bp.route("/map")
def map_view() -> str:
    return render("coming.html", page="map")


@bp.route("/thresholds")
def thresholds() -> str:
    return render("coming.html", page="thresholds")
