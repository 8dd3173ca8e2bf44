"""Mali's communes as SVG paths, projected once per process from the gazetteer's
commune polygons (gateway/data/gazetteer/communes.geojson), with the outlines of any
grouping of communes (cercles, regions) and where to put a label or a marker.

The projection is equirectangular with longitudes scaled by cos(mean latitude), which
keeps shapes right at Mali's latitudes (10° to 25° N) without a GIS library.
Coordinates are rounded to whole units of a 1000-unit-wide drawing (about 1.5 km) and
repeated points dropped, which keeps the whole map near 250 KB.

An outline is the set of commune edges that only one commune of the group has: the
communes share their borders point for point, so inner edges come in pairs and cancel.
"""

from __future__ import annotations

import itertools
import json
import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gateway.runtime import Runtime

GEOJSON = Path(__file__).resolve().parent.parent / "data" / "gazetteer" / "communes.geojson"
WIDTH = 1000.0
PCODE_PROPERTY = "adm3_pcode_2015"
# Open outline pieces shorter than this (drawing units) are slivers where two
# neighbouring communes' borders do not meet point for point, not real borders.
MIN_LINE = 25.0

Ring = Sequence[Sequence[float]]
Point = tuple[int, int]
Box = tuple[int, int, int, int]  # west, north, east, south in drawing units


@dataclass(frozen=True)
class MapShapes:
    width: int
    height: int
    paths: dict[str, str]  # commune P-code → SVG path data
    rings: dict[str, list[list[Point]]]  # commune P-code → its rings, projected


def _rings(geometry: dict[str, Any]) -> list[Ring]:
    if geometry["type"] == "Polygon":
        return list(geometry["coordinates"])
    if geometry["type"] == "MultiPolygon":
        return [ring for polygon in geometry["coordinates"] for ring in polygon]
    return []


def _projected(rings: Iterable[Ring], x: Any, y: Any) -> list[list[Point]]:
    out = []
    for ring in rings:
        points: list[Point] = []
        for lon, lat, *_ in ring:
            point = (round(x(lon)), round(y(lat)))
            if not points or points[-1] != point:
                points.append(point)
        if len(points) > 1 and points[-1] == points[0]:
            points.pop()  # Z closes the ring
        if len(points) >= 3:
            out.append(points)
    return out


def _path(rings: Iterable[list[Point]]) -> str:
    return "".join("M" + "L".join(f"{a} {b}" for a, b in ring) + "Z" for ring in rings)


def project(features: Sequence[dict[str, Any]], width: float = WIDTH) -> MapShapes:
    """Each feature's rings as one path, keyed by its commune P-code."""
    raw = {f["properties"][PCODE_PROPERTY]: _rings(f["geometry"]) for f in features}
    lons = [p[0] for rs in raw.values() for r in rs for p in r]
    lats = [p[1] for rs in raw.values() for r in rs for p in r]
    west, east, south, north = min(lons), max(lons), min(lats), max(lats)
    squeeze = math.cos(math.radians((south + north) / 2))
    scale = width / ((east - west) * squeeze)

    def x(lon: float) -> float:
        return (lon - west) * squeeze * scale

    def y(lat: float) -> float:
        return (north - lat) * scale

    rings = {pcode: _projected(rs, x, y) for pcode, rs in raw.items()}
    paths = {pcode: _path(rs) for pcode, rs in rings.items()}
    return MapShapes(round(width), round(y(south)), paths, rings)


def load_shapes(path: Path = GEOJSON) -> MapShapes:
    return project(json.loads(path.read_text("utf-8"))["features"])


def shapes(rt: Runtime) -> MapShapes:
    """The projected communes, built on first use and kept for the process."""
    return rt.cached("console_map_shapes", load_shapes)


def _edge(a: Point, b: Point) -> tuple[Point, Point]:
    return (a, b) if a <= b else (b, a)


def _chains(edges: Iterable[tuple[Point, Point]]) -> str:
    """Edges joined into as few polylines as a greedy walk finds, as path data."""
    around: dict[Point, list[Point]] = defaultdict(list)
    for a, b in edges:
        around[a].append(b)
        around[b].append(a)
    parts = []
    for start in sorted(around):
        while around[start]:
            line, here = [start], start
            while around[here]:
                nxt = around[here].pop()
                around[nxt].remove(here)
                line.append(nxt)
                here = nxt
            length = sum(math.dist(p, q) for p, q in itertools.pairwise(line))
            if length >= MIN_LINE or line[0] == line[-1]:
                parts.append("M" + "L".join(f"{a} {b}" for a, b in line))
    return "".join(parts)


def outlines(drawn: MapShapes, group_of: Mapping[str, str]) -> dict[str, str]:
    """Each group's outline as path data: the edges of its communes that no other
    commune of the same group shares."""
    counts: dict[str, Counter[tuple[Point, Point]]] = defaultdict(Counter)
    for pcode, rings in drawn.rings.items():
        group = group_of.get(pcode)
        if group is None:
            continue
        for ring in rings:
            for a, b in zip(ring, ring[1:] + ring[:1], strict=True):
                counts[group][_edge(a, b)] += 1
    return {g: _chains(e for e, n in c.items() if n == 1) for g, c in counts.items()}


def _area_centre(ring: Sequence[Point]) -> tuple[float, float, float]:
    """(area, x, y) of a ring's centroid by the shoelace formula."""
    area = cx = cy = 0.0
    for (x0, y0), (x1, y1) in zip(ring, [*ring[1:], ring[0]], strict=True):
        cross = x0 * y1 - x1 * y0
        area += cross
        cx += (x0 + x1) * cross
        cy += (y0 + y1) * cross
    if abs(area) < 1e-9:
        xs, ys = [p[0] for p in ring], [p[1] for p in ring]
        return 0.0, sum(xs) / len(xs), sum(ys) / len(ys)
    return abs(area) / 2, cx / (3 * area), cy / (3 * area)


def centre(drawn: MapShapes, pcodes: Iterable[str]) -> tuple[float, float] | None:
    """The area-weighted centroid of some communes (where a label or marker goes)."""
    total = sx = sy = 0.0
    fallback: list[tuple[float, float]] = []
    for pcode in pcodes:
        for ring in drawn.rings.get(pcode, []):
            area, x, y = _area_centre(ring)
            total, sx, sy = total + area, sx + area * x, sy + area * y
            fallback.append((x, y))
    if total > 0:
        return sx / total, sy / total
    if fallback:
        return sum(p[0] for p in fallback) / len(fallback), sum(p[1] for p in fallback) / len(
            fallback
        )
    return None


def bounds(drawn: MapShapes, pcodes: Iterable[str]) -> Box | None:
    points = [p for pcode in pcodes for ring in drawn.rings.get(pcode, []) for p in ring]
    if not points:
        return None
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    return min(xs), min(ys), max(xs), max(ys)
