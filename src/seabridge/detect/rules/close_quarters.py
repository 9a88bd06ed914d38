"""close_quarters: pairs whose minimum separation within a horizon is below a threshold.

"Minimum separation over [now, now + horizon]" includes pairs already inside the threshold
and moving apart (detection-notes.md §4.2). The screen and the exact CPA are
:func:`seabridge.detect.cpa.close_pairs`. Vessels without SOG or COG are left out (their
future is unknown); vessels reporting nav status 1 (at anchor) or 5 (moored) and vessels
slower than ``min_speed`` count as stationary. A pair is reported where its CPA happens
(the midpoint of the two vessels at TCPA, dead-reckoned).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from seabridge.detect.cpa import CpaPairs, close_pairs
from seabridge.detect.model import Finding, ParamSpec, VesselFrame
from seabridge.detect.rule import PairRule, register
from seabridge.units import M_PER_NM, MPS_PER_KN

__all__ = ["CloseQuarters"]

_STATIONARY_STATUS = (1, 5)  # at anchor, moored (ITU-R M.1371-5 table 45)


@register
class CloseQuarters(PairRule):
    """Pairs that will pass (or are) closer than ``threshold`` within ``horizon``."""

    kind: ClassVar[str] = "close_quarters"
    SUMMARY: ClassVar[str] = (
        "Pairs of vessels whose minimum separation within the horizon is below the threshold, "
        "including pairs already inside it and moving apart."
    )
    PARAMS: ClassVar[tuple[ParamSpec, ...]] = (
        ParamSpec("threshold", "nm", 0.5, 0.01, 5.0, "Separation below which a pair is close."),
        ParamSpec("horizon", "min", 12.0, 0.0, 60.0, "How far ahead CPA is predicted."),
        ParamSpec("min_speed", "kn", 0.5, 0.0, 5.0, "Slower vessels are treated as stationary."),
        ParamSpec(
            "max_age", "min", 3.0, 0.1, 30.0, "Fixes older than this at the tick are not used."
        ),
    )
    METRICS: ClassVar[tuple[str, ...]] = ("cpa_m", "tcpa_s", "range_m")
    KEY_METRIC: ClassVar[str | None] = "cpa_m"
    KEY_WORSE: ClassVar[str] = "lower"

    def evaluate(
        self,
        frame: VesselFrame,
        applies: np.ndarray[Any, Any],
        anchors: np.ndarray[Any, np.dtype[np.bool_]] | None = None,
    ) -> Sequence[Finding]:
        fresh = frame.time_ms - frame.ts_ms <= self.params["max_age"] * 60_000
        known = np.isfinite(frame.sog_kn) & np.isfinite(frame.cog_deg)
        rows = np.flatnonzero(applies & frame.usable & fresh & known)
        if rows.size < 2:
            return []
        sog = frame.sog_kn[rows].copy()
        stationary = (sog < self.params["min_speed"]) | np.isin(
            frame.nav_status[rows], _STATIONARY_STATUS
        )
        sog[stationary] = 0.0
        # Dead-reckon each fix to the tick so every vessel is compared at the same instant.
        lag_s = (frame.time_ms - frame.ts_ms[rows]) / 1000.0
        lat, lon = _advance(frame.lat[rows], frame.lon[rows], sog, frame.cog_deg[rows], lag_s)
        horizon_s = self.params["horizon"] * 60.0
        pairs = close_pairs(
            lat, lon, sog, frame.cog_deg[rows],
            horizon_s=horizon_s, threshold_m=self.params["threshold"] * M_PER_NM,
        )  # fmt: skip
        if anchors is not None:
            anchored = anchors[rows]
            keep = anchored[pairs.i] | anchored[pairs.j]
            pairs = CpaPairs(pairs.i[keep], pairs.j[keep], pairs.cpa_m[keep], pairs.tcpa_s[keep])
        cog = frame.cog_deg[rows]
        # Where each pair is at its CPA (the midpoint of the two dead-reckoned positions).
        lat_i, lon_i = _advance(
            lat[pairs.i], lon[pairs.i], sog[pairs.i], cog[pairs.i], pairs.tcpa_s
        )
        lat_j, lon_j = _advance(
            lat[pairs.j], lon[pairs.j], sog[pairs.j], cog[pairs.j], pairs.tcpa_s
        )
        range_m = _range_m(lat[pairs.i], lon[pairs.i], lat[pairs.j], lon[pairs.j])
        mid_lon = lon_i + ((lon_j - lon_i + 180.0) % 360.0 - 180.0) / 2
        mmsi = frame.mmsi[rows]
        findings = []
        for k in range(pairs.i.shape[0]):
            a, b = sorted((int(mmsi[pairs.i[k]]), int(mmsi[pairs.j[k]])))
            metrics = {
                "cpa_m": float(pairs.cpa_m[k]),
                "tcpa_s": float(pairs.tcpa_s[k]),
                "range_m": float(range_m[k]),
            }
            findings.append(
                Finding(
                    key=(a, b),
                    vessels=(a, b),
                    lat=float((lat_i[k] + lat_j[k]) / 2),
                    lon=float((mid_lon[k] + 180.0) % 360.0 - 180.0),
                    metrics=metrics,
                )
            )
        return findings


def _advance(
    lat: np.ndarray[Any, Any],
    lon: np.ndarray[Any, Any],
    sog_kn: np.ndarray[Any, Any],
    cog_deg: np.ndarray[Any, Any],
    seconds: np.ndarray[Any, Any],
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """Dead reckoning on a local plane (metres per degree at each latitude)."""
    distance_m = sog_kn * MPS_PER_KN * seconds
    course = np.radians(cog_deg)
    dlat = distance_m * np.cos(course) / 111_132.0
    dlon = distance_m * np.sin(course) / (111_320.0 * np.cos(np.radians(lat)))
    return lat + dlat, (lon + dlon + 180.0) % 360.0 - 180.0


def _range_m(
    lat_a: np.ndarray[Any, Any],
    lon_a: np.ndarray[Any, Any],
    lat_b: np.ndarray[Any, Any],
    lon_b: np.ndarray[Any, Any],
) -> np.ndarray[Any, Any]:
    """Current separations on each pair's local plane (metres)."""
    mid = np.radians((lat_a + lat_b) / 2)
    dlon = (lon_b - lon_a + 180.0) % 360.0 - 180.0
    separation: np.ndarray[Any, Any] = np.hypot(
        dlon * 111_320.0 * np.cos(mid), (lat_b - lat_a) * 111_132.0
    )
    return separation
