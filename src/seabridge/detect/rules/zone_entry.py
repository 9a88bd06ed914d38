"""zone_entry: a vessel inside a zone, counted after a dwell, with hysteresis on exit.

Zones come from the rulebook entry's applicability ``zones`` (rule parameters are numbers
with units, and one entry may watch several zones); each (vessel, zone) is its own
situation, key ``(mmsi, zone_id)``. The rule reads zone membership itself, including for
vessels just outside (exit hysteresis), so the engine must not narrow ``applies`` to vessels
inside those zones: :attr:`ZoneEntry.ZONE_AWARE`.

Semantics, from each vessel's latest fix at every tick:

- **Entry.** A vessel counts once its fixes have been inside continuously for ``dwell``
  (first inside fix to the latest, ``>=``); one fix outside restarts the dwell. The stay
  begins (``started_ms``) at the first inside fix.
- **Exit, with hysteresis.** A counted vessel stays inside through excursions. The stay ends
  when its fixes have been outside continuously for ``exit_dwell`` (``>=``), or at once when
  a fix lies farther than ``exit_margin`` outside the zone (outside the zone grown by a
  geodesic buffer; 0 turns this shortcut off). A track zig-zagging across the boundary
  within the margin, with excursions shorter than ``exit_dwell``, is one stay.
- **Silence.** A vessel with no fix for ``max_age`` is forgotten, which ends its stay.

There is no separate zone_exit kind: the exit is the closing of the zone_entry event (the
finding disappears when the stay ends and the engine closes the event).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np
import shapely
from shapely.geometry import MultiPolygon, Polygon

from seabridge.detect.model import Finding, ParamSpec, VesselFrame
from seabridge.detect.rule import Rule, RuleContext, register
from seabridge.detect.rules._common import (
    Schema,
    Table,
    empty_table,
    ensure,
    frame_rows,
    inside,
    keep,
    rule_zones,
)
from seabridge.geo import geodesic_buffer
from seabridge.units import M_PER_NM

__all__ = ["ZoneEntry"]

_NONE = -1  # "no time" in the int64 time columns (data times are after 1970)
_SCHEMA: Schema = {
    "first_in_ms": (np.int64, _NONE),  # first fix of the current inside streak
    "counted": (np.bool_, False),
    "started_ms": (np.int64, _NONE),
    "out_since_ms": (np.int64, _NONE),  # first fix of the current excursion of a counted stay
    "last_ts_ms": (np.int64, _NONE),
    "lat": (np.float64, np.nan),
    "lon": (np.float64, np.nan),
    "sog_kn": (np.float64, np.nan),
}


@register
class ZoneEntry(Rule):
    """Vessels inside a zone for at least ``dwell``, without flapping on the boundary."""

    kind: ClassVar[str] = "zone_entry"
    ZONE_AWARE: ClassVar[bool] = True
    SUMMARY: ClassVar[str] = (
        "A vessel inside one of the entry's zones for at least the dwell; the stay ends after "
        "exit_dwell outside or beyond exit_margin (the event's closing is the zone exit)."
    )
    PARAMS: ClassVar[tuple[ParamSpec, ...]] = (
        ParamSpec(
            "dwell", "min", 1.0, 0.0, 120.0,
            "Inside this long before the vessel counts. Seabridge default: six Class A "
            "reports under way (10 s; ITU-R M.1371, ecs-facts 4.3), so one stray fix "
            "cannot count.",
        ),
        ParamSpec(
            "exit_dwell", "min", 5.0, 0.0, 120.0,
            "Outside this long (continuously) ends the stay. Seabridge default: longer than "
            "a boundary-skirting zig-zag, shorter than a real departure.",
        ),
        ParamSpec(
            "exit_margin", "nm", 0.1, 0.0, 5.0,
            "A fix farther than this outside ends the stay at once (0: off). Seabridge "
            "default: several times GPS scatter (tens of metres).",
        ),
        ParamSpec(
            "max_age", "min", 10.0, 1.0, 120.0,
            "A vessel silent this long is forgotten. OpenCPN removes a lost target after "
            "10 min (g_RemoveLost_Mins).",
        ),
    )  # fmt: skip
    METRICS: ClassVar[tuple[str, ...]] = ("duration_s", "speed_kn")

    def __init__(self, rule_id: str, params: Mapping[str, float], context: RuleContext) -> None:
        super().__init__(rule_id, params, context)
        self.zone_ids = rule_zones(rule_id, self.kind, context)
        margin_m = self.params["exit_margin"] * M_PER_NM
        self._grown: dict[str, Polygon | MultiPolygon] = {}
        if margin_m > 0:
            for zone_id in self.zone_ids:
                grown = geodesic_buffer(context.zones[zone_id].geometry, margin_m)
                shapely.prepare(grown)
                self._grown[zone_id] = grown
        self.state = {"zones": {zone_id: empty_table(_SCHEMA) for zone_id in self.zone_ids}}

    def evaluate(self, frame: VesselFrame, applies: np.ndarray[Any, Any]) -> Sequence[Finding]:
        max_age_ms = self.params["max_age"] * 60_000
        rows = frame_rows(frame, applies, max_age_ms)
        findings: list[Finding] = []
        for zone_id in self.zone_ids:
            table: Table = self.state["zones"][zone_id]
            self._update(table, zone_id, frame, rows)
            keep(table, frame.time_ms - table["last_ts_ms"] <= max_age_ms)
            findings.extend(_findings(table, zone_id, frame.time_ms))
        return findings

    def _update(
        self, table: Table, zone_id: str, frame: VesselFrame, rows: np.ndarray[Any, Any]
    ) -> None:
        """Apply this tick's fixes to one zone's table (rows: frame rows the rule may use)."""
        is_in = inside(frame, self.context, zone_id, rows)
        mmsi = frame.mmsi[rows].astype(np.int64)
        known = np.isin(mmsi, table["key"], assume_unique=True)
        watch = is_in | known  # a vessel outside matters only while the table holds it
        rows, is_in = rows[watch], is_in[watch]
        at = ensure(table, _SCHEMA, mmsi[watch])
        ts = frame.ts_ms[rows]
        first_in, out_since = table["first_in_ms"], table["out_since_ms"]
        counted = table["counted"]
        at_in, ts_in = at[is_in], ts[is_in]
        first_in[at_in] = np.where(first_in[at_in] == _NONE, ts_in, first_in[at_in])
        out_since[at_in] = _NONE
        at_out, ts_out = at[~is_in], ts[~is_in]
        first_in[at_out] = _NONE
        excursion = counted[at_out]
        out_since[at_out] = np.where(
            excursion & (out_since[at_out] == _NONE), ts_out, out_since[at_out]
        )
        ended = excursion & (ts_out - out_since[at_out] >= self.params["exit_dwell"] * 60_000)
        grown = self._grown.get(zone_id)
        if grown is not None and excursion.any():
            out_rows = rows[~is_in]
            ended |= excursion & ~shapely.contains_xy(
                grown, frame.lon[out_rows], frame.lat[out_rows]
            )
        promote = at_in[
            ~counted[at_in] & (ts_in - first_in[at_in] >= self.params["dwell"] * 60_000)
        ]
        counted[promote] = True
        table["started_ms"][promote] = first_in[promote]
        table["last_ts_ms"][at] = ts
        table["lat"][at] = frame.lat[rows]
        table["lon"][at] = frame.lon[rows]
        table["sog_kn"][at] = frame.sog_kn[rows]
        drop = np.zeros(table["key"].size, dtype=bool)
        drop[at_out[~excursion | ended]] = True
        keep(table, ~drop)


def _findings(table: Table, zone_id: str, time_ms: int) -> list[Finding]:
    findings = []
    for row in np.flatnonzero(table["counted"]).tolist():
        mmsi = int(table["key"][row])
        started = int(table["started_ms"][row])
        findings.append(
            Finding(
                key=(mmsi, zone_id),
                vessels=(mmsi,),
                lat=float(table["lat"][row]),
                lon=float(table["lon"][row]),
                metrics={
                    "duration_s": (time_ms - started) / 1000.0,
                    "speed_kn": float(table["sog_kn"][row]),
                },
                zone=zone_id,
                started_ms=started,
            )
        )
    return findings
