"""Pages say what they show: the audit log in the reader's language (each detail by a
label, with the language's own colon, languages by name), the overview's withheld mark."""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from gateway.console.i18n import load_catalogues
from gateway.models import AuditLog, Role
from gateway.runtime import Runtime
from tests.console.conftest import add_user, login
from tests.console.test_words import visible_text


def _seeded_admin(app: Flask, rt: Runtime) -> FlaskClient:
    assert app.test_cli_runner().invoke(args=["demo", "seed", "--seed", "7"]).exit_code == 0
    user = add_user(rt, Role.ADMIN, email="audit@example.org")
    client = app.test_client()
    assert login(client, user.email).status_code == 302
    return client


def test_every_detail_of_the_demo_audit_has_a_label_in_both_languages(
    app: Flask, rt: Runtime
) -> None:
    _seeded_admin(app, rt)
    with rt.sessions() as session:
        keys = {k for d in session.scalars(select(AuditLog.details)) if d for k in d}
    catalogues = load_catalogues()
    missing = {
        (lang, key)
        for lang, catalogue in catalogues.items()
        for key in keys
        if f"audit_detail.{key}" not in catalogue
    }
    assert keys and missing == set()


def test_the_english_audit_log_uses_an_english_colon_and_names_languages(
    app: Flask, rt: Runtime
) -> None:
    client = _seeded_admin(app, rt)
    client.get("/console/?lang=en")
    english = visible_text(client.get("/console/audit").get_data(as_text=True))
    assert "IP address:" in english and " : " not in english
    assert "Bambara" in english
    client.get("/console/?lang=fr")
    french = visible_text(client.get("/console/audit").get_data(as_text=True))
    assert "adresse IP\u00a0:" in french or "adresse IP :" in french
    assert "bambara" in french


def test_the_overview_help_names_the_mark_a_withheld_cell_shows(app: Flask, rt: Runtime) -> None:
    client = _seeded_admin(app, rt)
    for lang, quoted in (("en", '("—")'), ("fr", "(« — »)")):
        client.get(f"/console/?lang={lang}")
        page = client.get("/console/").get_data(as_text=True)
        assert quoted in visible_text(page), lang
        assert "< 5" not in visible_text(page), lang


def test_every_severity_of_an_alert_list_is_marked_alike() -> None:
    """Severity 3 and 2 items drop the list's number for a bar, so severity 1 must too:
    else a list reads "▌ ▌ ▌ 4. 5." on the map and the overview."""
    from pathlib import Path

    css = (
        Path(__file__).resolve().parents[2] / "gateway/console/static/console/console.css"
    ).read_text("utf-8")
    styled = set(re.findall(r"\bli\.sev(\d)\b[^{]*\{[^}]*list-style:\s*none", css))
    assert styled == {"1", "2", "3"}


def test_a_camp_among_the_regions_is_called_a_camp(app: Flask, rt: Runtime) -> None:
    """The camps sit beside the regions at the top level; a reader must not take
    Mbera for a region of Mali."""
    client = _seeded_admin(app, rt)
    client.get("/console/?lang=en")
    text = " ".join(visible_text(client.get("/console/").get_data(as_text=True)).split())
    assert text.count("Mbera refugee camp") == 2  # its card and its row
    assert "Mopti refugee camp" not in text


def test_low_trusts_probability_speaks_of_a_mean_not_of_a_count(app: Flask, rt: Runtime) -> None:
    """`alpha` is shared by rules on counts and by low trust, a test on a mean."""
    client = _seeded_admin(app, rt)
    for lang, count, mean in (("en", "count", "mean"), ("fr", "nombre", "moyenne")):
        client.get(f"/console/?lang={lang}")
        text = visible_text(client.get("/console/thresholds").get_data(as_text=True))
        low = text[text.index(t_in(lang, "rule_help.trust_low")) :]
        low = low[: low.index(t_in(lang, "param.level"))]
        assert mean in low and count not in low, lang


def t_in(lang: str, key: str) -> str:
    return load_catalogues()[lang][key]


def test_the_second_admin_threshold_is_written_as_the_reader_writes_numbers(
    app: Flask, rt: Runtime
) -> None:
    client = _seeded_admin(app, rt)
    for lang, written in (("en", "1,000 recipients"), ("fr", "1\u202f000 destinataires")):
        client.get(f"/console/?lang={lang}")
        assert written in visible_text(client.get("/console/messages").get_data(as_text=True))


def test_an_incidents_today_is_said_to_be_the_reports_day(app: Flask, rt: Runtime) -> None:
    """A report of 30 Nov saying "today" is shown on 2 Dec: the column must say that
    "today" counts from the report, not from the reader's day."""
    client = _seeded_admin(app, rt)
    for lang, header in (("en", "relative to the report"), ("fr", "par rapport au signalement")):
        client.get(f"/console/?lang={lang}")
        assert header in visible_text(client.get("/console/incidents").get_data(as_text=True))


def test_an_alert_a_member_closed_by_sms_reads_in_words_in_the_audit_log(
    app: Flask, rt: Runtime
) -> None:
    """A walk read "member:6  alert.close  state : closed  outcome : resolved" on the
    French audit log: the codes the lifecycle stores, not what happened or who."""
    from gateway.db import transaction
    from gateway.models import Alert, AlertState, CommitteeMember, Locality
    from gateway.services.alerts import lifecycle

    client = _seeded_admin(app, rt)
    with transaction(rt.sessions) as session:
        member = session.scalars(select(CommitteeMember).order_by(CommitteeMember.id)).first()
        place = session.scalars(select(Locality).where(Locality.kind == "commune")).first()
        assert member is not None and place is not None
        alert = Alert(
            code="A900",
            rule="trust_drop",
            locality_id=place.id,
            severity=1,
            state=AlertState.OPEN,
            opened_at=rt.now(),
            figures={},
            last_seen_at=rt.now(),
        )
        session.add(alert)
        session.flush()
        name, actor = member.name, f"member:{member.id}"
        lifecycle.acknowledge(session, alert.id, actor, rt.now())
        lifecycle.close(session, alert.id, actor, "false_alarm", rt.now())
    for lang, words in (("fr", ("clôturée", "fausse alerte")), ("en", ("closed", "false alarm"))):
        client.get(f"/console/?lang={lang}")
        page = client.get("/console/audit").get_data(as_text=True)
        text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))
        assert "alert.close" not in text and "alert.acknowledge" not in text, lang
        assert actor not in text and name in text, lang
        assert all(word in text for word in words), lang
        if lang == "fr":
            assert "closed" not in text and "false_alarm" not in text
