"""Base behaviours, vectorized over every vessel that follows them: routes, fishing, holding.

A base behaviour is what a vessel does when no scripted situation drives it: transit along a
route or lane, patrol a loop, fish, lie at anchor or moored. One controller of each kind
serves all its vessels with numpy, so ten thousand fishing vessels cost a few array
operations per tick. Controllers only set wanted course, speed and navigational status
(:class:`seabridge.sim.motion.State`); motion happens in the state.

Navigational status codes are ITU-R M.1371-5 table 45: 0 under way using engine, 1 at
anchor, 5 moored, 7 engaged in fishing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from seabridge.sim.draws import STREAMS, uniform4
from seabridge.sim.motion import State
from seabridge.sim.shapes import flat_vector_m
from seabridge.units import MPS_PER_KN

__all__ = [
    "STATUS_ANCHORED",
    "STATUS_FISHING",
    "STATUS_MOORED",
    "STATUS_UNDER_WAY",
    "FishTask",
    "Fishing",
    "Hold",
    "HoldTask",
    "RouteFollower",
    "RouteTask",
]

F64 = NDArray[np.float64]
IDX = NDArray[np.intp]
STATUS_UNDER_WAY = 0
STATUS_ANCHORED = 1
STATUS_MOORED = 5
STATUS_FISHING = 7
_ARRIVE_MIN_M = 250.0
_ARRIVE_LEAD_S = 20.0
_HOLD_ARRIVE_M = 300.0
_HOLD_APPROACH_KN = 8.0


@dataclass(frozen=True, eq=False)
class RouteTask:
    """Follow waypoints at a speed; a loop starts again, an open route ends at anchor.

    ``join_nearest``: start at the end of the leg nearest to the vessel (lanes and loops the
    vessel is already on) rather than at the first waypoint (a route from elsewhere).
    """

    lat: F64
    lon: F64
    speed_kn: float
    loop: bool = False
    join_nearest: bool = False


@dataclass(frozen=True, eq=False)
class FishTask:
    """Wander inside a box with a gear-like speed profile: trawl legs and hauls."""

    south: float
    west: float
    north: float
    east: float
    speed_kn: tuple[float, float]
    haul_speed_kn: tuple[float, float]
    haul_every_s: tuple[float, float]
    haul_for_s: tuple[float, float]
    leg_s: tuple[float, float]


@dataclass(frozen=True, eq=False)
class HoldTask:
    """No way on at a berth (None: stop where the vessel is), status anchored or moored."""

    lat: float | None
    lon: float | None
    status: int


def _bearing_deg(east: F64, north: F64) -> F64:
    return np.asarray(np.degrees(np.arctan2(east, north)) % 360.0)


class RouteFollower:
    """Every vessel on a route or loop: steer to the waypoint ahead, advance on arrival."""

    def __init__(self) -> None:
        self._members: dict[int, tuple[RouteTask, int]] = {}
        self._dirty = True
        self._idx: IDX = np.empty(0, np.intp)
        self._ptr: IDX = np.empty(0, np.intp)
        self._first: IDX = np.empty(0, np.intp)
        self._end: IDX = np.empty(0, np.intp)
        self._loop = np.empty(0, np.bool_)
        self._speed: F64 = np.empty(0)
        self._wlat: F64 = np.empty(0)
        self._wlon: F64 = np.empty(0)

    def __contains__(self, vessel: int) -> bool:
        return vessel in self._members

    def add(self, vessel: int, task: RouteTask, state: State, *, resume: bool) -> None:
        """Start ``vessel`` on ``task``: at the first waypoint, or (``resume``) at the end of
        the leg nearest to where it is."""
        self._sync()
        ahead = _nearest_leg_end(task, state.lat[vessel], state.lon[vessel]) if resume else 0
        self._members[vessel] = (task, ahead)
        self._dirty = True

    def remove(self, vessel: int) -> None:
        self._sync()
        self._members.pop(vessel, None)
        self._dirty = True

    def _sync(self) -> None:
        """Write the array pointers back into the member table before it changes."""
        for number, vessel in enumerate(self._idx.tolist()):
            if vessel in self._members:
                task, _ = self._members[vessel]
                self._members[vessel] = (task, int(self._ptr[number] - self._first[number]))
        self._idx = np.empty(0, np.intp)

    def _rebuild(self) -> None:
        vessels = sorted(self._members)
        tasks: dict[int, int] = {}
        lat_parts: list[F64] = []
        lon_parts: list[F64] = []
        offsets: list[int] = []
        first, ptr, end, loop, speed = [], [], [], [], []
        total = 0
        for vessel in vessels:
            task, ahead = self._members[vessel]
            if id(task) not in tasks:
                tasks[id(task)] = len(offsets)
                offsets.append(total)
                lat_parts.append(task.lat)
                lon_parts.append(task.lon)
                total += task.lat.size
            base = offsets[tasks[id(task)]]
            first.append(base)
            ptr.append(base + ahead)
            end.append(base + task.lat.size)
            loop.append(task.loop)
            speed.append(task.speed_kn)
        self._idx = np.asarray(vessels, dtype=np.intp)
        self._first = np.asarray(first, dtype=np.intp)
        self._ptr = np.asarray(ptr, dtype=np.intp)
        self._end = np.asarray(end, dtype=np.intp)
        self._loop = np.asarray(loop, dtype=np.bool_)
        self._speed = np.asarray(speed, dtype=np.float64)
        self._wlat = np.concatenate(lat_parts) if lat_parts else np.empty(0)
        self._wlon = np.concatenate(lon_parts) if lon_parts else np.empty(0)
        self._dirty = False

    def steer(self, state: State) -> None:
        if self._dirty:
            self._rebuild()
        if self._idx.size == 0:
            return
        idx = self._idx
        lat, lon = state.lat[idx], state.lon[idx]
        radius = np.maximum(_ARRIVE_MIN_M, state.sog_kn[idx] * MPS_PER_KN * _ARRIVE_LEAD_S)
        live = self._ptr < self._end
        target = np.minimum(self._ptr, self._end - 1)
        east, north = flat_vector_m(lat, lon, self._wlat[target], self._wlon[target])
        arrived = live & (np.hypot(east, north) < radius)
        if arrived.any():
            self._ptr[arrived] += 1
            wrap = arrived & self._loop & (self._ptr >= self._end)
            self._ptr[wrap] = self._first[wrap]
            live = self._ptr < self._end
            target = np.minimum(self._ptr, self._end - 1)
            east, north = flat_vector_m(lat, lon, self._wlat[target], self._wlon[target])
        state.want_cog_deg[idx] = np.where(live, _bearing_deg(east, north), state.cog_deg[idx])
        state.want_sog_kn[idx] = np.where(live, self._speed, 0.0)
        state.nav_status[idx] = np.where(live, STATUS_UNDER_WAY, STATUS_ANCHORED)


def _nearest_leg_end(task: RouteTask, lat: float, lon: float) -> int:
    """The index of the waypoint that ends the route leg nearest to (lat, lon)."""
    east, north = flat_vector_m(lat, lon, task.lat, task.lon)
    if task.lat.size == 1:
        return 0
    ax, ay = east[:-1], north[:-1]
    bx, by = east[1:], north[1:]
    if task.loop:
        ax, ay = east, north
        bx, by = np.roll(east, -1), np.roll(north, -1)
    dx, dy = bx - ax, by - ay
    length2 = np.maximum(dx * dx + dy * dy, 1e-9)
    share = np.clip(-(ax * dx + ay * dy) / length2, 0.0, 1.0)
    gap = np.hypot(ax + share * dx, ay + share * dy)
    leg = int(np.argmin(gap))
    return (leg + 1) % task.lat.size if task.loop else leg + 1


class Fishing:
    """Fishing vessels: trawl legs at a few knots on random courses, hauls at under 1.5 kn,
    always steering back into their box when they stray out of it."""

    def __init__(self, seed: int, mmsi: NDArray[np.int64]) -> None:
        self._seed = seed
        self._mmsi = mmsi
        self._members: dict[int, FishTask] = {}
        self._dirty = True
        size = mmsi.size
        self._draws = np.zeros(size, dtype=np.int64)
        self._leg_until = np.full(size, -np.inf)
        self._haul_at = np.full(size, np.nan)
        self._hauling = np.zeros(size, dtype=np.bool_)
        self._course = np.zeros(size)
        self._speed = np.zeros(size)
        self._idx: IDX = np.empty(0, np.intp)
        self._box = np.empty((0, 4))
        self._params = np.empty((0, 10))

    def __contains__(self, vessel: int) -> bool:
        return vessel in self._members

    def add(self, vessel: int, task: FishTask) -> None:
        self._members[vessel] = task
        self._leg_until[vessel] = -np.inf
        self._haul_at[vessel] = np.nan
        self._hauling[vessel] = False
        self._dirty = True

    def remove(self, vessel: int) -> None:
        self._members.pop(vessel, None)
        self._dirty = True

    def _rebuild(self) -> None:
        vessels = sorted(self._members)
        tasks = [self._members[vessel] for vessel in vessels]
        self._idx = np.asarray(vessels, dtype=np.intp)
        self._box = np.asarray(
            [(task.south, task.west, task.north, task.east) for task in tasks]
        ).reshape(-1, 4)
        self._params = np.asarray(
            [
                (
                    *task.speed_kn,
                    *task.haul_speed_kn,
                    *task.haul_every_s,
                    *task.haul_for_s,
                    *task.leg_s,
                )
                for task in tasks
            ]
        ).reshape(-1, 10)
        self._dirty = False

    def _draw(self, vessels: IDX) -> F64:
        """Four uniform numbers per vessel, from each vessel's own stream: shape (n, 4)."""
        numbers = uniform4(
            self._seed, self._mmsi[vessels], self._draws[vessels], STREAMS["fishing"]
        )
        self._draws[vessels] += 1
        return numbers

    def steer(self, state: State, now_s: float) -> None:
        if self._dirty:
            self._rebuild()
        if self._idx.size == 0:
            return
        idx = self._idx
        due = np.flatnonzero(now_s >= self._leg_until[idx])
        if due.size:
            self._new_legs(due, now_s)
        lat, lon = state.lat[idx], state.lon[idx]
        south, west, north, east = self._box.T
        outside = (lat < south) | (lat > north) | (lon < west) | (lon > east)
        course = self._course[idx].copy()
        if outside.any():
            dx, dy = flat_vector_m(
                lat[outside], lon[outside], (south + north)[outside] / 2, (west + east)[outside] / 2
            )
            course[outside] = _bearing_deg(dx, dy)
        state.want_cog_deg[idx] = course
        state.want_sog_kn[idx] = self._speed[idx]
        state.nav_status[idx] = STATUS_FISHING

    def _new_legs(self, due: IDX, now_s: float) -> None:
        vessels = self._idx[due]
        p = self._params[due]
        u = self._draw(vessels)
        first = np.isnan(self._haul_at[vessels])
        self._haul_at[vessels] = np.where(
            first, now_s + p[:, 4] + u[:, 0] * (p[:, 5] - p[:, 4]), self._haul_at[vessels]
        )
        start_haul = (~self._hauling[vessels]) & (now_s >= self._haul_at[vessels])
        haul_for = p[:, 6] + u[:, 1] * (p[:, 7] - p[:, 6])
        leg_for = p[:, 8] + u[:, 1] * (p[:, 9] - p[:, 8])
        trawl_kn = p[:, 0] + u[:, 2] * (p[:, 1] - p[:, 0])
        haul_kn = p[:, 2] + u[:, 2] * (p[:, 3] - p[:, 2])
        turn = (u[:, 3] - 0.5) * 240.0
        self._course[vessels] = np.where(
            first, u[:, 3] * 360.0, (self._course[vessels] + turn) % 360.0
        )
        self._speed[vessels] = np.where(start_haul, haul_kn, trawl_kn)
        self._leg_until[vessels] = now_s + np.where(start_haul, haul_for, leg_for)
        ended_haul = self._hauling[vessels] & ~start_haul
        self._haul_at[vessels] = np.where(
            ended_haul,
            now_s + p[:, 4] + u[:, 0] * (p[:, 5] - p[:, 4]),
            self._haul_at[vessels],
        )
        self._hauling[vessels] = start_haul


class Hold:
    """Vessels at anchor or moored: no way on; first steam to the berth if away from it."""

    def __init__(self) -> None:
        self._members: dict[int, HoldTask] = {}
        self._dirty = True
        self._idx: IDX = np.empty(0, np.intp)
        self._lat: F64 = np.empty(0)
        self._lon: F64 = np.empty(0)
        self._status = np.empty(0, np.int8)

    def __contains__(self, vessel: int) -> bool:
        return vessel in self._members

    def add(self, vessel: int, task: HoldTask) -> None:
        self._members[vessel] = task
        self._dirty = True

    def remove(self, vessel: int) -> None:
        self._members.pop(vessel, None)
        self._dirty = True

    def _rebuild(self) -> None:
        vessels = sorted(self._members)
        tasks = [self._members[vessel] for vessel in vessels]
        self._idx = np.asarray(vessels, dtype=np.intp)
        # A hold without a berth stops where it is: NaN never counts as "away".
        self._lat = np.asarray([np.nan if t.lat is None else t.lat for t in tasks], np.float64)
        self._lon = np.asarray([np.nan if t.lon is None else t.lon for t in tasks], np.float64)
        self._status = np.asarray([task.status for task in tasks], dtype=np.int8)
        self._dirty = False

    def steer(self, state: State) -> None:
        if self._dirty:
            self._rebuild()
        if self._idx.size == 0:
            return
        idx = self._idx
        east, north = flat_vector_m(state.lat[idx], state.lon[idx], self._lat, self._lon)
        with np.errstate(invalid="ignore"):
            away = np.hypot(east, north) > _HOLD_ARRIVE_M
        state.want_cog_deg[idx] = np.where(away, _bearing_deg(east, north), state.cog_deg[idx])
        # Slow down on the way in (about four minutes out), so a berth is not overshot.
        approach_kn = np.minimum(_HOLD_APPROACH_KN, np.hypot(east, north) / 240.0 / MPS_PER_KN)
        state.want_sog_kn[idx] = np.where(away, approach_kn, 0.0)
        state.nav_status[idx] = np.where(away, STATUS_UNDER_WAY, self._status)
