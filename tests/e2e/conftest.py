"""A real server and a real browser: the gateway served on a loopback port with demo
data, driven by Playwright in Debian's headless Chromium (no browser download).
Screenshots of each page go to test-artifacts/screenshots/."""

from __future__ import annotations

import os
import secrets
import shutil
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from werkzeug.serving import make_server

from gateway.db import transaction
from gateway.models import Role
from gateway.services.admin.auth import create_user

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
ADMIN = "admin-e2e@example.org"
PASSWORD = secrets.token_urlsafe(12)

pytestmark = pytest.mark.e2e


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # A conftest hook sees every collected item, not only this folder's: skip only ours.
    if not os.path.exists(CHROMIUM):
        for item in items:
            if Path(item.path).is_relative_to(Path(__file__).parent):
                item.add_marker(pytest.mark.skip(reason="Debian's chromium is not installed"))


@pytest.fixture
def served(make_app: Callable[..., Flask]) -> Iterator[str]:
    """The gateway with demo data and an admin, served on a free loopback port."""
    app = make_app(WTF_CSRF_ENABLED=True)
    runner = app.test_cli_runner()
    seeded = runner.invoke(args=["demo", "seed", "--seed", "7"])
    assert seeded.exit_code == 0, seeded.output
    evaluated = runner.invoke(args=["alerts", "evaluate"])
    assert evaluated.exit_code in (0, 2), evaluated.output  # 2: no such command yet
    rt = app.extensions["gateway"]
    with transaction(rt.sessions) as session:
        create_user(session, email=ADMIN, password=PASSWORD, role=Role.ADMIN, now=rt.now())
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Any, served: str) -> Iterator[Any]:
    context = browser.new_context(base_url=served, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    outside: list[str] = []
    page.on(
        "request",
        lambda request: (
            outside.append(request.url) if not request.url.startswith((served, "data:")) else None
        ),
    )
    yield page
    context.close()
    assert outside == [], f"the page reached outside the gateway: {outside}"


def shot(page: Any, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path), full_page=True)
    return path


def log_in(page: Any) -> None:
    page.goto("/console/login")
    page.fill("input[name=email]", ADMIN)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()
