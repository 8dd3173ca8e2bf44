"""The locality chart's alert labels, drawn by locality_chart.js in a real browser from
a series written here (no server): alerts of the same day must all be readable."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

STATIC = Path(__file__).resolve().parents[2] / "gateway" / "console" / "static" / "console"
DAY = 86400
END = 1_764_806_400  # 2025-12-04


def chart_page(browser: Any, alerts: list[dict[str, object]]) -> Any:
    points = [
        {"t": END - DAY * 30 * i, "index": 3.2, "low": 2.9, "high": 3.5, "n": 12}
        for i in range(11, -1, -1)
    ]
    series = json.dumps({"points": points, "level": 2.5, "alerts": alerts})
    vendor = STATIC / "vendor" / "uplot"
    html = f"""<!doctype html><html lang="fr"><head><meta charset="utf-8">
<style>{(vendor / "uPlot.min.css").read_text()}</style></head><body>
<div id="chart" data-lang="fr" style="width:900px"></div>
<script type="application/json" id="series">{series}</script>
<script>{(vendor / "uPlot.iife.min.js").read_text()}</script>
<script>{(STATIC / "locality_chart.js").read_text()}</script></body></html>"""
    page = browser.new_page(viewport={"width": 1000, "height": 500})
    page.set_content(html)
    page.wait_for_selector("canvas")
    return page


def overlap(a: dict[str, float], b: dict[str, float]) -> bool:
    return (
        a["left"] < b["right"]
        and b["left"] < a["right"]
        and a["top"] < b["bottom"]
        and (b["top"] < a["bottom"])
    )


def test_alert_labels_of_the_same_day_are_stacked_not_overlapping(browser: Any) -> None:
    """ "A104" and "A106", opened the same day, were drawn on top of each other."""
    day = END - DAY * 40
    alerts = [
        {"t": day, "code": "A104", "severity": 2},
        {"t": day + 3600, "code": "A106", "severity": 3},
        {"t": day + DAY, "code": "A107", "severity": 1},  # a pixel or two further
        {"t": END - DAY * 200, "code": "A90", "severity": 1},  # far away: first row
    ]
    page = chart_page(browser, alerts)
    boxes = page.evaluate("document.getElementById('chart').markLabels")
    shots = os.environ.get("CHART_SHOTS")
    if shots:
        Path(shots).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(shots) / "locality-chart-labels.png"))
    page.close()
    assert sorted(b["code"] for b in boxes) == ["A104", "A106", "A107", "A90"]
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            assert not overlap(a, b), (a, b)
    rows = {b["code"]: b["top"] for b in boxes}
    assert rows["A90"] == min(rows.values())  # alone, it stays where labels always were
