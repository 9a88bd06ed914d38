"""Query-parameter parsing and node access shared by the console's API routers.

Bad input raises :class:`~seabridge.errors.InputError` naming the parameter, which the app
turns into a 400 with that message.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.requests import HTTPConnection

from seabridge.errors import InputError
from seabridge.tracks.queries import BBox, check_bbox
from seabridge.units import iso_to_ms

if TYPE_CHECKING:
    from seabridge.node.service import Node

__all__ = ["in_bbox", "node_of", "parse_bbox", "parse_time", "vessel_feature"]


def node_of(request: HTTPConnection) -> Node:
    """The running node behind the console app."""
    node: Node = request.app.state.node
    return node


def parse_time(name: str, text: str | None) -> int | None:
    """An ISO 8601 query parameter (UTC when it has no offset) as Unix ms, or None."""
    if text is None or text == "":
        return None
    try:
        return iso_to_ms(text)
    except ValueError:
        raise InputError(
            f"{name}={text!r} is not an ISO 8601 time; use e.g. 2026-05-01T12:00:00Z"
        ) from None


def parse_bbox(name: str, value: str | list[Any] | None) -> BBox | None:
    """``minLon,minLat,maxLon,maxLat`` (text, or a list of four numbers), or None."""
    if value is None:
        return None
    parts = value.split(",") if isinstance(value, str) else value
    try:
        if len(parts) != 4 or any(isinstance(p, bool) for p in parts):
            raise ValueError
        west, south, east, north = (float(p) for p in parts)
        return check_bbox((west, south, east, north))
    except (TypeError, ValueError):
        raise InputError(
            f"{name}={value!r}: give minLon,minLat,maxLon,maxLat in degrees, "
            "e.g. 123.0,25.0,124.5,26.5"
        ) from None
    except InputError as exc:
        raise InputError(f"{name}: {exc}") from None


def in_bbox(lon: float | None, lat: float | None, bbox: BBox | None) -> bool:
    """Whether (lon, lat) lies in ``bbox`` (west > east: it crosses the antimeridian)."""
    if bbox is None:
        return True
    if lon is None or lat is None:
        return False
    west, south, east, north = bbox
    inside_lon = west <= lon <= east if west <= east else (lon >= west or lon <= east)
    return inside_lon and south <= lat <= north


_VESSEL_KEYS = (
    "mmsi", "name", "ship_type", "party", "flag", "sog_kn", "cog_deg", "heading_deg",
    "nav_status", "ts",
)  # fmt: skip


def vessel_feature(row: dict[str, Any]) -> dict[str, Any]:
    """A GeoJSON Point feature of a position row (static fields None when not known)."""
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [row["lon"], row["lat"]]},
        "properties": {key: row.get(key) for key in _VESSEL_KEYS},
    }
