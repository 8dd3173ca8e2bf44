"""Committees and their members. Everyone reads (committee users their own area);
admins add committees (`ML`: a national committee) and members, and deactivate
or reactivate them, through the same service as the CLI (which audits each change).
Numbers are shown masked."""

from __future__ import annotations

from collections.abc import Mapping

from flask import abort, redirect, request, url_for
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from gateway.console.access import actor, area_of, current_user, require, runtime
from gateway.console.blueprint import bp
from gateway.console.i18n import translate as t
from gateway.console.pages import notify, render
from gateway.db import transaction
from gateway.domain.text import LANGUAGES
from gateway.gazetteer.index import Gazetteer, gazetteer
from gateway.models import Committee, CommitteeMember, Locality, Role
from gateway.services.admin.committees import (
    NATIONAL_CODE,
    CommitteeError,
    add_committee,
    add_member,
    deactivate_member,
    set_committee_active,
)
from gateway.services.alerts.recipients import NATIONAL, coverage

MEMBER_ERRORS = {"phone": "committees.error.phone", "duplicate": "committees.error.duplicate"}


@bp.route("/committees")
def committees() -> str:
    rt = runtime()
    with rt.sessions() as session:
        query = select(Committee).order_by(Committee.name, Committee.id)
        area = area_of(current_user(), session)
        if area is not None:
            query = query.where(Committee.locality_id.in_(area))
        rows = session.scalars(query).all()
        members = session.scalars(
            select(CommitteeMember)
            .where(CommitteeMember.committee_id.in_([c.id for c in rows]))
            .order_by(CommitteeMember.name, CommitteeMember.id)
        ).all()
        places = gazetteer(rt)
        reach = coverage(session, places) if area is None else None
    by_committee: dict[int, list[CommitteeMember]] = {c.id: [] for c in rows}
    for member in members:
        by_committee[member.committee_id].append(member)
    return render(
        "committees.html",
        committees=rows,
        members=by_committee,
        places={c.id: _place(places, c.locality_id) for c in rows},
        languages=LANGUAGES,
        coverage=None if reach is None else coverage_rows(places, reach),
    )


MAX_CANDIDATES = 6  # places named in the refusal of a name several share
COVERAGE_LEVELS = ("commune", "camp", "cercle", "region", NATIONAL, None)
UNREACHED_SHOWN = 12  # names listed of the places an alert would reach nobody from


def coverage_rows(places: Gazetteer, reach: Mapping[str | None, list[int]]) -> dict[str, object]:
    """How many communes and camps each level covers, and the first places whose
    alerts would reach nobody."""
    nobody = sorted(places.name_of(loc) for loc in reach.get(None, []))
    return {
        "counts": [(level or "nobody", len(reach.get(level, []))) for level in COVERAGE_LEVELS],
        "nobody": nobody[:UNREACHED_SHOWN],
        "more": max(0, len(nobody) - UNREACHED_SHOWN),
    }


def _place(places: Gazetteer, locality_id: int | None) -> list[tuple[str, str, str | None]]:
    """A committee's area as its alert page names one: (name, kind, P-code) of the
    area and of each place above it, the P-code on the area only; the country's
    code and no kind for a national committee."""
    if locality_id is None:
        return [(t("committees.national"), "", NATIONAL_CODE)]
    return [
        (
            places.name_of(i),
            t(f"place_kind.{places.entry(i).kind}"),
            None if n else places.pcodes[i],
        )
        for n, i in enumerate(places.chain(locality_id))
    ]


def find_locality(session: Session, text: str) -> Locality | list[Locality] | None:
    """The locality typed as a P-code or an exact name (any case); the candidates (a
    few, by P-code) when several share the name."""
    text = text.strip()
    if not text:
        return None
    by_code = session.scalar(select(Locality).where(Locality.pcode == text.upper()))
    if by_code is not None:
        return by_code
    named = session.scalars(
        select(Locality)
        .where(func.lower(Locality.name) == text.lower())
        .order_by(Locality.pcode)
        .limit(MAX_CANDIDATES)
    ).all()
    if len(named) > 1:
        return list(named)
    return named[0] if named else None


@bp.route("/committees", methods=["POST"])
@require(Role.ADMIN)
def committee_add() -> Response:
    rt = runtime()
    name = request.form.get("name", "").strip()[:120]
    typed = request.form.get("locality", "").strip()
    with transaction(rt.sessions) as session:
        place = NATIONAL_CODE if typed.upper() == NATIONAL_CODE else find_locality(session, typed)
        codes = ""  # the candidates, when several places bear the name
        if isinstance(place, list):
            codes = ", ".join(f"{c.pcode} ({t('place_kind.' + c.kind.value)})" for c in place)
            place = None
        pcode = place.pcode if isinstance(place, Locality) else place
        if not name:
            notify("committees.error.name", "error")
        elif codes:
            notify("committees.error.ambiguous", "error", codes=codes)
        elif pcode is None:
            notify("committees.error.locality", "error")
        else:
            try:
                add_committee(session, gazetteer(rt), pcode, name, rt.now(), who())
            except CommitteeError as exc:
                notify(f"committees.error.{exc.reason}", "error")
            else:
                notify("committees.done.create")
    return redirect(url_for("console.committees"))


@bp.route("/committees/<int:committee_id>/<any(activate, deactivate):change>", methods=["POST"])
@require(Role.ADMIN)
def committee_active(committee_id: int, change: str) -> Response:
    rt = runtime()
    with transaction(rt.sessions) as session:
        if session.get(Committee, committee_id) is None:
            abort(404)
        active = change == "activate"
        set_committee_active(session, str(committee_id), active, rt.now(), who())
        notify(f"committees.done.{change}_committee")
    return redirect(url_for("console.committees"))


@bp.route("/committees/<int:committee_id>/members", methods=["POST"])
@require(Role.ADMIN)
def member_add(committee_id: int) -> Response:
    rt = runtime()
    form = request.form
    with transaction(rt.sessions) as session:
        if session.get(Committee, committee_id) is None:
            abort(404)
        try:
            add_member(
                session,
                rt,
                str(committee_id),
                form.get("phone", ""),
                form.get("name", "")[:120],
                form.get("language", "fr"),
                who(),
            )
        except CommitteeError as exc:
            notify(MEMBER_ERRORS.get(exc.reason, "committees.error.member"), "error")
        else:
            notify("committees.done.member")
    return redirect(url_for("console.committees"))


@bp.route("/members/<int:member_id>/deactivate", methods=["POST"])
@require(Role.ADMIN)
def member_deactivate(member_id: int) -> Response:
    rt = runtime()
    with transaction(rt.sessions) as session:
        if session.get(CommitteeMember, member_id) is None:
            abort(404)
        deactivate_member(session, member_id, rt.now(), who())
        notify("committees.done.deactivate")
    return redirect(url_for("console.committees"))


def who() -> str:
    return actor(current_user())
