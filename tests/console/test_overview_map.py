"""The overview and the map: rolled-up trust tables with small cells suppressed for
every role but admin, committee users limited to their area, the commune SVG map."""

from __future__ import annotations

import datetime as dt
import itertools
import re
from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import insert, select

from gateway.console.map_views import FEW, NO_DATA, OUTSIDE
from gateway.console.svgmap import project
from gateway.db import transaction
from gateway.models import AlertState, Incident, Reporter, Role, TrustRating
from gateway.runtime import Runtime
from tests.console.conftest import KAYES, MOPTI, MOPTI_CERCLE, SOCOURA, add_alert

_refs = itertools.count()
MOPTI_VALUES = [1, 1, 2, 2, 2, 1, 2]  # 7 reporters, mean 1.57
SOCOURA_VALUES = [3, 3, 4]  # 3 reporters, mean 3.33: a small cell
KAYES_VALUES = [3, 3, 3, 2, 3, 3]  # 6 reporters, mean 2.83


def add_ratings(rt: Runtime, loc: int, values: Iterable[int], at: dt.datetime) -> None:
    """One rating by a new reporter per value, all at `at`."""
    values = list(values)
    with transaction(rt.sessions) as s:
        start = next(_refs) * 1000
        s.execute(
            insert(Reporter),
            [
                {
                    "pseudonym": f"q{start + i:060d}",
                    "key_version": 1,
                    "opted_out": False,
                    "notice_sent": True,
                    "created_at": at,
                }
                for i in range(len(values))
            ],
        )
        who = list(s.scalars(select(Reporter.id).order_by(Reporter.id.desc()).limit(len(values))))
        s.execute(
            insert(TrustRating),
            [
                {
                    "reporter_id": r,
                    "locality_id": loc,
                    "question": "trust_dsf",
                    "value": v,
                    "rated_at": at,
                    "source": "import",
                    "source_ref": f"v{next(_refs)}",
                }
                for r, v in zip(who, values, strict=True)
            ],
        )


def add_incidents(
    rt: Runtime, loc: int, count: int, at: dt.datetime, kind: str = "banditry"
) -> None:
    with transaction(rt.sessions) as s:
        for _ in range(count):
            n = next(_refs)
            s.add(
                Incident(
                    ref_code=f"X{n:05d}",
                    kind=kind,
                    locality_id=loc,
                    reporter_id=None,
                    occurred="today",
                    reported_at=at,
                    source="import",
                    source_ref=f"x{n}",
                )
            )


def seed(rt: Runtime, ids: dict[str, int]) -> None:
    at = rt.now() - dt.timedelta(days=10)
    add_ratings(rt, ids[MOPTI], MOPTI_VALUES, at)
    add_ratings(rt, ids[SOCOURA], SOCOURA_VALUES, at)
    add_ratings(rt, ids[KAYES], KAYES_VALUES, at)
    add_incidents(rt, ids[MOPTI], 4, at)


def row_of(html: str, pcode: str) -> str:
    """The last table row whose first cell links to the locality `pcode`."""
    rows = re.findall(
        r'<tr>\s*<td>\s*<a href="/console/locality/' + pcode + r'">.*?</tr>', html, re.S
    )
    assert rows, pcode
    return str(rows[-1])


Client = Callable[..., Any]


def test_admin_sees_small_cells_with_their_index(
    as_role: Client, rt: Runtime, ids: dict[str, int]
) -> None:
    seed(rt, ids)
    client, _ = as_role(Role.ADMIN)
    html = client.get(f"/console/?area={MOPTI_CERCLE}").get_data(as_text=True)
    socoura = row_of(html, SOCOURA)
    assert "3,33" in socoura and "&lt; 5" not in socoura
    assert "1,57" in row_of(html, MOPTI)


def test_analyst_and_committee_see_small_cells_suppressed(
    as_role: Client, rt: Runtime, ids: dict[str, int]
) -> None:
    seed(rt, ids)
    for role in (Role.ANALYST, Role.COMMITTEE):
        client, _ = as_role(role)
        html = client.get(f"/console/?area={MOPTI_CERCLE}").get_data(as_text=True)
        socoura = row_of(html, SOCOURA)
        assert "—" in socoura and "3,33" not in html
        # Mopti's 7 are hidden as well: the cercle's 10 minus them would be Socoura.
        assert "1,57" not in html and ">7<" not in row_of(html, MOPTI)
        assert ">10<" in html and "2,10" in html  # the cercle, published


def test_overview_rolls_communes_up_to_regions_and_nation(
    as_role: Client, rt: Runtime, ids: dict[str, int]
) -> None:
    seed(rt, ids)
    client, _ = as_role(Role.ANALYST)
    html = client.get("/console/").get_data(as_text=True)
    # Mopti region: 7 + 3 reporters, mean of the ten answers.
    mopti_region = row_of(html, "ML05")
    assert ">10<" in mopti_region and "2,10" in mopti_region
    assert "Mali (national)" in html and ">16<" in html  # 7 + 3 + 6
    assert f'href="/console/?area={MOPTI_CERCLE[:4]}"' in html  # drill down to cercles


def test_committee_sees_its_area_only(as_role: Client, rt: Runtime, ids: dict[str, int]) -> None:
    seed(rt, ids)
    client, _ = as_role(Role.COMMITTEE)
    html = client.get("/console/").get_data(as_text=True)
    assert "Mopti" in html and "Kayes" not in html and "Mali (national)" not in html
    assert client.get("/console/?area=ML01").status_code == 404
    assert client.get(f"/console/?area={KAYES}").status_code == 404


def test_map_draws_a_linked_path_per_commune_with_a_legend(
    as_role: Client, rt: Runtime, ids: dict[str, int]
) -> None:
    seed(rt, ids)
    client, _ = as_role(Role.ANALYST)
    response = client.get("/console/map")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and len(response.data) < 600_000
    assert len(re.findall(r"<path d=\"[^\"]+\" fill=\"[^\"]+\" data-pcode=", html)) == 701
    mopti = re.search(
        rf'<a href="/console/locality/{MOPTI}"><path d="[^"]+" fill="([^"]+)" '
        rf'data-pcode="{MOPTI}"><title>([^<]+)</title>',
        html,
    )
    # Mopti is "few" for an analyst: its 7 would give Socoura's 3 away by subtraction.
    assert mopti and mopti.group(1) in (NO_DATA, FEW) and "1,57" not in mopti.group(2)
    kayes = re.search(rf'fill="([^"]+)" data-pcode="{KAYES}"><title>([^<]+)</title>', html)
    assert kayes and kayes.group(1) not in (NO_DATA, FEW) and "2,83" in kayes.group(2)
    assert 'id="legend"' in html and "style=" not in html
    assert not re.search(r'<script(?![^>]*src="/console/static/)', html)  # only our own files


def test_grey_tells_too_few_reporters_from_no_answer(
    as_role: Client, rt: Runtime, ids: dict[str, int]
) -> None:
    seed(rt, ids)
    client, _ = as_role(Role.ANALYST)
    html = client.get("/console/map").get_data(as_text=True)
    socoura = re.search(rf'fill="([^"]+)" data-pcode="{SOCOURA}"><title>([^<]+)<', html)
    assert socoura and socoura.group(1) == FEW and "moins de 5 répondants" in socoura.group(2)
    silent = re.search(r'fill="([^"]+)" data-pcode="ML010101"><title>([^<]+)<', html)
    assert silent and silent.group(1) == NO_DATA and "aucune donnée" in silent.group(2)
    assert FEW != NO_DATA and 'id="few"' in html  # the hatch pattern


def test_map_bins_incidents_in_whole_counts(
    as_role: Client, rt: Runtime, ids: dict[str, int]
) -> None:
    seed(rt, ids)
    client, _ = as_role(Role.ADMIN)
    html = client.get("/console/map?by=incidents").get_data(as_text=True)
    title = re.search(rf'data-pcode="{MOPTI}"><title>([^<]+)</title>', html)
    assert title and title.group(1).endswith(": 4")  # 4 incidents in the last 30 days
    assert "2 – 4" in html and "≥ 10" in html and "0,34" not in html


def test_open_alerts_get_a_marker_and_a_list_entry(
    as_role: Client, rt: Runtime, ids: dict[str, int]
) -> None:
    seed(rt, ids)
    add_alert(rt, ids[MOPTI], severity=3)
    add_alert(rt, ids[KAYES], state=AlertState.CLOSED, closed_at=rt.now())
    client, _ = as_role(Role.ANALYST)
    html = client.get("/console/map").get_data(as_text=True)
    assert re.search(rf'class="at-{MOPTI} hot sev3" data-alert-marker data-pcode="{MOPTI}"', html)
    assert f'data-alert-marker data-pcode="{KAYES}"' not in html  # closed
    aside = html[html.index('class="hot-list"') :]
    assert "Mopti" in aside and "1 alerte ouverte" in aside
    css = client.get("/console/map/places.css").get_data(as_text=True)
    place = re.search(rf"\.at-{MOPTI}{{left:([0-9.]+)%;top:([0-9.]+)%}}", css)
    assert place and 0 < float(place.group(1)) < 100 and 0 < float(place.group(2)) < 100


def test_regions_are_outlined_and_named_and_one_can_be_zoomed_into(
    as_role: Client, rt: Runtime, ids: dict[str, int]
) -> None:
    client, _ = as_role(Role.ANALYST)
    html = client.get("/console/map").get_data(as_text=True)
    assert html.count('class="region-lines"') == 1 and ">Tombouctou</a>" in html
    assert html.count('class="at-ML05 map-label') == 1
    zoomed = client.get("/console/map?region=ML05").get_data(as_text=True)
    assert len(re.findall(r'data-pcode="ML05', zoomed)) == len(
        re.findall(r'data-pcode="ML', zoomed)
    )
    assert ">Bandiagara</a>" in zoomed and 'viewBox="0.0 0.0' not in zoomed
    assert client.get("/console/map?region=ML99").status_code == 404


def test_committee_map_greys_out_other_areas(
    as_role: Client, rt: Runtime, ids: dict[str, int]
) -> None:
    seed(rt, ids)
    client, _ = as_role(Role.COMMITTEE)
    html = client.get("/console/map").get_data(as_text=True)
    assert f'href="/console/locality/{MOPTI}"' in html
    assert f'href="/console/locality/{KAYES}"' not in html
    assert re.search(rf'fill="{OUTSIDE}" data-pcode="{KAYES}"><title>[^<:]+</title>', html)
    assert "hors de votre zone" in html


def test_projection_keeps_proportions_and_rounds() -> None:
    square = {
        "properties": {"adm3_pcode_2015": "X1"},
        "geometry": {
            "type": "Polygon",
            "coordinates": [[[0, 59.5], [2, 59.5], [2, 60.5], [0, 60.5], [0, 59.5]]],
        },
    }
    drawn = project([square], width=100)
    assert drawn.width == 100 and drawn.height == 100  # 2° of longitude x cos 60° = 1° of latitude
    assert drawn.paths["X1"] == "M0 100L100 100L100 0L0 0Z"


def test_overview_opens_with_the_national_index_alerts_falls_and_regions(
    as_role: Client, rt: Runtime, ids: dict[str, int]
) -> None:
    seed(rt, ids)
    add_alert(rt, ids[MOPTI], severity=3, code="Z-7")
    client, _ = as_role(Role.ANALYST)
    html = client.get("/console/").get_data(as_text=True)
    glance = html[html.index('class="glance"') : html.index("Les tableaux")]
    assert "Indice de confiance · Mali (national)" in glance
    assert "Z-7" in glance and "Alertes ouvertes" in glance
    assert "Par région" in glance and glance.count('class="spark"') >= 10  # one per region
    assert "Quelle confiance faites-vous aux FDS" in glance  # the questionnaire, item 1


def test_every_question_has_its_result_and_small_areas_stay_hidden(
    as_role: Client, rt: Runtime, ids: dict[str, int]
) -> None:
    seed(rt, ids)
    with transaction(rt.sessions) as s:  # Socoura's 3 reporters answer question 2 too
        for r in s.scalars(select(TrustRating).where(TrustRating.locality_id == ids[SOCOURA])):
            s.add(
                TrustRating(
                    reporter_id=r.reporter_id,
                    locality_id=r.locality_id,
                    question=rt.reference.menu.questions[1].id,
                    value=1,
                    rated_at=r.rated_at,
                    source="import",
                    source_ref=f"{r.source_ref}-q2",
                )
            )
    client, _ = as_role(Role.ANALYST)
    questions = rt.reference.menu.questions
    html = client.get(f"/console/?area={MOPTI_CERCLE}").get_data(as_text=True)
    assert html.count('class="card question"') == len(questions) >= 4
    second = html.split('class="card question"')[2]
    assert "Moins de 5 répondants" in second and "100 %" not in second  # 3 people: hidden
    admin, _ = as_role(Role.ADMIN)
    shown = admin.get(f"/console/?area={MOPTI_CERCLE}").get_data(as_text=True)
    assert "100 %" in shown.split('class="card question"')[2]  # admins see small cells
