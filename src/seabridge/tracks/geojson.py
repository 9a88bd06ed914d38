"""GeoJSON (RFC 7946) features from a prepared query result: points, or one line per vessel.

Coordinates are ``[lon, lat]`` (RFC 7946 §3.1.1). A vessel track that crosses the antimeridian
is cut there into a MultiLineString (RFC 7946 §3.1.9), the cut latitude interpolated linearly
in degrees; a vessel with a single position is a Point, since a LineString needs two
(§3.1.4). The input is a table already prepared for text (ISO times, nulls), sorted by
(mmsi, ts); this module builds dictionaries only and must not read the store or write files.
"""

from __future__ import annotations

import itertools
from typing import Any, Literal

import pyarrow as pa

__all__ = ["feature_collection", "split_at_antimeridian"]

Coordinate = list[float]


def _crossing(a: Coordinate, b: Coordinate) -> tuple[Coordinate, Coordinate]:
    """The cut points (end of one part, start of the next) between ``a`` and ``b``."""
    (lon_a, lat_a), (lon_b, lat_b) = a, b
    edge = 180.0 if lon_a > 0 else -180.0
    lon_b_unwrapped = lon_b + 360.0 if lon_a > 0 else lon_b - 360.0
    fraction = (edge - lon_a) / (lon_b_unwrapped - lon_a)
    lat = lat_a + fraction * (lat_b - lat_a)
    return [edge, lat], [-edge, lat]


def split_at_antimeridian(coords: list[Coordinate]) -> list[list[Coordinate]]:
    """The parts of a line cut wherever consecutive points are more than 180 deg of lon apart."""
    parts = [[coords[0]]]
    for a, b in itertools.pairwise(coords):
        if abs(b[0] - a[0]) > 180.0:
            end, start = _crossing(a, b)
            parts[-1].append(end)
            parts.append([start])
        parts[-1].append(b)
    return parts


def _line_geometry(coords: list[Coordinate]) -> dict[str, Any]:
    if len(coords) == 1:
        return {"type": "Point", "coordinates": coords[0]}
    parts = split_at_antimeridian(coords)
    if len(parts) == 1:
        return {"type": "LineString", "coordinates": parts[0]}
    return {"type": "MultiLineString", "coordinates": parts}


def _point_features(table: pa.Table) -> list[dict[str, Any]]:
    rows = table.to_pylist()
    return [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [row["lon"], row["lat"]]},
            "properties": {k: v for k, v in row.items() if k not in ("lat", "lon")},
        }
        for row in rows
    ]


def _line_features(table: pa.Table) -> list[dict[str, Any]]:
    mmsi = table.column("mmsi").to_pylist()
    lat = table.column("lat").to_pylist()
    lon = table.column("lon").to_pylist()
    ts = table.column("ts").to_pylist() if "ts" in table.column_names else [None] * len(mmsi)
    features: list[dict[str, Any]] = []
    start = 0
    for i in range(1, len(mmsi) + 1):
        if i < len(mmsi) and mmsi[i] == mmsi[start]:
            continue
        coords = [[lon[j], lat[j]] for j in range(start, i)]
        properties = {
            "mmsi": mmsi[start],
            "start": ts[start],
            "end": ts[i - 1],
            "points": i - start,
        }
        features.append(
            {"type": "Feature", "geometry": _line_geometry(coords), "properties": properties}
        )
        start = i
    return features


def feature_collection(table: pa.Table, geometry: Literal["points", "lines"]) -> dict[str, Any]:
    """A FeatureCollection of one Point per row, or one (Multi)LineString per vessel."""
    features = _point_features(table) if geometry == "points" else _line_features(table)
    return {"type": "FeatureCollection", "features": features}
