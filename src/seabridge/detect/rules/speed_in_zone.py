"""speed_in_zone: a vessel faster than a limit inside a zone, or heading into it.

The zones are the rulebook entry's applicability ``zones`` (e.g. a platform's safety zone;
see :mod:`.zone_entry` for why they are not a parameter and :attr:`SpeedInZone.ZONE_AWARE`);
each (vessel, zone) is its own situation, key ``(mmsi, zone_id)``.

At every tick, a vessel with a fresh fix (``max_age``) and a reported SOG *above*
``min_speed`` (strictly) is in the situation when its fix is inside the zone, or when it is
outside and its course line enters the zone within ``approach`` of it: the straight segment
from the fix along its COG, ``approach`` long, intersects the zone (a vessel passing the
zone by, or heading away, is not). Segments are drawn in degrees on the fix's local plane;
over a few nautical miles they depart from the rhumb line by metres.

Finding at the fix: ``speed_kn``, ``distance_m`` along the course to the zone's edge (0
inside) and ``time_to_zone_s`` at the reported speed (0 inside); ``started_ms`` is the first
fix of the unbroken stretch of ticks in the situation. There is no dwell: the engine's
hysteresis keeps an event open through a tick or two below the limit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np
import shapely

from seabridge.detect.model import Finding, ParamSpec, VesselFrame
from seabridge.detect.rule import Rule, RuleContext, register
from seabridge.detect.rules._common import F64, frame_rows, inside, offset, rule_zones
from seabridge.units import M_PER_NM, MPS_PER_KN

__all__ = ["SpeedInZone"]

_M_PER_DEG_LAT = 110_574.0  # the smallest length of a degree of latitude (at the equator)


@register
class SpeedInZone(Rule):
    """Vessels above ``min_speed`` inside a zone or on a course into it within ``approach``."""

    kind: ClassVar[str] = "speed_in_zone"
    ZONE_AWARE: ClassVar[bool] = True
    SUMMARY: ClassVar[str] = (
        "A vessel faster than min_speed inside one of the entry's zones, or outside it on a "
        "course that enters it within the approach distance."
    )
    PARAMS: ClassVar[tuple[ParamSpec, ...]] = (
        ParamSpec(
            "min_speed", "kn", 15.0, 1.0, 60.0,
            "Faster than this (strictly). Seabridge default, issue 5's example for a "
            "platform safety zone: 15 kn.",
        ),
        ParamSpec(
            "approach", "nm", 2.0, 0.0, 20.0,
            "Outside the zone, a vessel whose course line enters it within this distance is "
            "heading toward it (0: inside only). Seabridge default.",
        ),
        ParamSpec(
            "max_age", "min", 3.0, 0.1, 30.0,
            "Fixes older than this at the tick are not used (as close_quarters; class A "
            "under way reports every 2-10 s: ITU-R M.1371).",
        ),
    )  # fmt: skip
    METRICS: ClassVar[tuple[str, ...]] = ("speed_kn", "distance_m", "time_to_zone_s")

    def __init__(self, rule_id: str, params: Mapping[str, float], context: RuleContext) -> None:
        super().__init__(rule_id, params, context)
        self.zone_ids = rule_zones(rule_id, self.kind, context)
        for zone_id in self.zone_ids:
            shapely.prepare(context.zones[zone_id].geometry)
        # since: zone -> {mmsi: first fix time of the current stretch in the situation}
        self.state = {"since": {zone_id: {} for zone_id in self.zone_ids}}

    def evaluate(self, frame: VesselFrame, applies: np.ndarray[Any, Any]) -> Sequence[Finding]:
        rows = frame_rows(frame, applies, self.params["max_age"] * 60_000)
        rows = rows[frame.sog_kn[rows] > self.params["min_speed"]]  # NaN: unknown, not fast
        findings: list[Finding] = []
        for zone_id in self.zone_ids:
            hits, distance_m = self._zone_hits(frame, zone_id, rows)
            since: dict[int, int] = self.state["since"][zone_id]
            now: dict[int, int] = {}
            for row, distance in zip(hits.tolist(), distance_m.tolist(), strict=True):
                mmsi = int(frame.mmsi[row])
                started = now[mmsi] = since.get(mmsi, int(frame.ts_ms[row]))
                speed = float(frame.sog_kn[row])
                findings.append(
                    Finding(
                        key=(mmsi, zone_id),
                        vessels=(mmsi,),
                        lat=float(frame.lat[row]),
                        lon=float(frame.lon[row]),
                        metrics={
                            "speed_kn": speed,
                            "distance_m": distance,
                            "time_to_zone_s": distance / (speed * MPS_PER_KN),
                        },
                        zone=zone_id,
                        started_ms=started,
                    )
                )
            self.state["since"][zone_id] = now
        return findings

    def _zone_hits(
        self, frame: VesselFrame, zone_id: str, rows: np.ndarray[Any, Any]
    ) -> tuple[np.ndarray[Any, Any], F64]:
        """Rows in the situation for one zone, and each one's distance to it along course."""
        is_in = inside(frame, self.context, zone_id, rows)
        approach_m = self.params["approach"] * M_PER_NM
        heading = rows[~is_in & np.isfinite(frame.cog_deg[rows])]
        if approach_m <= 0 or heading.size == 0:
            return rows[is_in], np.zeros(int(is_in.sum()))
        geometry = self.context.zones[zone_id].geometry
        heading = heading[_near(geometry, frame.lat[heading], frame.lon[heading], approach_m)]
        if heading.size == 0:
            return rows[is_in], np.zeros(int(is_in.sum()))
        lat, lon = frame.lat[heading], frame.lon[heading]
        end_lat, end_lon = offset(lat, lon, frame.cog_deg[heading], np.full(lat.size, approach_m))
        end_lon = lon + (end_lon - lon + 180.0) % 360.0 - 180.0  # no wrap inside a segment
        coords = np.stack([np.stack([lon, lat], 1), np.stack([end_lon, end_lat], 1)], 1)
        lines = np.asarray(shapely.linestrings(coords), dtype=object)
        entering = shapely.intersects(geometry, lines)
        lines, heading = lines[entering], heading[entering]
        fraction = np.ones(heading.size)
        if heading.size:
            points, which = shapely.get_coordinates(
                shapely.intersection(lines, geometry), return_index=True
            )
            along = shapely.line_locate_point(lines[which], shapely.points(points), normalized=True)
            np.minimum.at(fraction, which, along)
        hits = np.concatenate([rows[is_in], heading])
        distance = np.concatenate([np.zeros(int(is_in.sum())), fraction * approach_m])
        order = np.argsort(hits, kind="stable")
        return hits[order], distance[order]


def _near(geometry: Any, lat: F64, lon: F64, reach_m: float) -> np.ndarray[Any, Any]:
    """Points whose ``reach_m`` disc may touch the geometry's bounding box (a cheap filter)."""
    west, south, east, north = geometry.bounds
    dlat = reach_m / _M_PER_DEG_LAT
    top = np.minimum(np.abs(lat) + dlat, 89.0)
    dlon = reach_m / (_M_PER_DEG_LAT * np.cos(np.radians(top)))
    near: np.ndarray[Any, Any] = (
        (lat >= south - dlat) & (lat <= north + dlat) & (lon >= west - dlon) & (lon <= east + dlon)
    )
    return near
