"""Committees and their members. Everyone reads (committee users their own area);
admins add committees and members and deactivate members. Numbers are shown masked."""

from __future__ import annotations

from flask import abort, redirect, request, url_for
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from gateway.console.access import actor, area_of, current_user, require, runtime
from gateway.console.blueprint import bp
from gateway.console.pages import notify, render
from gateway.crypto import mask_phone
from gateway.db import transaction
from gateway.domain.text import LANGUAGES
from gateway.gazetteer.index import gazetteer
from gateway.models import Committee, CommitteeMember, Locality, Role
from gateway.phones import PhoneError, normalize_phone
from gateway.services import audit


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
    by_committee: dict[int, list[CommitteeMember]] = {c.id: [] for c in rows}
    for member in members:
        by_committee[member.committee_id].append(member)
    return render(
        "committees.html",
        committees=rows,
        members=by_committee,
        places={c.id: (places.pcodes[c.locality_id], places.name_of(c.locality_id)) for c in rows},
        languages=LANGUAGES,
    )


def find_locality(session: Session, text: str) -> Locality | str | None:
    """The locality typed as a P-code or an exact name (any case); "ambiguous" when
    several share the name."""
    text = text.strip()
    if not text:
        return None
    by_code = session.scalar(select(Locality).where(Locality.pcode == text.upper()))
    if by_code is not None:
        return by_code
    named = session.scalars(
        select(Locality).where(func.lower(Locality.name) == text.lower()).limit(2)
    ).all()
    if len(named) > 1:
        return "ambiguous"
    return named[0] if named else None


@bp.route("/committees", methods=["POST"])
@require(Role.ADMIN)
def committee_add() -> Response:
    rt = runtime()
    name = request.form.get("name", "").strip()[:120]
    with transaction(rt.sessions) as session:
        place = find_locality(session, request.form.get("locality", ""))
        if not name:
            notify("committees.error.name", "error")
        elif place == "ambiguous":
            notify("committees.error.ambiguous", "error")
        elif not isinstance(place, Locality):
            notify("committees.error.locality", "error")
        else:
            committee = Committee(name=name, locality_id=place.id, active=True, created_at=rt.now())
            session.add(committee)
            session.flush()
            details = {"name": name, "locality": place.pcode}
            who = actor(current_user())
            audit.record(
                session, who, "committee.create", f"committee:{committee.id}", details, rt.now()
            )
            notify("committees.done.create")
    return redirect(url_for("console.committees"))


@bp.route("/committees/<int:committee_id>/members", methods=["POST"])
@require(Role.ADMIN)
def member_add(committee_id: int) -> Response:
    rt = runtime()
    form = request.form
    name = form.get("name", "").strip()[:120]
    language = form.get("language", "fr")
    try:
        e164 = normalize_phone(form.get("phone", ""), rt.settings.phone_regions)
    except PhoneError:
        e164 = None
    with transaction(rt.sessions) as session:
        if session.get(Committee, committee_id) is None:
            abort(404)
        phone_hash = rt.pseudonyms.pseudonym(e164) if e164 else ""
        taken = session.scalar(
            select(CommitteeMember.id).where(
                CommitteeMember.committee_id == committee_id,
                CommitteeMember.phone_hash == phone_hash,
            )
        )
        if not name or language not in LANGUAGES:
            notify("committees.error.member", "error")
        elif e164 is None:
            notify("committees.error.phone", "error")
        elif taken is not None:
            notify("committees.error.duplicate", "error")
        else:
            member = CommitteeMember(
                committee_id=committee_id,
                name=name,
                phone_hash=phone_hash,
                phone_enc=rt.vault.encrypt(e164),
                phone_hint=mask_phone(e164),
                language=language,
                active=True,
            )
            session.add(member)
            session.flush()
            details = {"committee": committee_id, "phone": member.phone_hint}
            who = actor(current_user())
            audit.record(session, who, "member.add", f"member:{member.id}", details, rt.now())
            notify("committees.done.member")
    return redirect(url_for("console.committees"))


@bp.route("/members/<int:member_id>/deactivate", methods=["POST"])
@require(Role.ADMIN)
def member_deactivate(member_id: int) -> Response:
    rt = runtime()
    with transaction(rt.sessions) as session:
        member = session.get(CommitteeMember, member_id)
        if member is None:
            abort(404)
        if member.active:
            member.active = False
            who = actor(current_user())
            details = {"committee": member.committee_id}
            audit.record(
                session, who, "member.deactivate", f"member:{member_id}", details, rt.now()
            )
        notify("committees.done.deactivate")
    return redirect(url_for("console.committees"))
