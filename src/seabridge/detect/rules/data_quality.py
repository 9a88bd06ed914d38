"""data_quality: impossible jumps and MMSIs shared by two transmitters, kept out of the rules.

The screening rule (``SCREENS``): the engine hands it every fix first (:meth:`DataQuality.screen`)
and gives the other rules only the fixes it accepts, so a spoofed or broken report cannot
raise a false alarm; :meth:`DataQuality.usable` says which frame rows are clean. What it
rejects it reports as findings (level 1, advisory).

Each MMSI keeps up to two *tracks*: the vessel's (primary, its last accepted fix) and a
candidate (secondary, its last rejected fix). A fix is *plausible* from a track's last fix
when it is at most ``min_distance`` away (GPS scatter, and AIS time stamps have one-second
resolution, so a step of up to 1 s is taken as 1 s) or the implied speed is at most
``max_speed``. For each fix, in time order:

- plausible from the primary: accepted, and the primary moves there;
- else plausible from the secondary: it continues the secondary (rejected);
- else: a new secondary starts there (rejected).

An isolated jump is one rejected fix: finding ``(mmsi, "impossible_speed")`` with the implied
speed and distance of the worst jump, for ``window`` after the last rejected fix. When
``adopt_after`` fixes in a row continue the secondary, the vessel really is there (the old
primary was the outlier, e.g. a bad first fix): the tracks swap and fixes are accepted
again. When fixes alternate between the two tracks ``min_switches`` times (a switch is a
fix on the other track than the fix before), two transmitters share the MMSI: every fix
of that MMSI is rejected while the alternation goes on (until ``window`` passes without a
switch), reported as ``(mmsi, "shared_mmsi")`` with the distance between the two tracks.
A secondary with no fix for ``window`` is forgotten, and so is a vessel silent for a day
(any jump is plausible after that long at ``max_speed``).

Findings are placed at the vessel's accepted position. The per-fix walk above runs in
Python only for MMSIs with a rejected step or an open secondary in the batch; every other
vessel is accepted in one vectorized pass.
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
)

__all__ = ["DataQuality"]

_NONE = -1
_FORGET_MS = 86_400_000  # a vessel silent this long starts afresh
_MIN_DT_MS = 1000.0  # AIS time stamps are whole seconds (ITU-R M.1371-5, table 45)
_SCHEMA: Schema = {
    "h0_ts": (np.int64, _NONE),
    "h0_lat": (np.float64, np.nan),
    "h0_lon": (np.float64, np.nan),
    "h1_ts": (np.int64, _NONE),
    "h1_lat": (np.float64, np.nan),
    "h1_lon": (np.float64, np.nan),
    "h1_run": (np.int64, 0),  # fixes in a row on the secondary
    "last_track": (np.int8, 0),
    "switches": (np.int64, 0),
    "switch_ms": (np.int64, _NONE),
    "shared": (np.bool_, False),
    "bad_ts": (np.int64, _NONE),
    "jump_start": (np.int64, _NONE),
    "jump_last": (np.int64, _NONE),
    "jump_count": (np.int64, 0),
    "jump_speed_kn": (np.float64, 0.0),
    "jump_m": (np.float64, 0.0),
    "shared_start": (np.int64, _NONE),
    "shared_count": (np.int64, 0),
    "shared_m": (np.float64, 0.0),
    "shared_speed_kn": (np.float64, 0.0),
}


@register
class DataQuality(Rule):
    """Rejects impossible jumps and shared MMSIs before the other rules see them."""

    kind: ClassVar[str] = "data_quality"
    SCREENS: ClassVar[bool] = True
    QUALITY: ClassVar[bool] = True
    SUMMARY: ClassVar[str] = (
        "Positions implying an impossible speed from the vessel's track, and MMSIs whose "
        "fixes alternate between two tracks (two transmitters), are kept out of the other "
        "rules and reported (level 1)."
    )
    PARAMS: ClassVar[tuple[ParamSpec, ...]] = (
        ParamSpec(
            "max_speed", "kn", 50.0, 10.0, 200.0,
            "A fix implying more than this from the vessel's track is impossible. Seabridge "
            "default (issue 5): AIS's fastest reporting class is for ships above 23 kn "
            "(ITU-R M.1371, ecs-facts 4.3); 50 kn leaves fast craft room.",
        ),
        ParamSpec(
            "min_distance", "m", 500.0, 0.0, 10_000.0,
            "Jumps shorter than this are never impossible: GPS scatter and one-second time "
            "stamps. Seabridge default.",
        ),
        ParamSpec(
            "window", "min", 10.0, 1.0, 120.0,
            "A candidate track, a jump episode or a shared-MMSI conflict ends after this "
            "long without a new fix on it. OpenCPN removes a lost target after 10 min.",
        ),
        ParamSpec(
            "min_switches", "count", 3.0, 2.0, 20.0,
            "Alternations between two tracks that make an MMSI shared (a lone jump and "
            "back is 2). Seabridge default.",
        ),
        ParamSpec(
            "adopt_after", "count", 3.0, 1.0, 20.0,
            "Fixes in a row on the candidate track that make it the vessel's track. "
            "Seabridge default.",
        ),
    )  # fmt: skip
    METRICS: ClassVar[tuple[str, ...]] = (
        "implied_speed_kn",
        "distance_m",
        "fix_count",
        "duration_s",
    )

    def __init__(self, rule_id: str, params: Mapping[str, float], context: RuleContext) -> None:
        super().__init__(rule_id, params, context)
        self.state = {"vessels": empty_table(_SCHEMA)}

    # -- the engine's hooks -------------------------------------------------------------

    def screen(self, fixes: pa.Table) -> np.ndarray[Any, np.dtype[np.bool_]]:
        """Judge every new fix (POSITION_SCHEMA, sorted by ts); True where usable.

        The engine calls this instead of :meth:`observe`, once per batch, before the other
        rules, and passes only the accepted fixes on. The mask is in the table's row order.
        """
        columns = fix_columns(fixes)
        count = columns["mmsi"].size
        usable = np.ones(count, dtype=np.bool_)
        if count == 0:
            return usable
        order = np.lexsort((columns["ts_ms"], columns["mmsi"]))
        mmsi, ts = columns["mmsi"][order], columns["ts_ms"][order]
        lat, lon = columns["lat"][order], columns["lon"][order]
        table: Table = self.state["vessels"]
        at = ensure(table, _SCHEMA, mmsi)
        first = np.ones(count, dtype=bool)
        first[1:] = mmsi[1:] != mmsi[:-1]
        prev_ts = np.where(first, table["h0_ts"][at], np.roll(ts, 1))
        prev_lat = np.where(first, table["h0_lat"][at], np.roll(lat, 1))
        prev_lon = np.where(first, table["h0_lon"][at], np.roll(lon, 1))
        has_prev = prev_ts != _NONE
        bad = has_prev & self._impossible(prev_ts, prev_lat, prev_lon, ts, lat, lon)
        group = np.cumsum(first) - 1
        starts = np.flatnonzero(first)
        messy = np.zeros(starts.size, dtype=bool)
        np.logical_or.at(messy, group, bad)
        messy |= (table["h1_ts"][at[starts]] != _NONE) | table["shared"][at[starts]]
        clean = ~messy[group]
        last = np.ones(count, dtype=bool)
        last[:-1] = mmsi[1:] != mmsi[:-1]
        done = at[clean & last]
        table["h0_ts"][done] = ts[clean & last]
        table["h0_lat"][done] = lat[clean & last]
        table["h0_lon"][done] = lon[clean & last]
        for k in np.flatnonzero(messy).tolist():
            span = slice(int(starts[k]), int(starts[k + 1]) if k + 1 < starts.size else count)
            row = int(at[starts[k]])
            verdicts = self._walk(table, row, ts[span], lat[span], lon[span])
            usable[order[span]] = verdicts
        return usable

    def usable(self, frame: VesselFrame) -> Bools:
        """Frame rows the other rules may use: ``frame.usable`` without the rows whose
        latest fix this rule rejected or whose MMSI is shared now."""
        table: Table = self.state["vessels"]
        rows, found = locate(table, frame.mmsi.astype(np.int64))
        hit = rows[found]
        shared = table["shared"][hit] & (frame.time_ms - table["switch_ms"][hit] <= self._window_ms)
        rejected = frame.ts_ms[found] == table["bad_ts"][hit]
        clean: Bools = frame.usable.copy()
        clean[np.flatnonzero(found)[shared | rejected]] = False
        return clean

    def evaluate(self, frame: VesselFrame, applies: np.ndarray[Any, Any]) -> Sequence[Finding]:
        table: Table = self.state["vessels"]
        newest = np.maximum(table["h0_ts"], table["h1_ts"])
        keep(table, frame.time_ms - newest <= _FORGET_MS)
        rows = np.flatnonzero(np.asarray(applies, dtype=bool))
        at, found = locate(table, frame.mmsi[rows].astype(np.int64))
        at = at[found]
        window = self._window_ms
        jumping = (table["jump_last"][at] != _NONE) & (
            frame.time_ms - table["jump_last"][at] <= window
        )
        shared = table["shared"][at] & (frame.time_ms - table["switch_ms"][at] <= window)
        findings = []
        for row in np.sort(at[jumping]).tolist():
            findings.append(self._finding(table, row, "impossible_speed"))
        for row in np.sort(at[shared]).tolist():
            findings.append(self._finding(table, row, "shared_mmsi"))
        return findings

    # -- inside ---------------------------------------------------------------------------

    @property
    def _window_ms(self) -> float:
        return self.params["window"] * 60_000

    def _impossible(
        self,
        ts_a: np.ndarray[Any, Any],
        lat_a: np.ndarray[Any, Any],
        lon_a: np.ndarray[Any, Any],
        ts_b: np.ndarray[Any, Any],
        lat_b: np.ndarray[Any, Any],
        lon_b: np.ndarray[Any, Any],
    ) -> Bools:
        distance = plane_distance_m(lat_a, lon_a, lat_b, lon_b)
        dt_ms = np.maximum(np.abs(ts_b - ts_a).astype(np.float64), _MIN_DT_MS)
        impossible: Bools = (distance > self.params["min_distance"]) & (
            kn_from(distance, dt_ms) > self.params["max_speed"]
        )
        return impossible

    def _jump(
        self, ts_a: int, lat_a: float, lon_a: float, ts: int, lat: float, lon: float
    ) -> tuple[bool, float, float]:
        """(impossible, implied speed kn, distance m) from one fix to another."""
        distance = float(
            plane_distance_m(np.array(lat_a), np.array(lon_a), np.array(lat), np.array(lon))
        )
        dt_ms = max(float(abs(ts - ts_a)), _MIN_DT_MS)
        speed = float(kn_from(np.array(distance), np.array(dt_ms)))
        impossible = distance > self.params["min_distance"] and speed > self.params["max_speed"]
        return impossible, speed, distance

    def _walk(
        self,
        table: Table,
        row: int,
        ts: np.ndarray[Any, Any],
        lat: np.ndarray[Any, Any],
        lon: np.ndarray[Any, Any],
    ) -> list[bool]:
        """The per-fix walk for one MMSI (see the module docstring); writes state back."""
        s = {name: table[name][row].item() for name in _SCHEMA}
        verdicts = [
            self._fix(s, int(t), float(la), float(lo))
            for t, la, lo in zip(ts.tolist(), lat.tolist(), lon.tolist(), strict=True)
        ]
        for name, value in s.items():
            table[name][row] = value
        return verdicts

    def _fix(self, s: dict[str, Any], ts: int, lat: float, lon: float) -> bool:
        window = self._window_ms
        if s["h1_ts"] != _NONE and ts - s["h1_ts"] > window:  # the candidate went quiet
            s["h1_ts"], s["h1_run"], s["switches"], s["last_track"] = _NONE, 0, 0, 0
        if s["shared"] and ts - s["switch_ms"] > window:
            s["shared"] = False
        jump = False, 0.0, 0.0
        if s["h0_ts"] != _NONE:
            jump = self._jump(s["h0_ts"], s["h0_lat"], s["h0_lon"], ts, lat, lon)
        track = 1 if jump[0] else 0
        if track == 1 and (
            s["h1_ts"] == _NONE or self._jump(s["h1_ts"], s["h1_lat"], s["h1_lon"], ts, lat, lon)[0]
        ):  # plausible from neither track: a new candidate starts here
            s["h1_run"], s["switches"] = 0, 0
        if track != s["last_track"]:
            s["switches"] += 1
            s["switch_ms"] = ts
        s["last_track"] = track
        if track == 0:
            s["h0_ts"], s["h0_lat"], s["h0_lon"], s["h1_run"] = ts, lat, lon, 0
        else:
            s["h1_ts"], s["h1_lat"], s["h1_lon"] = ts, lat, lon
            s["h1_run"] += 1
        if not s["shared"] and s["switches"] >= self.params["min_switches"]:
            s["shared"], s["shared_start"], s["shared_count"] = True, ts, 0
        if s["shared"]:
            s["shared_count"] += 1
            if s["h1_ts"] != _NONE:
                _, speed, distance = self._jump(
                    s["h0_ts"], s["h0_lat"], s["h0_lon"], s["h1_ts"], s["h1_lat"], s["h1_lon"]
                )
                s["shared_m"], s["shared_speed_kn"] = distance, speed
            s["bad_ts"] = ts
            return False
        if track == 0:
            return True
        if s["h1_run"] >= self.params["adopt_after"]:  # the vessel really is there: swap
            for column in ("ts", "lat", "lon"):
                s[f"h0_{column}"], s[f"h1_{column}"] = s[f"h1_{column}"], s[f"h0_{column}"]
            s["h1_run"], s["last_track"] = 0, 0
            return True
        if s["jump_last"] == _NONE or ts - s["jump_last"] > window:
            s["jump_start"], s["jump_count"], s["jump_speed_kn"], s["jump_m"] = ts, 0, 0.0, 0.0
        s["jump_last"] = ts
        s["jump_count"] += 1
        s["jump_speed_kn"] = max(s["jump_speed_kn"], jump[1])
        s["jump_m"] = max(s["jump_m"], jump[2])
        s["bad_ts"] = ts
        return False

    def _finding(self, table: Table, row: int, what: str) -> Finding:
        mmsi = int(table["key"][row])
        if what == "shared_mmsi":
            started = int(table["shared_start"][row])
            metrics = {
                "implied_speed_kn": float(table["shared_speed_kn"][row]),
                "distance_m": float(table["shared_m"][row]),
                "fix_count": float(table["shared_count"][row]),
                "duration_s": (int(table["switch_ms"][row]) - started) / 1000.0,
            }
        else:
            started = int(table["jump_start"][row])
            metrics = {
                "implied_speed_kn": float(table["jump_speed_kn"][row]),
                "distance_m": float(table["jump_m"][row]),
                "fix_count": float(table["jump_count"][row]),
                "duration_s": (int(table["jump_last"][row]) - started) / 1000.0,
            }
        return Finding(
            key=(mmsi, what),
            vessels=(mmsi,),
            lat=float(table["h0_lat"][row]),
            lon=float(table["h0_lon"][row]),
            metrics=metrics,
            started_ms=started,
            level=1,
        )
