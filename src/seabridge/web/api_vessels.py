"""``/api/vessels`` and ``/api/tracks``: where vessels are, and where one went (viewer).

Routes::

    GET /api/vessels?bbox=minLon,minLat,maxLon,maxLat[&t=ISO]
        -> FeatureCollection of Points, properties {mmsi, name, ship_type, party, flag,
           sog_kn, cog_deg, heading_deg, nav_status, ts}: each vessel's latest position at
           or before t (default: the newest), inside bbox (default: everywhere)
    GET /api/tracks?mmsi=N[&mmsi=M...]&start=ISO&end=ISO
        -> FeatureCollection, one LineString (MultiLineString across the antimeridian, Point
           for a single report) per MMSI, properties {mmsi, times: [ISO, ...]}; the window
           is at most MAX_TRACK_H hours (default: the last MAX_TRACK_H hours before end)

Reads go through the node's :class:`~seabridge.node.trackview.TrackView`.
"""

from __future__ import annotations

from typing import Annotated, Any, Final

from fastapi import APIRouter, Query, Request

from seabridge.errors import InputError
from seabridge.tracks.geojson import split_at_antimeridian
from seabridge.web._params import node_of, parse_bbox, parse_time, vessel_feature
from seabridge.web.auth import Viewer

__all__ = ["MAX_TRACK_H", "router"]

MAX_TRACK_H: Final = 48
MAX_VESSELS: Final = 5000
MAX_MMSI: Final = 20

router = APIRouter(prefix="/api", tags=["vessels"])


@router.get("/vessels", responses={400: {"description": "Bad bbox or time"}})
def vessels(
    principal: Viewer,
    request: Request,
    bbox: str | None = None,
    t: str | None = None,
) -> dict[str, Any]:
    """Each vessel's latest position inside ``bbox`` at or before ``t``."""
    rows = node_of(request).tracks.latest(
        bbox=parse_bbox("bbox", bbox), at_ms=parse_time("t", t), limit=MAX_VESSELS
    )
    features = [vessel_feature(row) for row in rows if row["lat"] is not None]
    return {"type": "FeatureCollection", "features": features}


@router.get("/tracks", responses={400: {"description": "Bad MMSI or time window"}})
def tracks(
    principal: Viewer,
    request: Request,
    mmsi: Annotated[list[str] | None, Query()] = None,
    start: str | None = None,
    end: str | None = None,
) -> dict[str, Any]:
    """The tracks of ``mmsi`` in ``[start, end)``."""
    mmsi = mmsi or []
    if not 0 < len(mmsi) <= MAX_MMSI:
        raise InputError(f"mmsi: give 1 to {MAX_MMSI} vessels, got {len(mmsi)}")
    if not all(m.isdigit() and 0 < len(m) <= 9 for m in mmsi):
        raise InputError(f"mmsi={','.join(mmsi)!r}: an MMSI is a number of up to nine digits")
    node = node_of(request)
    window_ms = MAX_TRACK_H * 3_600_000
    end_ms = parse_time("end", end)
    start_ms = parse_time("start", start)
    if end_ms is None:
        end_ms = start_ms + window_ms if start_ms is not None else node.clock.now_ms()
    if start_ms is None:
        start_ms = end_ms - window_ms
    if end_ms <= start_ms:
        raise InputError(f"end {end} is not after start {start}")
    if end_ms - start_ms > window_ms:
        raise InputError(f"the window start..end is longer than {MAX_TRACK_H} h; ask for less")
    features = []
    for vessel in dict.fromkeys(int(m) for m in mmsi):
        rows = node.tracks.track(vessel, start_ms, end_ms)
        coords = [[r["lon"], r["lat"]] for r in rows if r["lat"] is not None]
        if not coords:
            continue
        parts = split_at_antimeridian(coords)
        geometry: dict[str, Any] = (
            {"type": "Point", "coordinates": coords[0]}
            if len(coords) == 1
            else {"type": "LineString", "coordinates": parts[0]}
            if len(parts) == 1
            else {"type": "MultiLineString", "coordinates": parts}
        )
        times = [r["ts"] for r in rows if r["lat"] is not None]
        features.append(
            {
                "type": "Feature",
                "geometry": geometry,
                "properties": {"mmsi": vessel, "times": times},
            }
        )
    return {"type": "FeatureCollection", "features": features}
