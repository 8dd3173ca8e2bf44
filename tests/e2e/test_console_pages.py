"""Every page of the console in a real browser on demo data: in French, in English and
on a 390 px phone (screenshots in test-artifacts/screenshots/pages/), none wider than
the phone, the demo's hotspot visible on the map, the monthly brief one A4 page."""

from __future__ import annotations

import re
from typing import Any

from tests.e2e.conftest import ARTIFACTS, log_in, shot

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
HOTSPOT = "ML050201"  # Bandiagara, whose trust fell: the demo's alerting commune
MIN_MARKER_PX = 16
PAGES = (
    ("overview", "/console/"),
    ("overview-mopti", "/console/?area=ML05"),
    ("map", "/console/map"),
    ("map-incidents", "/console/map?by=incidents"),
    ("map-mopti", "/console/map?region=ML05"),
    ("alerts", "/console/alerts"),
    ("alert", "/console/alerts/{alert}"),
    ("brief", "/console/brief?area=ML05"),
    ("thresholds", "/console/thresholds"),
    ("backtest", "/console/thresholds/backtest?rule=trust_drop&param=drop&value=0.5&days=180"),
    ("incidents", "/console/incidents"),
    ("committees", "/console/committees"),
    ("messages", "/console/messages"),
    ("outbox", "/console/outbox"),
    ("simulator", "/console/simulator"),
    ("audit", "/console/audit"),
    ("unparsed", "/console/unparsed"),
    ("locality", f"/console/locality/{HOTSPOT}"),
)

# A cell that spans its row ("Aucun élément.") stacked on a phone: with a column's
# heading before it, it read "# : Aucun élément.".
LABELLED_SPANS = """() => Array.from(document.querySelectorAll("td[data-label]"))
  .filter((td) => td.colSpan > 1).map((td) => td.dataset.label + " : " + td.textContent.trim())"""


# The one-word texts of table cells laid out on more than one line: a word cut in two
# ("Vale / ur", "déf / aut" on the thresholds page, seen on a 1280 px screen).
BROKEN_WORDS = """() => {
  const cut = [];
  for (const cell of document.querySelectorAll("th, td")) {
    const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const word = node.textContent.trim();
      if (!word || /\\s/.test(word)) continue;
      const range = document.createRange();
      range.selectNodeContents(node);
      if (range.getClientRects().length > 1) cut.push(word);
    }
  }
  return cut;
}"""


def first_alert(page: Any) -> str:
    page.goto("/console/alerts")
    href = page.locator("table tbody tr a").first.get_attribute("href")
    assert href is not None
    return href.rsplit("/", 1)[-1]


def test_every_page_in_french_in_english_and_on_a_phone(page: Any) -> None:
    log_in(page)
    alert = first_alert(page)
    too_wide: list[str] = []
    broken: list[str] = []
    labelled: list[str] = []
    for lang in ("fr", "en"):
        page.goto(f"/console/?lang={lang}")
        for name, url in PAGES:
            url = url.format(alert=alert)
            page.set_viewport_size(DESKTOP)
            response = page.goto(url)
            assert response is not None and response.status == 200, url
            assert page.locator("html").get_attribute("lang") == lang
            broken.extend(f"{url}: {word}" for word in page.evaluate(BROKEN_WORDS))
            shot(page, f"pages/{lang}-{name}")
            if lang == "fr":
                page.set_viewport_size(PHONE)
                page.goto(url)
                width = page.evaluate("document.documentElement.scrollWidth")
                if width > PHONE["width"]:
                    too_wide.append(f"{url}: {width}px")
                labelled.extend(f"{url}: {text}" for text in page.evaluate(LABELLED_SPANS))
                shot(page, f"pages/phone-{name}")
    assert too_wide == []
    assert labelled == []
    assert broken == [], sorted(set(broken))
    for name, url, viewport in (  # the README's three pictures: one screen each
        ("overview", "/console/?lang=fr", DESKTOP),
        ("map", "/console/map", DESKTOP),
        ("phone-alert", f"/console/alerts/{alert}", PHONE),
    ):
        page.set_viewport_size(viewport)
        page.goto(url)
        page.screenshot(path=str(ARTIFACTS / f"readme-{name}.png"), full_page=False)


def test_the_hotspot_commune_is_visible_on_the_map(page: Any) -> None:
    log_in(page)
    for viewport in (DESKTOP, PHONE):
        page.set_viewport_size(viewport)
        page.goto("/console/map")
        marker = page.locator(f"[data-alert-marker][data-pcode={HOTSPOT}]")
        assert marker.count() == 1
        box = marker.bounding_box()
        assert box is not None and box["width"] >= MIN_MARKER_PX and box["height"] >= MIN_MARKER_PX
        drawing = page.locator("#mali-map").bounding_box()
        assert drawing is not None  # the marker sits on the drawing, not beside it
        assert drawing["x"] <= box["x"] <= drawing["x"] + drawing["width"]
        assert drawing["y"] <= box["y"] <= drawing["y"] + drawing["height"]
        assert "Bandiagara" in page.locator(".hot-list").inner_text()


def test_the_monthly_brief_prints_on_one_a4_page(page: Any) -> None:
    log_in(page)
    page.goto("/console/brief?area=ML05")
    page.emulate_media(media="print")
    pdf = page.pdf(format="A4", print_background=True, prefer_css_page_size=True)
    pages = len(re.findall(rb"/Type\s*/Page(?!s)", pdf))
    assert pages == 1, f"the brief printed on {pages} pages"
    (ARTIFACTS / "pages").mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "pages" / "brief.pdf").write_bytes(pdf)
