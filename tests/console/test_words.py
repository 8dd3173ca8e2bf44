"""Every page of the console, on demo data, reads in French for a French reader and in
English for an English one: no English word in the French pages, no code left raw
(snake_case names, `member:1`, True/False/None, decimal points in French)."""

from __future__ import annotations

import html as html_lib
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from gateway.db import transaction
from gateway.domain.ussd_screens import REF_ALPHABET
from gateway.models import Alert, AuditLog, Role
from gateway.runtime import Runtime
from tests.console.conftest import add_user, login

# Words that only an English page would show (checked as whole words, any case).
ENGLISH = (
    "the", "and", "with", "days", "day", "reporters", "reports", "severity", "threshold",
    "thresholds", "trust", "window", "baseline", "pending", "sent", "failed", "open",
    "closed", "notify", "system", "level", "default", "none", "true", "false", "yes",
    "no", "sd", "flag", "ratio", "periods", "week", "weeks", "alerts", "attack",
    "kidnapping", "banditry", "explosive", "threat", "other", "today", "yesterday",
    "earlier", "acknowledged", "confirmed", "resolved", "false_alarm", "escalate",
    "alert", "digest", "reply", "info", "success", "failure", "user", "login",
)  # fmt: skip
FRENCH = ("les", "des", "jours", "répondants", "seuil", "confiance", "alertes", "aucune")
RAW = (
    re.compile(r"\b[a-z]+_[a-z_]+\b"),  # a parameter or rule name
    re.compile(r"\bmember:\d+\b"),
    re.compile(r"\b(True|False|None)\b"),
    re.compile(r"\b[a-z]+\.[a-z_]+\b(?<!example\.org)"),  # an audit action
    re.compile(r"\b(user|member|committee|incident):\d+\b"),
)
DECIMAL_POINT = re.compile(r"(?<![\d.])\d+\.\d+(?![\d.])")


def visible_text(page: str) -> str:
    """What a reader sees: no scripts, styles, tags or attribute values."""
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    page = re.sub(r"<title>.*?</title>", " ", page, count=1, flags=re.S)  # the tab title
    # The audit log quotes the stored record (P-codes, rule names, ids) inside <code>.
    page = re.sub(r"<code>.*?</code>", " ", page, flags=re.S)
    return html_lib.unescape(re.sub(r"<[^>]+>", " ", page))


def pages(client: FlaskClient, rt: Runtime) -> Iterator[str]:
    with rt.sessions() as session:
        alert_ids = session.scalars(select(Alert.id).order_by(Alert.id)).all()
    yield from (
        "/console/",
        "/console/?area=ML05",
        "/console/?area=ML0501",
        "/console/map",
        "/console/map?by=incidents",
        "/console/map?region=ML05",
        "/console/alerts",
        "/console/thresholds",
        "/console/thresholds?area=ML05",
        "/console/thresholds/backtest?rule=trust_drop&param=drop&value=0.5&days=180",
        "/console/incidents",
        "/console/committees",
        "/console/messages",
        "/console/outbox",
        "/console/simulator",
        "/console/audit",
        "/console/locality/ML050201",
        "/console/locality/ML05",
        "/console/brief",
        "/console/brief?area=ML05",
    )
    yield from (f"/console/alerts/{i}" for i in alert_ids)


@pytest.fixture
def demo(app: Flask, rt: Runtime) -> FlaskClient:
    runner = app.test_cli_runner()
    assert runner.invoke(args=["demo", "seed", "--seed", "7"]).exit_code == 0
    runner.invoke(args=["alerts", "evaluate"])
    user = add_user(rt, Role.ADMIN, email="words@example.org")
    client = app.test_client()
    assert login(client, user.email).status_code == 302
    return client


# An incident's reference code (R + 5 random letters and digits, `R7SD3K`) splits
# into random "words" (`sd`): not text anyone wrote, so left out of the word checks.
REF_CODE = re.compile(rf"\bR[{REF_ALPHABET}]{{5}}\b")


def words_in(text: str) -> set[str]:
    return {w.lower() for w in re.findall(r"[A-Za-zÀ-ÿ_]+", REF_CODE.sub(" ", text))}


def test_every_page_reads_in_french_with_nothing_raw(demo: FlaskClient, rt: Runtime) -> None:
    problems = []
    for url in pages(demo, rt):
        response = demo.get(url)
        assert response.status_code == 200, url
        text = visible_text(response.get_data(as_text=True))
        english = words_in(text) & set(ENGLISH)
        if english:
            problems.append(f"{url}: English {sorted(english)}")
        for pattern in RAW:
            found = set(pattern.findall(text))
            if found:
                problems.append(f"{url}: raw {sorted(found)[:8]}")
        points = DECIMAL_POINT.findall(text)
        if points:
            problems.append(f"{url}: decimal points {points[:5]}")
    assert problems == [], "\n".join(problems)


def test_every_page_reads_in_english_when_chosen(demo: FlaskClient, rt: Runtime) -> None:
    demo.get("/console/?lang=en")
    problems = []
    for url in pages(demo, rt):
        text = visible_text(demo.get(url).get_data(as_text=True))
        french = words_in(text) & set(FRENCH)
        if french:
            problems.append(f"{url}: French {sorted(french)}")
        for pattern in RAW:
            found = set(pattern.findall(text))
            if found:
                problems.append(f"{url}: raw {sorted(found)[:8]}")
    assert problems == [], "\n".join(problems)


def test_no_template_writes_a_bare_colon_after_a_label() -> None:
    # French wants a space before the colon ("Zones en dessous :"): a label's colon is
    # `common.colon`, which is " :" in French and ":" in English.
    templates = Path(__file__).parents[2] / "gateway" / "console" / "templates"
    bare = [
        f"{path.name}:{n}"
        for path in sorted(templates.rglob("*.html"))
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if re.search(r"\) \}\}:", line)
    ]
    assert bare == []


LOCKED = "2026-11-02T09:45:00+00:00"
# The details the gateway writes on audit rows whose keys had no words of their own
# (a message sent showed "rate_per_minute : 60"), with values of the kinds stored.
AUDITED = (
    ("message.compose", {"area": "ML050109", "recipients": 6, "segments": 1, "languages": "fr,bm"}),
    ("message.submit", {"status": "approved", "recipients": 6}),
    ("message.send", {"recipients": 6, "rate_per_minute": 60}),
    ("message.cancel", {"withdrawn": 6}),
    ("message.queued", {"enqueued": 500, "recipients": 1500}),
    ("message.unreadable", {"unreadable": 1}),
    ("simulator.play", {"channel": "ussd", "phone": "+223********"}),
    ("login.failure", {"email": "a@example.org", "failures": 5, "locked_until": LOCKED}),
    ("user.set_role", {"from": "analyst", "to": "admin"}),
    ("export", {"level": "commune", "rows": 12, "suppression": True}),
)


def test_every_audited_detail_reads_in_french(app: Flask, rt: Runtime) -> None:
    with transaction(rt.sessions) as session:
        session.add_all(
            AuditLog(at=rt.now(), actor="admin@example.org", action=a, target=None, details=d)
            for a, d in AUDITED
        )
    user = add_user(rt, Role.ADMIN, email="audit-words@example.org")
    client = app.test_client()
    assert login(client, user.email).status_code == 302
    text = visible_text(client.get("/console/audit").get_data(as_text=True))
    raw = {found for pattern in RAW for found in pattern.findall(text)}
    english = words_in(text) & set(ENGLISH)
    assert (raw, english) == (set(), set())
    for key in ("approved", "analyst"):  # coded values are put in words
        assert key not in words_in(text), key
    assert LOCKED not in client.get("/console/audit").get_data(as_text=True)
    assert "2 nov. 2026, 09:45" in text
    assert "français, bambara" in text  # the languages of a message by name
