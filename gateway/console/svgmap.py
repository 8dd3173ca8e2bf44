"""Mali's communes as SVG paths, projected once per process from the gazetteer's
commune polygons (gateway/data/gazetteer/communes.geojson).

The projection is equirectangular with longitudes scaled by cos(mean latitude), which
keeps shapes right at Mali's latitudes (10° to 25° N) without a GIS library.
Coordinates are rounded to whole units of a 1000-unit-wide drawing (about 1.5 km) and
repeated points dropped, which keeps the whole map near 250 KB.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gateway.runtime import Runtime

GEOJSON = Path(__file__).resolve().parent.parent / "data" / "gazetteer" / "communes.geojson"
WIDTH = 1000.0
PCODE_PROPERTY = "adm3_pcode_2015"

Ring = Sequence[Sequence[float]]


@dataclass(frozen=True)
class MapShapes:
    width: int
    height: int
    paths: dict[str, str]  # commune P-code → SVG path data


def _rings(geometry: dict[str, Any]) -> list[Ring]:
    if geometry["type"] == "Polygon":
        return list(geometry["coordinates"])
    if geometry["type"] == "MultiPolygon":
        return [ring for polygon in geometry["coordinates"] for ring in polygon]
    return []


def _path(rings: Iterable[Ring], x: Any, y: Any) -> str:
    parts = []
    for ring in rings:
        points: list[str] = []
        for lon, lat, *_ in ring:
            point = f"{x(lon):.0f} {y(lat):.0f}"
            if not points or points[-1] != point:
                points.append(point)
        if len(points) > 1 and points[-1] == points[0]:
            points.pop()  # Z closes the ring
        if len(points) >= 3:
            parts.append("M" + "L".join(points) + "Z")
    return "".join(parts)


def project(features: Sequence[dict[str, Any]], width: float = WIDTH) -> MapShapes:
    """Each feature's rings as one path, keyed by its commune P-code."""
    rings = {f["properties"][PCODE_PROPERTY]: _rings(f["geometry"]) for f in features}
    lons = [p[0] for rs in rings.values() for r in rs for p in r]
    lats = [p[1] for rs in rings.values() for r in rs for p in r]
    west, east, south, north = min(lons), max(lons), min(lats), max(lats)
    squeeze = math.cos(math.radians((south + north) / 2))
    scale = width / ((east - west) * squeeze)

    def x(lon: float) -> float:
        return (lon - west) * squeeze * scale

    def y(lat: float) -> float:
        return (north - lat) * scale

    paths = {pcode: _path(rs, x, y) for pcode, rs in rings.items()}
    return MapShapes(round(width), round(y(south)), paths)


def load_shapes(path: Path = GEOJSON) -> MapShapes:
    return project(json.loads(path.read_text("utf-8"))["features"])


def shapes(rt: Runtime) -> MapShapes:
    """The projected communes, built on first use and kept for the process."""
    return rt.cached("console_map_shapes", load_shapes)
