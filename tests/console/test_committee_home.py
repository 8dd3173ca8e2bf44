"""A committee user lands on their area: open alerts with what to do, the last weekly
digest, the trend; and the monthly brief of the area, kept to their area."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from flask.testing import FlaskClient

from gateway.db import transaction
from gateway.models import CommitteeMember, ConsoleUser, OutboxMessage, OutboxStatus, Role
from gateway.runtime import Runtime
from tests.console.conftest import KAYES, MOPTI, SOCOURA, add_alert

AsRole = Callable[[Role], tuple[FlaskClient, ConsoleUser]]


def test_a_committee_user_lands_on_its_alerts_with_what_to_do_and_the_digest(
    as_role: AsRole, rt: Runtime, ids: dict[str, int]
) -> None:
    add_alert(rt, ids[MOPTI], code="A321", severity=3)
    add_alert(rt, ids[KAYES], code="A999")  # another area's
    client, user = as_role(Role.COMMITTEE)
    with transaction(rt.sessions) as session:
        member = CommitteeMember(
            committee_id=user.committee_id,
            name="Aminata Traoré",
            phone_hash="h" * 64,
            phone_enc="x",
            phone_hint="+223******01",
            language="fr",
        )
        session.add(member)
        session.flush()
        session.add(
            OutboxMessage(
                created_at=rt.now(),
                purpose="digest",
                recipient_hint="+223******01",
                body="Mopti cette semaine: confiance FDS 2,7/5 (-0,3), 153 personnes.",
                status=OutboxStatus.SENT,
                attempts=1,
                next_attempt_at=rt.now(),
                member_id=member.id,
            )
        )
    html = client.get("/console/").get_data(as_text=True)
    home = html[html.index('class="card home"') : html.index('class="glance"')]
    assert "Votre comité · CCS Mopti" in home
    assert "A321" in home and "Que faire" in home and "« OK A321 »" in home
    assert "A999" not in html
    assert "confiance FDS 2,7/5" in home  # the last digest, as the members got it
    assert "/console/brief" in home


def test_the_brief_covers_the_viewers_area_only(
    as_role: AsRole, rt: Runtime, ids: dict[str, int]
) -> None:
    add_alert(rt, ids[MOPTI], code="A321")
    client, _ = as_role(Role.COMMITTEE)
    brief = client.get("/console/brief").get_data(as_text=True)
    assert "Bulletin mensuel · Mopti" in brief and "A321" in brief
    css = client.get("/console/static/console/console.css").get_data(as_text=True)
    assert "console.css" in brief and "@media print" in css and "size: A4" in css
    assert client.get("/console/brief?area=ML01").status_code == 404
    analyst, _ = as_role(Role.ANALYST)
    assert "Bulletin mensuel · Mali (national)" in analyst.get("/console/brief").get_data(
        as_text=True
    )


def test_the_chair_reads_the_last_digest_in_the_consoles_language(
    as_role: AsRole, rt: Runtime
) -> None:
    """A walk showed a French chair the Bambara digest: whichever member's copy was
    queued last. The same round's copy in the reader's language is shown when a member
    got one; an older round never replaces the newest."""
    client, user = as_role(Role.COMMITTEE)
    now = rt.now()
    with transaction(rt.sessions) as session:
        for n, (lang, body, minutes_ago) in enumerate(
            [
                ("fr", "Mopti cette semaine: ancienne semaine.", 7 * 24 * 60),
                ("fr", "Mopti cette semaine: confiance FDS 2,7/5.", 2),
                ("bm", "Mopti dogokun: danaya FDS 2,7/5.", 1),
            ]
        ):
            member = CommitteeMember(
                committee_id=user.committee_id,
                name=f"M{n}",
                phone_hash=f"{n}" * 64,
                phone_enc="x",
                phone_hint=f"+223******0{n}",
                language=lang,
            )
            session.add(member)
            session.flush()
            at = now - dt.timedelta(minutes=minutes_ago)
            session.add(
                OutboxMessage(
                    created_at=at,
                    purpose="digest",
                    recipient_hint=member.phone_hint,
                    body=body,
                    status=OutboxStatus.SENT,
                    attempts=1,
                    next_attempt_at=at,
                    member_id=member.id,
                )
            )
    html = client.get("/console/").get_data(as_text=True)
    assert "confiance FDS 2,7/5" in html and "danaya" not in html and "ancienne" not in html


def test_a_communes_overview_has_no_empty_table_of_areas_below_it(
    as_role: AsRole, ids: dict[str, int]
) -> None:
    """A commune has nothing below it: the walk saw a second table, headed by nothing,
    that said only "Aucun élément"."""
    client, _ = as_role(Role.ADMIN)
    html = client.get(f"/console/?area={SOCOURA}").get_data(as_text=True)
    tables = html[html.index("Les tableaux") :]
    assert "Aucun élément" not in tables and tables.count("<table") == 1
