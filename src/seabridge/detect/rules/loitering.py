"""loitering: a vessel whose mean speed stays below a threshold for a duration.

After Global Fishing Watch's pipe-loitering (detection-notes.md 1.1): speed is averaged over
fixed time buckets (GFW: hours; here ``bucket``, 10 min by default, so a live loiter shows
sooner), a bucket is slow when its mean speed is below ``max_speed`` (strictly, as GFW's
"< 2 kn"), and a loiter is an unbroken run of slow buckets lasting at least ``duration``.

How it is measured, at every tick from each vessel's latest fix (a tick samples at most one
new fix per vessel, which also keeps GPS scatter between rapid reports out of the path):

- A *step* joins the vessel's previous sampled fix to the new one. Its speed is the mean
  of the two fixes' reported SOG (trapezoid; the one that is known if only one is), or the
  implied speed (distance / time) when neither reports SOG. Reported SOG is preferred to
  GFW's implied speed because position scatter inflates implied speeds at 10 s reporting.
- A step belongs to the bucket its first fix lies in (buckets are aligned on the epoch, so
  every node buckets alike); a bucket closes when a fix arrives in a later bucket, and its
  mean speed is the time-weighted mean over its steps.
- A step longer than ``max_gap`` is not measured: it ends the run (the vessel was not seen).
- The run starts at the first fix of its first slow bucket and ends at the last fix of its
  last slow bucket; a non-slow bucket or a gap ends it. Only closed buckets count, so a
  loiter is reported up to one bucket after it is complete.

Finding (key ``(mmsi,)``, where the vessel is now): ``duration_s`` (the run), ``mean_speed_kn``
(time-weighted over the run), ``distance_m`` (the path between sampled fixes over the run).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np

from seabridge.detect.model import Finding, ParamSpec, VesselFrame
from seabridge.detect.rule import Rule, RuleContext, register
from seabridge.detect.rules._common import (
    F64,
    Schema,
    Table,
    empty_table,
    ensure,
    frame_rows,
    keep,
    kn_from,
    plane_distance_m,
)

__all__ = ["Loitering"]

_NONE = -1
_SCHEMA: Schema = {
    "last_ts_ms": (np.int64, _NONE),
    "last_lat": (np.float64, np.nan),
    "last_lon": (np.float64, np.nan),
    "last_sog_kn": (np.float64, np.nan),
    "bucket": (np.int64, 0),  # the open bucket: the one the last fix lies in
    "acc_start_ms": (np.int64, _NONE),
    "acc_time_ms": (np.float64, 0.0),
    "acc_dist_m": (np.float64, 0.0),
    "acc_speed": (np.float64, 0.0),  # sum of speed_kn * dt_ms
    "run_start_ms": (np.int64, _NONE),
    "run_last_ms": (np.int64, _NONE),
    "run_time_ms": (np.float64, 0.0),
    "run_dist_m": (np.float64, 0.0),
    "run_speed": (np.float64, 0.0),
}
_ACC = ("acc_time_ms", "acc_dist_m", "acc_speed")
_RUN = ("run_time_ms", "run_dist_m", "run_speed")


@register
class Loitering(Rule):
    """Vessels slower than ``max_speed`` on average, bucket after bucket, for ``duration``."""

    kind: ClassVar[str] = "loitering"
    SUMMARY: ClassVar[str] = (
        "A vessel whose mean speed stays below max_speed in consecutive time buckets for at "
        "least the duration (after Global Fishing Watch's loitering events)."
    )
    PARAMS: ClassVar[tuple[ParamSpec, ...]] = (
        ParamSpec(
            "max_speed", "kn", 2.0, 0.1, 10.0,
            "A bucket whose mean speed is below this is slow. GFW loitering: hourly mean "
            "speed < 2 kn.",
        ),
        ParamSpec(
            "duration", "h", 1.0, 0.1, 48.0,
            "Slow for at least this long. Seabridge default; GFW counts consecutive slow "
            "hours, and its carrier-transshipment reports ask for 4 h.",
        ),
        ParamSpec(
            "bucket", "min", 10.0, 1.0, 60.0,
            "Speed is averaged over buckets this long. GFW uses 1 h; 10 min reports a live "
            "loiter sooner.",
        ),
        ParamSpec(
            "max_gap", "min", 60.0, 1.0, 720.0,
            "A silence longer than this ends the run. GFW resamples across gaps of at most "
            "1 h (pipe-encounters Resample max_gap_s=3600).",
        ),
    )  # fmt: skip
    METRICS: ClassVar[tuple[str, ...]] = ("duration_s", "mean_speed_kn", "distance_m")

    def __init__(self, rule_id: str, params: Mapping[str, float], context: RuleContext) -> None:
        super().__init__(rule_id, params, context)
        self.state = {"vessels": empty_table(_SCHEMA)}

    def evaluate(self, frame: VesselFrame, applies: np.ndarray[Any, Any]) -> Sequence[Finding]:
        table: Table = self.state["vessels"]
        max_gap_ms = self.params["max_gap"] * 60_000
        rows = frame_rows(frame, applies)
        at = ensure(table, _SCHEMA, frame.mmsi[rows].astype(np.int64))
        ts = frame.ts_ms[rows]
        new = table["last_ts_ms"][at] == _NONE
        self._start(table, at[new], ts[new])
        step = ~new & (ts > table["last_ts_ms"][at])
        self._step(table, at[step], rows[step], frame)
        table["last_ts_ms"][at[new]] = ts[new]
        for name, column in (("last_lat", frame.lat), ("last_lon", frame.lon)):
            table[name][at[new | step]] = column[rows[new | step]]
        table["last_sog_kn"][at[new | step]] = frame.sog_kn[rows[new | step]]
        stale = frame.time_ms - table["last_ts_ms"] > max_gap_ms
        findings = self._findings(table, at[~stale[at]], frame.time_ms)
        keep(table, ~stale)  # its next step would be a gap, which ends any run anyway
        return findings

    def _start(self, table: Table, at: np.ndarray[Any, Any], ts: np.ndarray[Any, Any]) -> None:
        """First fix of a vessel (or after a gap): an empty open bucket, no run."""
        table["bucket"][at] = ts // self._bucket_ms
        table["acc_start_ms"][at] = ts
        for name in _ACC + _RUN:
            table[name][at] = 0.0
        table["run_start_ms"][at] = _NONE
        table["run_last_ms"][at] = _NONE

    @property
    def _bucket_ms(self) -> int:
        return max(1, round(self.params["bucket"] * 60_000))

    def _step(
        self, table: Table, at: np.ndarray[Any, Any], rows: np.ndarray[Any, Any], frame: VesselFrame
    ) -> None:
        """One new sampled fix per vessel: measure the step, close buckets, extend runs."""
        if at.size == 0:
            return
        ts = frame.ts_ms[rows]
        dt_ms = (ts - table["last_ts_ms"][at]).astype(np.float64)
        dist_m = plane_distance_m(
            table["last_lat"][at], table["last_lon"][at], frame.lat[rows], frame.lon[rows]
        )
        speed = _step_speed(table["last_sog_kn"][at], frame.sog_kn[rows], dist_m, dt_ms)
        gap = dt_ms > self.params["max_gap"] * 60_000
        go = at[~gap]
        table["acc_time_ms"][go] += dt_ms[~gap]
        table["acc_dist_m"][go] += dist_m[~gap]
        table["acc_speed"][go] += speed[~gap] * dt_ms[~gap]
        closing = ~gap & (ts // self._bucket_ms > table["bucket"][at])
        shut = at[closing]
        acc_time = table["acc_time_ms"][shut]
        with np.errstate(invalid="ignore", divide="ignore"):
            slow = (acc_time > 0) & (table["acc_speed"][shut] / acc_time < self.params["max_speed"])
        extend, reset = shut[slow], shut[~slow]
        run_start = table["run_start_ms"]
        run_start[extend] = np.where(
            run_start[extend] == _NONE, table["acc_start_ms"][extend], run_start[extend]
        )
        for acc, run in zip(_ACC, _RUN, strict=True):
            table[run][extend] += table[acc][extend]
        table["run_last_ms"][extend] = ts[closing][slow]
        for name in _RUN:
            table[name][reset] = 0.0
        run_start[reset] = _NONE
        table["run_last_ms"][reset] = _NONE
        table["bucket"][shut] = ts[closing] // self._bucket_ms
        table["acc_start_ms"][shut] = ts[closing]
        for name in _ACC:
            table[name][shut] = 0.0
        self._start(table, at[gap], ts[gap])
        table["last_ts_ms"][at] = ts

    def _findings(self, table: Table, at: np.ndarray[Any, Any], time_ms: int) -> list[Finding]:
        start, last = table["run_start_ms"][at], table["run_last_ms"][at]
        long_enough = (start != _NONE) & (last - start >= self.params["duration"] * 3_600_000)
        findings = []
        for row in np.sort(at[long_enough]).tolist():
            mmsi = int(table["key"][row])
            started = int(table["run_start_ms"][row])
            metrics = {
                "duration_s": (int(table["run_last_ms"][row]) - started) / 1000.0,
                "mean_speed_kn": float(table["run_speed"][row] / table["run_time_ms"][row]),
                "distance_m": float(table["run_dist_m"][row]),
            }
            findings.append(
                Finding(
                    key=(mmsi,),
                    vessels=(mmsi,),
                    lat=float(table["last_lat"][row]),
                    lon=float(table["last_lon"][row]),
                    metrics=metrics,
                    started_ms=started,
                )
            )
        return findings


def _step_speed(sog_a: F64, sog_b: F64, dist_m: F64, dt_ms: F64) -> F64:
    """The speed of each step: mean reported SOG, else the one known, else implied."""
    known_a, known_b = np.isfinite(sog_a), np.isfinite(sog_b)
    implied = kn_from(dist_m, dt_ms)
    speed: F64 = np.where(
        known_a & known_b,
        0.5 * (sog_a + sog_b),
        np.where(known_a, sog_a, np.where(known_b, sog_b, implied)),
    )
    return speed
