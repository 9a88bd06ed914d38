"""encounter (rendezvous): two vessels close together, slowly, for a long time.

Global Fishing Watch's definition (detection-notes.md 1.1, ecs-facts 4.5): within 500 m of
each other for at least 2 h at a median speed below 2 kn. (GFW's published events also drop
encounters within 10 km of an anchorage; Seabridge has no port table, so keep ports out
with the entry's applicability instead.)

At every tick, vessels with a fresh fix (``max_age``) are dead-reckoned to the tick and
screened with a KD-tree (:func:`~seabridge.detect.rules._common.pairs_within`, exactly the
pairs brute force finds) for pairs within ``distance`` (``<=``). Each pair keeps a *run*:

- it starts at the first tick the pair is within ``distance`` and survives interruptions
  (the pair apart, or a vessel not seen) of at most ``max_interruption``, after GFW's 10-min
  resampling; a longer one ends it;
- its duration is from the first to the latest tick the pair was within ``distance``;
- every tick in range adds both vessels' reported SOG to the run's speed samples. The
  median is below ``max_speed`` when more than half of the samples are below it (strictly:
  with exactly half, the median of an even count is not below), which a stream can count
  exactly without keeping the samples.

A pair is reported (key: the two MMSIs sorted) while its run lasts ``duration`` or more and
its median speed is below ``max_speed``, including during a tolerated interruption (so one
encounter is one event, whose end the engine sees up to ``max_interruption`` late; the
``duration_s`` metric is the exact span). Metrics: ``duration_s``, ``distance_m`` (latest),
``mean_distance_m`` and ``mean_speed_kn`` over the run. Position: the pair's midpoint.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np

from seabridge.detect.model import Finding, ParamSpec, VesselFrame
from seabridge.detect.rule import PairRule, RuleContext, register
from seabridge.detect.rules._common import (
    RUN_SCHEMA,
    Schema,
    Table,
    advance,
    empty_table,
    expire_runs,
    frame_rows,
    pair_keys,
    pairs_within,
    split_pair_key,
    update_runs,
)

__all__ = ["Encounter"]

_SCHEMA: Schema = {
    **RUN_SCHEMA,
    "samples": (np.int64, 0),  # ticks in range
    "speeds": (np.int64, 0),  # speed samples (two per tick, fewer without SOG)
    "slow": (np.int64, 0),  # of which below max_speed
    "sum_speed_kn": (np.float64, 0.0),
    "sum_distance_m": (np.float64, 0.0),
    "distance_m": (np.float64, np.nan),
    "lat": (np.float64, np.nan),
    "lon": (np.float64, np.nan),
}


@register
class Encounter(PairRule):
    """Pairs within ``distance`` for ``duration`` at a median speed below ``max_speed``."""

    kind: ClassVar[str] = "encounter"
    SUMMARY: ClassVar[str] = (
        "Two vessels within the distance of each other for at least the duration, at a "
        "median speed below max_speed (Global Fishing Watch's encounter, or rendezvous)."
    )
    PARAMS: ClassVar[tuple[ParamSpec, ...]] = (
        ParamSpec("distance", "m", 500.0, 10.0, 5000.0, "GFW encounters: within 500 m."),
        ParamSpec("duration", "h", 2.0, 0.1, 48.0, "GFW encounters: for at least 2 h."),
        ParamSpec("max_speed", "kn", 2.0, 0.1, 10.0, "GFW encounters: median speed < 2 kn."),
        ParamSpec(
            "max_interruption", "min", 10.0, 0.0, 120.0,
            "A pair apart (or unseen) no longer than this keeps its run. GFW resamples "
            "tracks on a 10-min grid.",
        ),
        ParamSpec(
            "max_age", "min", 10.0, 1.0, 60.0,
            "Fixes older than this at the tick are not used. OpenCPN removes a lost target "
            "after 10 min; class A reports every 3 min at anchor.",
        ),
    )  # fmt: skip
    METRICS: ClassVar[tuple[str, ...]] = (
        "duration_s",
        "distance_m",
        "mean_distance_m",
        "mean_speed_kn",
    )

    def __init__(self, rule_id: str, params: Mapping[str, float], context: RuleContext) -> None:
        super().__init__(rule_id, params, context)
        self.state = {"pairs": empty_table(_SCHEMA)}

    def evaluate(
        self,
        frame: VesselFrame,
        applies: np.ndarray[Any, Any],
        anchors: np.ndarray[Any, np.dtype[np.bool_]] | None = None,
    ) -> Sequence[Finding]:
        runs: Table = self.state["pairs"]
        interruption_ms = self.params["max_interruption"] * 60_000
        rows = frame_rows(frame, applies, self.params["max_age"] * 60_000)
        if rows.size < 2:
            expire_runs(runs, frame.time_ms, interruption_ms)
            return self._findings(runs, frame.time_ms)
        lag_s = (frame.time_ms - frame.ts_ms[rows]) / 1000.0
        sog, cog = frame.sog_kn[rows], frame.cog_deg[rows]
        lat, lon = advance(frame.lat[rows], frame.lon[rows], sog, cog, lag_s)
        i, j, distance = pairs_within(
            lat, lon, self.params["distance"], None if anchors is None else anchors[rows]
        )
        mmsi = frame.mmsi[rows].astype(np.int64)
        known_i, known_j = np.isfinite(sog[i]), np.isfinite(sog[j])
        limit = self.params["max_speed"]
        mid_lon = lon[i] + ((lon[j] - lon[i] + 180.0) % 360.0 - 180.0) / 2
        update_runs(
            runs, _SCHEMA, pair_keys(mmsi[i], mmsi[j]), frame.time_ms, interruption_ms,
            sums={
                "speeds": known_i.astype(np.int64) + known_j,
                "slow": (sog[i] < limit).astype(np.int64) + (sog[j] < limit),  # NaN: not below
                "sum_speed_kn": np.nan_to_num(sog[i]) + np.nan_to_num(sog[j]),
                "sum_distance_m": distance,
            },
            latest={
                "distance_m": distance,
                "lat": (lat[i] + lat[j]) / 2,
                "lon": (mid_lon + 180.0) % 360.0 - 180.0,
            },
        )  # fmt: skip
        return self._findings(runs, frame.time_ms)

    def _findings(self, runs: Table, time_ms: int) -> list[Finding]:
        span = runs["last_ms"] - runs["start_ms"]
        slow = 2 * runs["slow"] > runs["speeds"]
        found = np.flatnonzero((span >= self.params["duration"] * 3_600_000) & slow)
        findings = []
        for row in found.tolist():
            a, b = split_pair_key(int(runs["key"][row]))
            metrics = {
                "duration_s": float(span[row]) / 1000.0,
                "distance_m": float(runs["distance_m"][row]),
                "mean_distance_m": float(runs["sum_distance_m"][row] / runs["samples"][row]),
                "mean_speed_kn": float(runs["sum_speed_kn"][row] / max(runs["speeds"][row], 1)),
            }
            findings.append(
                Finding(
                    key=(a, b),
                    vessels=(a, b),
                    lat=float(runs["lat"][row]),
                    lon=float(runs["lon"][row]),
                    metrics=metrics,
                    started_ms=int(runs["start_ms"][row]),
                )
            )
        return findings
