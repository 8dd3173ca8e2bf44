"""Console fixtures: the app with the console registered, places, users, alerts."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable
from typing import Any

import pytest
from argon2 import PasswordHasher
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from gateway.db import transaction
from gateway.models import Alert, AlertState, Committee, ConsoleUser, Locality, Role
from gateway.runtime import Runtime
from gateway.services.admin import auth
from gateway.services.admin.auth import create_user

PASSWORD = "correct horse battery"
# A cercle with two communes, and a commune of another region.
MOPTI_CERCLE = "ML0506"
MOPTI = "ML050109"
SOCOURA = "ML050114"
KAYES = "ML010112"
_codes = itertools.count(100)


@pytest.fixture(autouse=True)
def _fast_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Argon2id still, with small costs, so the many logins of these tests are quick."""
    cheap = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    monkeypatch.setattr(auth, "hasher", lambda: cheap)


@pytest.fixture
def ids(rt: Runtime) -> dict[str, int]:
    with rt.sessions() as session:
        rows = session.execute(
            select(Locality.pcode, Locality.id).where(
                Locality.pcode.in_([MOPTI_CERCLE, MOPTI, SOCOURA, KAYES])
            )
        ).all()
    return {pcode: id_ for pcode, id_ in rows}


def add_committee(rt: Runtime, locality_id: int, name: str = "CCS Mopti") -> int:
    with transaction(rt.sessions) as session:
        committee = Committee(name=name, locality_id=locality_id, created_at=rt.now())
        session.add(committee)
        session.flush()
        return committee.id


def add_user(
    rt: Runtime, role: Role, email: str | None = None, committee_id: int | None = None
) -> ConsoleUser:
    with transaction(rt.sessions) as session:
        return create_user(
            session, email or f"{role.value}@example.org", PASSWORD, role, rt.now(), committee_id
        )


def add_alert(rt: Runtime, locality_id: int, rule: str = "trust_low", **fields: Any) -> Alert:
    now = rt.now()
    values: dict[str, Any] = {
        "code": f"A{next(_codes)}",
        "rule": rule,
        "locality_id": locality_id,
        "severity": 2,
        "state": AlertState.OPEN,
        "opened_at": now,
        "figures": {"index": 2.1, "reporters": 7, "level": 2.5, "min_reporters": 5},
        "last_seen_at": now,
    }
    values.update(fields)
    with transaction(rt.sessions) as session:
        alert = Alert(**values)
        session.add(alert)
    return alert


def login(client: FlaskClient, email: str, password: str = PASSWORD) -> Any:
    return client.post("/console/login", data={"email": email, "password": password})


@pytest.fixture
def as_role(
    app: Flask, rt: Runtime, ids: dict[str, int]
) -> Callable[..., tuple[FlaskClient, ConsoleUser]]:
    """A logged-in client for a role; committee users belong to the Mopti cercle's."""

    def make(role: Role) -> tuple[FlaskClient, ConsoleUser]:
        committee_id = add_committee(rt, ids[MOPTI_CERCLE]) if role == Role.COMMITTEE else None
        user = add_user(rt, role, committee_id=committee_id)
        client = app.test_client()
        assert login(client, user.email).status_code == 302
        return client, user

    return make


def days(n: float) -> dt.timedelta:
    return dt.timedelta(days=n)
