"""Vessel kinematics: every vessel steps together, on the WGS-84 ellipsoid.

Behaviours only say what a vessel wants (``want_cog_deg``, ``want_sog_kn``); :meth:`State.step`
moves every vessel one tick toward that, within its limits: a maximum rate of turn and a
maximum acceleration (both ways), then advances it along its mean course of the tick with
the geodesic direct problem (:func:`seabridge.geo.forward`, pyproj's Geod). Heading equals
course (no wind or current). The rate of turn of the last tick is kept for the reports.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from seabridge.geo import forward
from seabridge.units import MPS_PER_KN

__all__ = ["State", "angle_diff_deg"]

F64 = NDArray[np.float64]


def angle_diff_deg(to_deg: F64 | float, from_deg: F64 | float) -> F64:
    """The signed smallest turn from ``from_deg`` to ``to_deg``, in [-180, 180)."""
    return np.asarray((np.asarray(to_deg) - np.asarray(from_deg) + 540.0) % 360.0 - 180.0)


@dataclass
class State:
    """The kinematic state of all vessels, one array element per vessel."""

    lat: F64
    lon: F64
    cog_deg: F64
    sog_kn: F64
    max_speed_kn: F64
    max_turn_deg_s: F64
    accel_kn_s: F64
    want_cog_deg: F64 = field(init=False)
    want_sog_kn: F64 = field(init=False)
    rot_deg_min: F64 = field(init=False)
    nav_status: NDArray[np.int8] = field(init=False)

    def __post_init__(self) -> None:
        size = self.lat.size
        self.want_cog_deg = self.cog_deg.copy()
        self.want_sog_kn = self.sog_kn.copy()
        self.rot_deg_min = np.zeros(size)
        self.nav_status = np.zeros(size, dtype=np.int8)

    @property
    def size(self) -> int:
        return int(self.lat.size)

    def settle(self, keep: NDArray[np.bool_]) -> None:
        """Start vessels already on their wanted course and speed (at the first tick),
        except those whose course and speed were given (``keep``)."""
        take = ~keep
        self.cog_deg[take] = self.want_cog_deg[take] % 360.0
        self.sog_kn[take] = np.clip(self.want_sog_kn, 0.0, self.max_speed_kn)[take]

    def step(self, dt_s: float) -> None:
        """Advance every vessel by ``dt_s`` seconds."""
        turn = np.clip(
            angle_diff_deg(self.want_cog_deg, self.cog_deg),
            -self.max_turn_deg_s * dt_s,
            self.max_turn_deg_s * dt_s,
        )
        want_sog = np.clip(self.want_sog_kn, 0.0, self.max_speed_kn)
        change = np.clip(want_sog - self.sog_kn, -self.accel_kn_s * dt_s, self.accel_kn_s * dt_s)
        new_sog = self.sog_kn + change
        distance_m = (self.sog_kn + new_sog) * (0.5 * MPS_PER_KN * dt_s)
        moving = np.flatnonzero(distance_m > 0.0)
        if moving.size:
            mean_course = self.cog_deg[moving] + 0.5 * turn[moving]
            lat, lon = forward(self.lat[moving], self.lon[moving], mean_course, distance_m[moving])
            self.lat[moving] = lat
            self.lon[moving] = lon
        self.cog_deg = (self.cog_deg + turn) % 360.0
        self.sog_kn = new_sog
        self.rot_deg_min = turn * (60.0 / dt_s)
