"""ais_gap: a vessel that stops reporting while last seen inside the area of interest.

The area of interest is the rulebook entry's applicability ``zones`` (e.g. the pack's
``ecs-area-of-interest``; none: anywhere). A gap is a silence *longer* than ``threshold``
between two fixes of a vessel whose fix before it was inside the area and applied to the
entry (ship type, flag, fleet, ...: remembered from the last frame that showed that fix).
The rule reads every usable fix (:meth:`AisGap.observe`), not frames, because the engine's
frames drop a vessel silent for longer than ``detect.max_fix_age_min``.

Findings, key ``(mmsi,)`` at the last fix before the gap, ``started_ms`` = that fix:

- **While silent**, at every tick more than ``threshold`` after the last fix: ``duration_s``
  so far; ``distance_m`` and ``implied_speed_kn`` are NaN (not known yet).
- **On reappearance**, once, at the first tick after the first fix that ends the gap:
  ``duration_s`` (the whole gap), ``distance_m`` (last fix before to first fix after, on
  the pair's local plane) and ``implied_speed_kn``. The key then disappears, so the engine
  closes the event with these metrics (it reports the latest finding: ``KEY_WORSE`` is
  "latest"). A gap found only on reappearance (it ended between two ticks) gives this one
  finding: the event opens and closes with the whole story.

A vessel silent for more than ``max_gap`` is forgotten: its findings stop (the event closes
with the duration so far) and its eventual return is not reported.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np
import pyarrow as pa

from seabridge.detect.model import Finding, ParamSpec, VesselFrame
from seabridge.detect.rule import Rule, RuleContext, register
from seabridge.detect.rules._common import (
    Bools,
    Schema,
    Table,
    empty_table,
    ensure,
    fix_columns,
    keep,
    kn_from,
    locate,
    plane_distance_m,
    rule_zones,
)

__all__ = ["AisGap"]

_NONE = -1
_SCHEMA: Schema = {
    "last_ts_ms": (np.int64, _NONE),
    "lat": (np.float64, np.nan),
    "lon": (np.float64, np.nan),
    "inside": (np.bool_, False),  # the last fix is inside the area of interest
    "applies": (np.bool_, False),  # the entry applied to the vessel at its last fix
}


@register
class AisGap(Rule):
    """Vessels silent for longer than ``threshold`` after a fix inside the area of interest."""

    kind: ClassVar[str] = "ais_gap"
    ZONE_AWARE: ClassVar[bool] = True
    SUMMARY: ClassVar[str] = (
        "No AIS report for longer than the threshold from a vessel last seen inside the area "
        "of interest; closes when the vessel reappears, with the gap's duration, distance and "
        "implied speed."
    )
    PARAMS: ClassVar[tuple[ParamSpec, ...]] = (
        ParamSpec(
            "threshold", "min", 60.0, 5.0, 2880.0,
            "A silence longer than this is a gap. AISdb's dark-vessel fallback: 1 h for "
            "fishing vessels (30 min cargo); GFW analyses satellite gaps of 12 h or more. "
            "Class A reports every 3 min at anchor (ITU-R M.1371).",
        ),
        ParamSpec(
            "max_gap", "h", 48.0, 1.0, 720.0,
            "A vessel silent longer than this is forgotten (its event closes). Seabridge "
            "default; GFW's disabling analysis looks back 48 h.",
        ),
    )  # fmt: skip
    METRICS: ClassVar[tuple[str, ...]] = ("duration_s", "distance_m", "implied_speed_kn")

    def __init__(self, rule_id: str, params: Mapping[str, float], context: RuleContext) -> None:
        super().__init__(rule_id, params, context)
        self.zone_ids = rule_zones(rule_id, self.kind, context, required=False)
        # closings: gaps ended by a fix since the last tick, reported once at the next one
        self.state = {"vessels": empty_table(_SCHEMA), "closings": []}

    def observe(self, fixes: pa.Table) -> None:
        """Every usable fix: note the gaps that end and each vessel's last fix."""
        columns = fix_columns(fixes)
        count = columns["mmsi"].size
        if count == 0:
            return
        order = np.lexsort((columns["ts_ms"], columns["mmsi"]))
        mmsi, ts = columns["mmsi"][order], columns["ts_ms"][order]
        lat, lon = columns["lat"][order], columns["lon"][order]
        table: Table = self.state["vessels"]
        at = ensure(table, _SCHEMA, mmsi)
        first = np.ones(count, dtype=bool)
        first[1:] = mmsi[1:] != mmsi[:-1]
        last = np.ones(count, dtype=bool)
        last[:-1] = first[1:]
        prev_ts = np.where(first, table["last_ts_ms"][at], np.roll(ts, 1))
        ended = (prev_ts != _NONE) & (ts - prev_ts > self.params["threshold"] * 60_000)
        ended &= table["applies"][at]
        after = np.flatnonzero(ended)
        if after.size:
            self._closings(table, at, first, after, ts, lat, lon)
        done = at[last]
        table["last_ts_ms"][done] = ts[last]
        table["lat"][done] = lat[last]
        table["lon"][done] = lon[last]
        table["inside"][done] = self._inside(lat[last], lon[last])

    def _closings(
        self,
        table: Table,
        at: np.ndarray[Any, Any],
        first: Bools,
        after: np.ndarray[Any, Any],
        ts: np.ndarray[Any, Any],
        lat: np.ndarray[Any, Any],
        lon: np.ndarray[Any, Any],
    ) -> None:
        """Record the gaps ending at the fixes ``after`` whose fix before was inside."""
        stored = first[after]
        before = after - 1  # the fix before, within the batch when not the vessel's first
        row = at[after]
        lat0 = np.where(stored, table["lat"][row], lat[np.maximum(before, 0)])
        lon0 = np.where(stored, table["lon"][row], lon[np.maximum(before, 0)])
        ts0 = np.where(stored, table["last_ts_ms"][row], ts[np.maximum(before, 0)])
        inside = np.where(stored, table["inside"][row], self._inside(lat0, lon0))
        distance = plane_distance_m(lat0, lon0, lat[after], lon[after])
        speed = kn_from(distance, (ts[after] - ts0).astype(np.float64))
        for k in np.flatnonzero(inside).tolist():
            self.state["closings"].append(
                {
                    "mmsi": int(table["key"][row[k]]),
                    "start_ms": int(ts0[k]),
                    "end_ms": int(ts[after[k]]),
                    "lat": float(lat0[k]),
                    "lon": float(lon0[k]),
                    "distance_m": float(distance[k]),
                    "implied_speed_kn": float(speed[k]),
                }
            )

    def _inside(self, lat: np.ndarray[Any, Any], lon: np.ndarray[Any, Any]) -> Bools:
        if not self.zone_ids:
            return np.ones(lat.shape, dtype=bool)
        inside = np.zeros(lat.shape, dtype=bool)
        for zone_id in self.zone_ids:
            inside |= self.context.zones.contains(zone_id, lat, lon)
        return inside

    def evaluate(self, frame: VesselFrame, applies: np.ndarray[Any, Any]) -> Sequence[Finding]:
        table: Table = self.state["vessels"]
        rows, found = locate(table, frame.mmsi.astype(np.int64))
        rows = rows[found]  # the rule's verdict on a fix comes from a frame that shows it
        same = frame.ts_ms[found] == table["last_ts_ms"][rows]
        verdict = (np.asarray(applies, dtype=bool) & frame.usable)[found]
        table["applies"][rows[same]] = verdict[same]
        findings = []
        closed = set()
        for gap in self.state["closings"]:
            closed.add(gap["mmsi"])
            metrics = {
                "duration_s": (gap["end_ms"] - gap["start_ms"]) / 1000.0,
                "distance_m": gap["distance_m"],
                "implied_speed_kn": gap["implied_speed_kn"],
            }
            findings.append(_finding(gap["mmsi"], gap["start_ms"], gap["lat"], gap["lon"], metrics))
        self.state["closings"] = []
        silence = frame.time_ms - table["last_ts_ms"]
        keep(table, silence <= self.params["max_gap"] * 3_600_000)
        silence = frame.time_ms - table["last_ts_ms"]
        silent = table["applies"] & table["inside"]
        silent &= silence > self.params["threshold"] * 60_000
        for row in np.flatnonzero(silent).tolist():
            mmsi = int(table["key"][row])
            if mmsi in closed:
                continue
            metrics = {
                "duration_s": float(silence[row]) / 1000.0,
                "distance_m": float("nan"),
                "implied_speed_kn": float("nan"),
            }
            start = int(table["last_ts_ms"][row])
            lat, lon = float(table["lat"][row]), float(table["lon"][row])
            findings.append(_finding(mmsi, start, lat, lon, metrics))
        return findings


def _finding(
    mmsi: int, start_ms: int, lat: float, lon: float, metrics: dict[str, float]
) -> Finding:
    return Finding(
        key=(mmsi,), vessels=(mmsi,), lat=lat, lon=lon, metrics=metrics, started_ms=start_ms
    )
