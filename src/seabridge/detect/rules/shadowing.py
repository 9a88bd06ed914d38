"""shadowing: one vessel keeps within a range band of another, both under way, for a while.

The band keeps out what other rules cover: closer than ``min_range`` is close quarters'
business (the ecs-standard close-quarters threshold is 0.5 nm), and two vessels that stay
together while stopped are an encounter. Staying in a band of a few miles for half an hour
while both make way needs matching courses and speeds: one vessel following, escorting or
shadowing the other (or two ships sharing a traffic lane; narrow it with applicability,
e.g. to the parties' fleets).

At every tick, vessels with a fresh fix (``max_age``) making at least ``min_speed`` (SOG
known) are dead-reckoned to the tick, pairs within ``max_range`` are screened with a
KD-tree (exactly brute force's pairs), and a pair is *in the band* when ``min_range <=
range <= max_range``. Each pair keeps a run as in :mod:`.encounter`: from the first to the
latest tick in the band, surviving interruptions (out of the band, a vessel slower or not
seen) of at most ``max_interruption``. A pair is reported while its run lasts ``duration``
or more, including during a tolerated interruption.

Key: the two MMSIs sorted (the follower is not told apart from the one followed: roles can
swap, and a stable key must not). Metrics: ``duration_s``, ``mean_range_m`` over the run,
``range_m`` (latest), ``mean_speed_kn`` (both vessels over the run). Position: the midpoint.
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
    split_pair_keys,
    update_runs,
)
from seabridge.units import M_PER_NM

__all__ = ["Shadowing"]

_SCHEMA: Schema = {
    **RUN_SCHEMA,
    "samples": (np.int64, 0),
    "sum_range_m": (np.float64, 0.0),
    "sum_speed_kn": (np.float64, 0.0),
    "range_m": (np.float64, np.nan),
    "lat": (np.float64, np.nan),
    "lon": (np.float64, np.nan),
}


@register
class Shadowing(PairRule):
    """Pairs under way within ``[min_range, max_range]`` of each other for ``duration``."""

    kind: ClassVar[str] = "shadowing"
    SUMMARY: ClassVar[str] = (
        "One vessel keeps within a range band of another (e.g. 0.5-3 nm) for at least the "
        "duration, both under way."
    )
    PARAMS: ClassVar[tuple[ParamSpec, ...]] = (
        ParamSpec(
            "min_range", "nm", 0.5, 0.0, 10.0,
            "Inner edge of the band (issue 5 example: 0.5-3 nm); closer is close quarters "
            "(ecs-standard: 0.5 nm).",
        ),
        ParamSpec("max_range", "nm", 3.0, 0.1, 20.0, "Outer edge (issue 5 example: 3 nm)."),
        ParamSpec("duration", "min", 30.0, 1.0, 720.0, "In the band this long (issue 5: 30 min)."),
        ParamSpec(
            "min_speed", "kn", 2.0, 0.5, 30.0,
            "Both vessels at least this fast. Loitering and encounters are below 2 kn (GFW).",
        ),
        ParamSpec(
            "max_interruption", "min", 5.0, 0.0, 60.0,
            "A pair out of the band (or unseen) no longer than this keeps its run. "
            "Seabridge default.",
        ),
        ParamSpec(
            "max_age", "min", 3.0, 0.1, 30.0,
            "Fixes older than this at the tick are not used (as close_quarters; class A "
            "under way reports every 2-10 s, class B every 30 s: ITU-R M.1371).",
        ),
    )  # fmt: skip
    METRICS: ClassVar[tuple[str, ...]] = ("duration_s", "mean_range_m", "range_m", "mean_speed_kn")

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
        rows = rows[frame.sog_kn[rows] >= self.params["min_speed"]]  # NaN: not under way
        if rows.size < 2:
            expire_runs(runs, frame.time_ms, interruption_ms)
            return self._findings(runs)
        lag_s = (frame.time_ms - frame.ts_ms[rows]) / 1000.0
        sog = frame.sog_kn[rows]
        lat, lon = advance(frame.lat[rows], frame.lon[rows], sog, frame.cog_deg[rows], lag_s)
        anchored = None if anchors is None else anchors[rows]
        i, j, range_m = pairs_within(lat, lon, self.params["max_range"] * M_PER_NM, anchored)
        band = range_m >= self.params["min_range"] * M_PER_NM
        i, j, range_m = i[band], j[band], range_m[band]
        mmsi = frame.mmsi[rows].astype(np.int64)
        mid_lon = lon[i] + ((lon[j] - lon[i] + 180.0) % 360.0 - 180.0) / 2
        update_runs(
            runs, _SCHEMA, pair_keys(mmsi[i], mmsi[j]), frame.time_ms, interruption_ms,
            sums={"sum_range_m": range_m, "sum_speed_kn": (sog[i] + sog[j]) / 2},
            latest={
                "range_m": range_m,
                "lat": (lat[i] + lat[j]) / 2,
                "lon": (mid_lon + 180.0) % 360.0 - 180.0,
            },
        )  # fmt: skip
        return self._findings(runs)

    def _findings(self, runs: Table) -> list[Finding]:
        """A finding per run that has lasted ``duration``, columns computed at once.

        Thousands of lane-sharing pairs can be in their band at a tick (the rulebook's fleet
        filter drops most of them later), so the rows are converted column by column and
        only the :class:`Finding` objects are made one by one.
        """
        span = runs["last_ms"] - runs["start_ms"]
        rows = np.flatnonzero(span >= self.params["duration"] * 60_000)
        if rows.size == 0:
            return []
        keys = runs["key"][rows]
        samples = runs["samples"][rows].astype(np.float64)  # >= 1: a run has its first tick
        columns = zip(
            split_pair_keys(keys),  # (a, b)
            runs["lat"][rows].tolist(),
            runs["lon"][rows].tolist(),
            (span[rows] / 1000.0).tolist(),
            (runs["sum_range_m"][rows] / samples).tolist(),
            runs["range_m"][rows].tolist(),
            (runs["sum_speed_kn"][rows] / samples).tolist(),
            runs["start_ms"][rows].tolist(),
            strict=True,
        )
        # Positional (key, vessels, lat, lon, metrics, zone, started_ms): a sixth cheaper
        # than keywords per finding; the differential test pins every field.
        return [
            Finding(
                pair,
                pair,
                lat,
                lon,
                {
                    "duration_s": span_s,
                    "mean_range_m": mean_m,
                    "range_m": range_m,
                    "mean_speed_kn": mean_kn,
                },
                None,
                start_ms,
            )
            for pair, lat, lon, span_s, mean_m, range_m, mean_kn, start_ms in columns
        ]
