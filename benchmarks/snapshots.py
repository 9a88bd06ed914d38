"""Seeded traffic snapshots with realistic speeds for the close-quarters benchmarks.

Port clusters of moored vessels, slow fishing fleets and open-sea traffic at 8-22 kn along
lanes, over the East China Sea box (24-34 N, 120-131 E). The shares stay fixed as the count
grows, so density (and the number of close pairs) grows with it, as it would in a busier sea.
"""

from __future__ import annotations

from typing import Any

import numpy as np

F64 = np.ndarray[Any, np.dtype[np.float64]]
_PORTS = 30
_FLEETS = 40
_LANES = 12


def snapshot(count: int, seed: int = 0) -> tuple[F64, F64, F64, F64]:
    """(lat, lon, sog_kn, cog_deg) for ``count`` vessels."""
    rng = np.random.default_rng(seed)
    moored, fishing = int(count * 0.2), int(count * 0.3)
    underway = count - moored - fishing
    port_lat = rng.uniform(24.5, 33.5, _PORTS)
    port_lon = rng.uniform(120.5, 130.5, _PORTS)
    port = rng.integers(0, _PORTS, moored)
    fleet_lat = rng.uniform(25.0, 33.0, _FLEETS)
    fleet_lon = rng.uniform(121.0, 129.0, _FLEETS)
    fleet = rng.integers(0, _FLEETS, fishing)
    lane_lat0 = rng.uniform(24.5, 33.5, _LANES)
    lane_lon0 = rng.uniform(120.5, 130.5, _LANES)
    lane_course = rng.uniform(0.0, 360.0, _LANES)
    lane = rng.integers(0, _LANES, underway)
    along_deg = rng.uniform(-4.0, 4.0, underway)
    across_deg = rng.normal(0.0, 0.02, underway)
    course = np.radians(lane_course[lane])
    lat = np.concatenate(
        [
            port_lat[port] + rng.normal(0, 0.03, moored),
            fleet_lat[fleet] + rng.normal(0, 0.12, fishing),
            lane_lat0[lane] + along_deg * np.cos(course) - across_deg * np.sin(course),
        ]
    )
    lon = np.concatenate(
        [
            port_lon[port] + rng.normal(0, 0.03, moored),
            fleet_lon[fleet] + rng.normal(0, 0.12, fishing),
            lane_lon0[lane] + along_deg * np.sin(course) + across_deg * np.cos(course),
        ]
    )
    sog = np.concatenate(
        [
            rng.uniform(0.0, 0.3, moored),
            rng.uniform(0.0, 5.0, fishing),
            rng.uniform(8.0, 22.0, underway),
        ]
    )
    heading = np.where(rng.random(underway) < 0.5, lane_course[lane], lane_course[lane] + 180.0)
    cog = np.concatenate(
        [
            rng.uniform(0.0, 360.0, moored + fishing),
            (heading + rng.normal(0.0, 3.0, underway)) % 360.0,
        ]
    )
    shuffle = rng.permutation(count)
    return lat[shuffle], lon[shuffle], sog[shuffle], cog[shuffle]
