"""The console as an admin uses it, in a real browser, on demo data."""

from __future__ import annotations

from typing import Any

from tests.e2e.conftest import log_in, shot


def test_log_in_and_see_the_navigation(page: Any) -> None:
    page.goto("/console/")
    assert "/console/login" in page.url
    shot(page, "01-login")
    log_in(page)
    assert "/console/login" not in page.url
    nav = page.locator("nav").inner_text()
    for label in ("Vue d'ensemble", "Carte", "Alertes", "Seuils", "Comités", "Messages", "Journal"):
        assert label in nav


def test_overview_map_and_a_locality_chart(page: Any) -> None:
    log_in(page)
    page.goto("/console/")
    assert "Mali (national)" in page.content() and "Mopti" in page.content()
    shot(page, "02-overview")
    page.goto("/console/map")
    assert page.locator("svg path").count() > 600  # the communes
    shot(page, "07-map")
    page.goto("/console/locality/ML050201")  # Bandiagara, whose trust fell
    page.wait_for_selector("canvas")  # uPlot drew the chart from the JSON series
    assert "Bandiagara" in page.content()
    shot(page, "08-locality")


def test_backtest_then_save_a_threshold(page: Any) -> None:
    log_in(page)
    page.goto("/console/thresholds")
    shot(page, "09-thresholds")
    form = page.locator("form[action$='/thresholds/backtest']").filter(
        has=page.locator("input[name=param][value=drop]")
    )
    form.locator("input[name=value]").fill("0.5")
    form.locator("button").click()
    page.wait_for_load_state()
    assert "/thresholds/backtest" in page.url
    shot(page, "10-backtest")
    page.locator("form[action$='/thresholds'] button[type=submit]").click()
    page.wait_for_load_state()
    shot(page, "11-threshold-saved")
    page.goto("/console/audit")
    assert "threshold" in page.content()
    shot(page, "12-audit")


def test_open_an_alert_of_the_demo_and_acknowledge_it(page: Any) -> None:
    log_in(page)
    page.goto("/console/alerts")
    shot(page, "03-alerts")
    trust_drop = page.locator("table tbody tr", has_text="Baisse de confiance").first
    assert trust_drop.count() == 1  # the demo's falling commune raised it
    trust_drop.locator("a").first.click()
    page.wait_for_load_state()
    assert "Bandiagara" in page.content()
    shot(page, "04-alert")
    page.locator("form[action$='/acknowledge'] button").click()
    page.wait_for_load_state()
    shot(page, "05-alert-acknowledged")
    assert page.locator("form[action$='/acknowledge']").count() == 0
    assert "admin-e2e@example.org" in page.content()  # the history says who


def test_the_phone_simulator_plays_a_ussd_session(page: Any) -> None:
    log_in(page)
    page.goto("/console/simulator")
    shot(page, "06-simulator")
    assert page.locator("form").count() >= 1


def test_every_page_of_the_navigation_opens(page: Any) -> None:
    log_in(page)
    page.goto("/console/")
    links = page.locator("nav a")
    targets = [links.nth(i).get_attribute("href") for i in range(links.count())]
    assert len(targets) >= 10
    for n, href in enumerate(targets):
        response = page.goto(href)
        assert response is not None and response.status == 200, href
        assert page.locator("h1").count() >= 1, href
        shot(page, f"20-nav-{n:02d}-{href.strip('/').replace('/', '-') or 'overview'}")
