"""Hand-built inputs for rule tests: fixes, vessel frames, zones, contexts, a tiny replay.

Nothing here comes from the engine: :class:`Replay` is a deliberately small stand-in (ticks
on data time, latest fix per vessel, the data-quality rule's screen and usable mask when one
is given) so each rule can be tested alone on tracks written out by hand.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pyarrow as pa
from shapely.geometry import box

from seabridge.ais.records import POSITION_SCHEMA
from seabridge.detect.model import Finding, VesselFrame
from seabridge.detect.rule import Applicability, Rule, RuleContext
from seabridge.geo import Zone, ZoneSet, forward
from seabridge.units import MPS_PER_KN, iso_to_ms

T0 = iso_to_ms("2024-05-01T00:00:00Z")
LAT0, LON0 = 26.0, 123.5
MIN = 60_000
HOUR = 3_600_000
NAMES = {"en": "Test zone", "ja": "テスト区域", "zh": "测试区"}


@dataclass(frozen=True)
class Fix:
    """One position report."""

    mmsi: int
    ts_ms: int
    lat: float
    lon: float
    sog_kn: float = math.nan
    cog_deg: float = math.nan
    nav_status: int = -1


def box_zone(zone_id: str, lat: tuple[float, float], lon: tuple[float, float]) -> Zone:
    """A rectangular zone (degrees)."""
    return Zone(
        id=zone_id,
        kind="custom",
        names=dict(NAMES),
        declared_by="geometric",
        source="test",
        verified=True,
        geometry=box(lon[0], lat[0], lon[1], lat[1]),
    )


def context(zone_set: ZoneSet | None = None, **applies: Any) -> RuleContext:
    """A rule context with the given zone set and applicability filters."""
    return RuleContext(
        zones=zone_set if zone_set is not None else ZoneSet([]),
        parties=(),
        applies=Applicability(**applies),
    )


def make_rule(
    cls: type[Rule],
    params: Mapping[str, float] | None = None,
    zone_set: ZoneSet | None = None,
    **applies: Any,
) -> Rule:
    """A rule with its table's defaults, overridden by ``params``."""
    values = {spec.name: spec.default for spec in cls.PARAMS}
    values.update(params or {})
    return cls("test-rule", values, context(zone_set, **applies))


def moved(lat: float, lon: float, azimuth_deg: float, distance_m: float) -> tuple[float, float]:
    """The point ``distance_m`` along the geodesic at ``azimuth_deg``."""
    lat2, lon2 = forward(lat, lon, azimuth_deg, distance_m)
    return float(lat2), float(lon2)


def track(
    mmsi: int,
    start_ms: int,
    count: int,
    step_s: float,
    lat: float = LAT0,
    lon: float = LON0,
    sog_kn: float = 10.0,
    cog_deg: float = 90.0,
) -> list[Fix]:
    """``count`` fixes ``step_s`` apart on a straight course at constant speed (geodesic)."""
    fixes = []
    for k in range(count):
        la, lo = moved(lat, lon, cog_deg, sog_kn * MPS_PER_KN * step_s * k)
        fixes.append(
            Fix(mmsi, start_ms + round(k * step_s * 1000), la, lo, float(sog_kn), float(cog_deg))
        )
    return fixes


def fixes_table(fixes: Iterable[Fix]) -> pa.Table:
    """A POSITION_SCHEMA table of the fixes, sorted by time (stable)."""
    rows = sorted(fixes, key=lambda fix: fix.ts_ms)
    columns = {
        "mmsi": pa.array([f.mmsi for f in rows], pa.uint32()),
        "ts": pa.array([f.ts_ms for f in rows], pa.int64()).cast(POSITION_SCHEMA.field("ts").type),
        "lat": pa.array([f.lat for f in rows], pa.float64()),
        "lon": pa.array([f.lon for f in rows], pa.float64()),
        "sog_kn": pa.array([f.sog_kn for f in rows], pa.float32()),
        "cog_deg": pa.array([f.cog_deg for f in rows], pa.float32()),
        "heading_deg": pa.array([math.nan] * len(rows), pa.float32()),
        "nav_status": pa.array([f.nav_status for f in rows], pa.int8()),
        "msg_type": pa.array([1] * len(rows), pa.uint8()),
        "source": pa.array(["test"] * len(rows), pa.string()),
    }
    return pa.table(columns, schema=POSITION_SCHEMA)


def frame_of(
    time_ms: int,
    mmsi: Any,
    lat: Any,
    lon: Any,
    *,
    ts_ms: Any = None,
    sog_kn: Any = math.nan,
    cog_deg: Any = math.nan,
    nav_status: Any = -1,
    zones: ZoneSet | None = None,
    usable: Any = True,
) -> VesselFrame:
    """A frame from columns (scalars broadcast); zone membership from ``zones``."""
    mmsi_arr = np.asarray(mmsi, dtype=np.uint32).reshape(-1)
    n = mmsi_arr.size

    def column(value: Any, dtype: Any) -> Any:
        return np.broadcast_to(np.asarray(value, dtype=dtype), (n,)).copy()

    lat_arr, lon_arr = column(lat, np.float64), column(lon, np.float64)
    point, index = (np.empty(0, np.intp), np.empty(0, np.intp))
    if zones is not None and len(zones):
        point, index = zones.membership(lat_arr, lon_arr)
    return VesselFrame(
        time_ms=time_ms,
        mmsi=mmsi_arr,
        ts_ms=column(time_ms if ts_ms is None else ts_ms, np.int64),
        lat=lat_arr,
        lon=lon_arr,
        sog_kn=column(sog_kn, np.float64),
        cog_deg=column(cog_deg, np.float64),
        heading_deg=column(math.nan, np.float64),
        nav_status=column(nav_status, np.int8),
        ship_type=column(0, np.int16),
        flag=np.full(n, "", dtype="<U2"),
        party=column(-1, np.int16),
        zone_point=np.asarray(point, np.intp),
        zone_index=np.asarray(index, np.intp),
        zone_ids=zones.ids if zones is not None else (),
        usable=column(usable, np.bool_),
    )


def frame_from_fixes(
    time_ms: int, latest: Sequence[Fix], zones: ZoneSet | None = None
) -> VesselFrame:
    """A frame holding these fixes as each vessel's latest state."""
    return frame_of(
        time_ms,
        [f.mmsi for f in latest],
        [f.lat for f in latest],
        [f.lon for f in latest],
        ts_ms=[f.ts_ms for f in latest],
        sog_kn=[f.sog_kn for f in latest],
        cog_deg=[f.cog_deg for f in latest],
        nav_status=[f.nav_status for f in latest],
        zones=zones,
    )


class Replay:
    """Feed fixes to a rule tick by tick, as the engine would (a small stand-in).

    At each tick: the fixes after the previous tick go to ``quality.screen`` (when a
    data-quality rule is given) and, filtered by its verdict, to ``rule.observe``; the frame
    holds each vessel's latest usable fix, ``usable`` from ``quality.usable``; then
    ``rule.evaluate`` with every row applying (or the ``applies`` callback's mask).
    """

    def __init__(
        self,
        rule: Rule,
        fixes: Iterable[Fix],
        *,
        zones: ZoneSet | None = None,
        quality: Any = None,
        tick_ms: int = 10_000,
    ) -> None:
        self.rule = rule
        self.fixes = sorted(fixes, key=lambda fix: fix.ts_ms)
        self.zones = zones
        self.quality = quality
        self.tick_ms = tick_ms
        self.latest: dict[int, Fix] = {}
        self.position = 0
        self.time_ms: int | None = None

    def step(self, time_ms: int) -> list[Finding]:
        """Advance to ``time_ms`` and evaluate there."""
        batch = []
        while self.position < len(self.fixes) and self.fixes[self.position].ts_ms <= time_ms:
            batch.append(self.fixes[self.position])
            self.position += 1
        if batch:
            table = fixes_table(batch)
            keep = np.ones(len(batch), dtype=bool)
            if self.quality is not None:
                keep = self.quality.screen(table)
                if self.quality is not self.rule:
                    table = table.filter(pa.array(keep))
            if self.quality is not self.rule:
                self.rule.observe(table)
            ordered = sorted(batch, key=lambda fix: fix.ts_ms)
            for fix, good in zip(ordered, keep.tolist(), strict=True):
                if good or self.quality is self.rule:
                    self.latest[fix.mmsi] = fix
        frame = frame_from_fixes(time_ms, list(self.latest.values()), self.zones)
        if self.quality is not None:
            frame = replace(frame, usable=self.quality.usable(frame))
        self.time_ms = time_ms
        return list(self.rule.evaluate(frame, np.ones(len(frame), dtype=bool)))

    def run(self, start_ms: int, end_ms: int) -> dict[int, list[Finding]]:
        """Findings at every tick from ``start_ms`` to ``end_ms`` inclusive."""
        return {t: self.step(t) for t in range(start_ms, end_ms + 1, self.tick_ms)}


def keys_at(results: Mapping[int, Sequence[Finding]]) -> dict[int, set[tuple[int | str, ...]]]:
    """The finding keys at each tick."""
    return {t: {f.key for f in found} for t, found in results.items()}


def spans(results: Mapping[int, Sequence[Finding]]) -> dict[tuple[int | str, ...], list[int]]:
    """For each key, the ticks it was reported at."""
    seen: dict[tuple[int | str, ...], list[int]] = {}
    for t, found in sorted(results.items()):
        for finding in found:
            seen.setdefault(finding.key, []).append(t)
    return seen


def runs(ticks: Sequence[int], tick_ms: int) -> list[tuple[int, int]]:
    """Consecutive tick stretches as (first, last): how many events the engine would open."""
    out: list[tuple[int, int]] = []
    for t in ticks:
        if out and t - out[-1][1] <= tick_ms:
            out[-1] = (out[-1][0], t)
        else:
            out.append((t, t))
    return out
