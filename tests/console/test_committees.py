"""Committees and members in the console."""

from __future__ import annotations

import re
from collections.abc import Callable

from flask.testing import FlaskClient
from sqlalchemy import func, select

from gateway.db import transaction
from gateway.models import AuditLog, Committee, CommitteeMember, ConsoleUser, Locality, Role
from gateway.runtime import Runtime
from tests.console.conftest import KAYES, MOPTI, MOPTI_CERCLE, add_committee

AsRole = Callable[[Role], tuple[FlaskClient, ConsoleUser]]


def _actions(rt: Runtime) -> list[str]:
    with rt.sessions() as session:
        return list(
            session.scalars(select(AuditLog.action).where(~AuditLog.action.startswith("login")))
        )


def test_an_admin_adds_a_committee_by_pcode_or_name(as_role: AsRole, rt: Runtime) -> None:
    client, _ = as_role(Role.ADMIN)
    client.post("/console/committees", data={"name": "CCS Mopti", "locality": "ml050109"})
    client.post("/console/committees", data={"name": "CCS Kayes", "locality": "kayes"})
    with rt.sessions() as session:
        rows = session.scalars(select(Committee).order_by(Committee.id)).all()
    assert [c.name for c in rows] == ["CCS Mopti"]  # "Kayes" names a region, cercle, commune
    page = client.get("/console/committees").get_data(as_text=True)
    assert "CCS Mopti" in page and "P-code" in page
    # The refusal names the places the name could be, so the admin can pick one.
    assert "ML01 (région)" in page and f"{KAYES} (commune)" in page and "(cercle)" in page
    assert _actions(rt) == ["committee.create"]


def test_an_unknown_locality_is_refused_with_a_message(as_role: AsRole, rt: Runtime) -> None:
    client, _ = as_role(Role.ADMIN)
    response = client.post(
        "/console/committees", data={"name": "X", "locality": "Atlantis"}, follow_redirects=True
    )
    assert "Localité introuvable" in response.get_data(as_text=True)
    with rt.sessions() as session:
        assert session.scalars(select(Committee)).all() == []


def test_an_admin_adds_a_member_stored_encrypted_and_masked(
    as_role: AsRole, rt: Runtime, ids: dict[str, int]
) -> None:
    client, _ = as_role(Role.ADMIN)
    committee_id = add_committee(rt, ids[MOPTI])
    data = {"name": "Awa Traoré", "phone": "76 12 34 56", "language": "bm"}
    client.post(f"/console/committees/{committee_id}/members", data=data)
    with rt.sessions() as session:
        member = session.scalars(select(CommitteeMember)).one()
    assert member.phone_hash == rt.pseudonyms.pseudonym("+22376123456")
    assert rt.vault.decrypt(member.phone_enc) == "+22376123456"
    assert member.phone_hint == "+223******56" and member.language == "bm"
    page = client.get("/console/committees").get_data(as_text=True)
    assert "+223******56" in page and "76123456" not in page and "76 12 34 56" not in page
    assert "<td>bambara</td>" in page  # the language by its name, not its code
    duplicate = client.post(
        f"/console/committees/{committee_id}/members", data=data, follow_redirects=True
    )
    assert "déjà membre" in duplicate.get_data(as_text=True)
    with rt.sessions() as session:
        [row] = session.scalars(select(AuditLog).where(AuditLog.action == "member.add"))
    assert "76123456" not in str(row.details)


def test_a_bad_number_is_refused(as_role: AsRole, rt: Runtime, ids: dict[str, int]) -> None:
    client, _ = as_role(Role.ADMIN)
    committee_id = add_committee(rt, ids[MOPTI])
    for phone in ("12", "+33612345678"):
        response = client.post(
            f"/console/committees/{committee_id}/members",
            data={"name": "A", "phone": phone, "language": "fr"},
            follow_redirects=True,
        )
        assert "Numéro de téléphone invalide" in response.get_data(as_text=True)


def test_an_admin_deactivates_a_member(as_role: AsRole, rt: Runtime, ids: dict[str, int]) -> None:
    client, _ = as_role(Role.ADMIN)
    committee_id = add_committee(rt, ids[MOPTI])
    data = {"name": "Awa", "phone": "+22376123456", "language": "fr"}
    client.post(f"/console/committees/{committee_id}/members", data=data)
    with rt.sessions() as session:
        member_id = session.scalars(select(CommitteeMember.id)).one()
    assert client.post(f"/console/members/{member_id}/deactivate").status_code == 302
    with rt.sessions() as session:
        member = session.get(CommitteeMember, member_id)
        assert member is not None and not member.active
    assert _actions(rt) == ["member.add", "member.deactivate"]


def test_analysts_and_committee_users_cannot_change_committees(
    as_role: AsRole, rt: Runtime, ids: dict[str, int]
) -> None:
    committee_id = add_committee(rt, ids[MOPTI])
    for role in (Role.ANALYST, Role.COMMITTEE):
        client, _ = as_role(role)
        page = client.get("/console/committees").get_data(as_text=True)
        assert "/members" not in page
        posts = {
            "/console/committees": {"name": "X", "locality": "ML050109"},
            f"/console/committees/{committee_id}/members": {"name": "A", "phone": "76123456"},
            "/console/members/1/deactivate": {},
        }
        for path, data in posts.items():
            assert client.post(path, data=data).status_code == 403, (role, path)
        client.post("/console/logout")
    with rt.sessions() as session:
        assert len(session.scalars(select(Committee)).all()) == 2  # one is the committee user's
        assert session.scalars(select(CommitteeMember)).all() == []


def test_a_committee_user_lists_the_committees_of_its_area_only(
    as_role: AsRole, rt: Runtime, ids: dict[str, int]
) -> None:
    add_committee(rt, ids[KAYES], name="CCS Kayes")
    add_committee(rt, ids[MOPTI], name="CCS Mopti commune")
    client, _ = as_role(Role.COMMITTEE)
    page = client.get("/console/committees").get_data(as_text=True)
    assert "CCS Mopti commune" in page and "CCS Kayes" not in page


def test_a_national_committee_is_added_and_committees_are_deactivated_audited(
    as_role: AsRole, rt: Runtime, ids: dict[str, int]
) -> None:
    client, _ = as_role(Role.ADMIN)
    client.post("/console/committees", data={"name": "CCS national", "locality": "ML"})
    with rt.sessions() as session:
        national = session.scalars(select(Committee)).one()
    assert national.locality_id is None
    page = client.get("/console/committees").get_data(as_text=True)
    assert "Tout le pays" in page
    client.post(f"/console/committees/{national.id}/deactivate")
    with rt.sessions() as session:
        assert session.get_one(Committee, national.id).active is False
    client.post(f"/console/committees/{national.id}/activate")
    data = {"name": "Awa", "phone": "76 12 34 56", "language": "fr"}
    client.post(f"/console/committees/{national.id}/members", data=data)
    assert _actions(rt) == [
        "committee.create",
        "committee.deactivate",
        "committee.activate",
        "member.add",
    ]


def test_a_committee_user_of_a_deactivated_committee_sees_nothing(
    as_role: AsRole, rt: Runtime, ids: dict[str, int]
) -> None:
    admin, _ = as_role(Role.ADMIN)
    committee_id = add_committee(rt, ids[MOPTI])
    admin.post(f"/console/committees/{committee_id}/deactivate")
    with rt.sessions() as session:
        assert session.get_one(Committee, committee_id).active is False
    assert _actions(rt) == ["committee.deactivate"]


def add_member(rt: Runtime, committee_id: int) -> None:
    with transaction(rt.sessions) as session:
        n = session.scalar(select(func.count()).select_from(CommitteeMember))
        session.add(
            CommitteeMember(
                committee_id=committee_id,
                name=f"M{n}",
                phone_hash=f"{n:064d}",
                phone_enc="x",
                phone_hint="+223******01",
                language="fr",
            )
        )


def _coverage(client: FlaskClient) -> str:
    html = client.get("/console/committees").get_data(as_text=True)
    return html[html.index('id="coverage"') : html.index("</section>", html.index('id="coverage"'))]


def test_the_committees_page_says_where_an_alert_would_reach_nobody(
    as_role: AsRole, rt: Runtime, ids: dict[str, int]
) -> None:
    """An admin setting up committees saw the committees, never the gaps: the communes
    whose alerts would reach nobody, or only the national committee."""
    client, _ = as_role(Role.ADMIN)
    with rt.sessions() as session:
        places = session.scalar(
            select(func.count()).select_from(Locality).where(Locality.kind.in_(["commune", "camp"]))
        )
    nobody = _coverage(client)
    assert f"Personne : {places}" in nobody and 'class="unreached"' in nobody
    national = add_committee(rt, None, name="CCS national")  # no member yet: skipped
    assert f"Personne : {places}" in _coverage(client)
    add_member(rt, national)
    add_member(rt, add_committee(rt, ids[MOPTI_CERCLE], name="CCS cercle de Mopti"))
    covered = _coverage(client)
    assert "Personne : 0" in covered and 'class="unreached"' not in covered
    with rt.sessions() as session:
        in_cercle = session.scalar(
            select(func.count())
            .select_from(Locality)
            .where(Locality.kind == "commune", Locality.pcode.like(f"{MOPTI_CERCLE}%"))
        )
    assert f"Comité du cercle : {in_cercle}" in covered
    assert f"Comité national seulement : {places - in_cercle}" in covered


def test_a_committee_without_an_active_member_says_it_gets_no_alert(
    as_role: AsRole, rt: Runtime
) -> None:
    """A walk added a committee for Ménaka and read only "Aucun membre.": nothing said
    that its area's alerts still go past it, up to the next level."""
    client, _ = as_role(Role.ADMIN)
    client.post("/console/committees", data={"name": "CCS Mopti", "locality": MOPTI})
    page = client.get("/console/committees?lang=fr").get_data(as_text=True)
    assert "ne reçoit aucune alerte" in page


def test_a_committee_says_its_area_as_people_name_it_not_its_row_id(
    as_role: AsRole, rt: Runtime, ids: dict[str, int]
) -> None:
    committee_id = add_committee(rt, ids[MOPTI], name="CCS Mopti commune")
    client, _ = as_role(Role.ADMIN)
    page = client.get("/console/committees?lang=fr").get_data(as_text=True)
    card = page[page.index("CCS Mopti commune") :]
    area = re.search(r'<p class="muted">(.*?)</p>', card)
    assert area is not None
    words = re.sub(r"<[^>]+>", " ", area.group(1)).split()
    # "Mopti" alone is a commune, a cercle or a region: each says which, as on an alert.
    assert words == ["Mopti", "commune", MOPTI, "›", "Mopti", "cercle", "›", "Mopti", "région"]
    assert f"#{committee_id}" not in page
