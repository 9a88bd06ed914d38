"""Scripted situations: behaviours with a time window that override a vessel's base behaviour.

approach, shadow, rendezvous, zone_entry and speed_run steer one vessel each (a rendezvous
steers two) with closed-form guidance, re-planned every tick from where the vessels really
are, so the scripted geometry comes true despite turn and speed limits:

- approach: aim at the tangent point of the circle of radius ``cpa`` around the target, in
  the target's frame (the relative track then just touches the circle), with the relative
  speed that gets there at the CPA time. Near the CPA the last velocity is held.
- shadow: the station point at a bearing (relative to the target's course) and range, with
  proportional closing on top of the target's own velocity; when the target turns, the
  shadowing vessel goes round it at that range rather than across its bows.
- rendezvous: both vessels reach the meeting point at the meeting time, the partner abeam of
  the lead at ``distance_m``; then the lead drifts and the partner keeps station.
- zone_entry: cross the nearest boundary point (or the line to ``via``) at the entry time,
  shuttle inside, and leave by the nearest way out after the leave time.
- speed_run: run at speed past a point (``pass_m`` abeam) and on for ``beyond_nm``.

These run in plain Python on scalars: there are tens of them, not thousands. Each returns
False from :meth:`steer` when it has finished, and the vessel's base behaviour resumes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import shapely
from shapely.geometry import LineString, MultiPolygon, Point, Polygon
from shapely.ops import nearest_points

from seabridge.geo import LocalPlane
from seabridge.sim.controllers import STATUS_UNDER_WAY
from seabridge.sim.motion import State
from seabridge.sim.shapes import plane_for, to_plane
from seabridge.units import MPS_PER_KN

__all__ = [
    "Approach",
    "Meeting",
    "PlaneZone",
    "RendezvousLead",
    "RendezvousPartner",
    "Shadow",
    "Situation",
    "SpeedRun",
    "ZoneEntry",
]

_FREEZE_S = 3.0
_SHADOW_CLOSING_S = 90.0
_GO_ROUND_DEG = 40.0
_ARRIVE_M = 200.0
_SHUTTLE_M = 300.0
_MIN_PLAN_S = 30.0


def _per_deg(lat: float) -> tuple[float, float]:
    phi = math.radians(lat)
    per_lat = 111_132.954 - 559.822 * math.cos(2 * phi) + 1.175 * math.cos(4 * phi)
    per_lon = 111_412.84 * math.cos(phi) - 93.5 * math.cos(3 * phi)
    return per_lat, per_lon


def _vec(lat1: float, lon1: float, lat2: float, lon2: float) -> tuple[float, float]:
    """(east, north) metres from point 1 to point 2, flat at point 1."""
    per_lat, per_lon = _per_deg(lat1)
    return ((lon2 - lon1 + 540.0) % 360.0 - 180.0) * per_lon, (lat2 - lat1) * per_lat


def _offset(lat: float, lon: float, east_m: float, north_m: float) -> tuple[float, float]:
    per_lat, per_lon = _per_deg(lat)
    return lat + north_m / per_lat, lon + east_m / per_lon


def _velocity(state: State, vessel: int) -> tuple[float, float]:
    speed = float(state.sog_kn[vessel]) * MPS_PER_KN
    course = math.radians(float(state.cog_deg[vessel]))
    return speed * math.sin(course), speed * math.cos(course)


def _command(state: State, vessel: int, east: float, north: float, max_kn: float) -> None:
    """Want the velocity (east, north) m/s, capped at ``max_kn``."""
    speed_kn = math.hypot(east, north) / MPS_PER_KN
    if speed_kn > 1e-6:
        state.want_cog_deg[vessel] = math.degrees(math.atan2(east, north)) % 360.0
    state.want_sog_kn[vessel] = min(speed_kn, max_kn)
    state.nav_status[vessel] = STATUS_UNDER_WAY


def _head_to(state: State, vessel: int, lat: float, lon: float, speed_kn: float) -> float:
    """Steer toward a point at a speed; returns the distance to it in metres."""
    east, north = _vec(float(state.lat[vessel]), float(state.lon[vessel]), lat, lon)
    distance = math.hypot(east, north)
    if distance > 1.0:
        state.want_cog_deg[vessel] = math.degrees(math.atan2(east, north)) % 360.0
    state.want_sog_kn[vessel] = speed_kn
    state.nav_status[vessel] = STATUS_UNDER_WAY
    return distance


@dataclass(eq=False)
class Situation:
    """A scripted behaviour of one vessel over a window; subclasses steer."""

    kind: str
    vessel: int
    start_s: float
    end_s: float | None
    where: str = ""
    """The behaviour's path in the scenario file, for errors."""

    def steer(self, now_s: float, state: State) -> bool:  # pragma: no cover - abstract
        raise NotImplementedError


@dataclass(eq=False)
class Approach(Situation):
    target: int = 0
    cpa_s: float = 0.0
    cpa_m: float = 0.0
    starboard: bool = True
    max_kn: float = 0.0
    _held: tuple[float, float] | None = field(default=None, init=False)

    def steer(self, now_s: float, state: State) -> bool:
        if self.end_s is not None and now_s >= self.end_s:
            return False
        if self.cpa_s - now_s <= _FREEZE_S and self._held is not None:
            state.want_cog_deg[self.vessel], state.want_sog_kn[self.vessel] = self._held
            return True
        own, target = self.vessel, self.target
        tlat, tlon = float(state.lat[target]), float(state.lon[target])
        rx, ry = _vec(tlat, tlon, float(state.lat[own]), float(state.lon[own]))
        vtx, vty = _velocity(state, target)
        rho = math.hypot(rx, ry)
        tau = max(self.cpa_s - now_s, 1.0)
        if rho <= self.cpa_m:
            _command(state, own, vtx, vty, self.max_kn)
        else:
            alpha = math.acos(self.cpa_m / rho)
            theta = math.atan2(ry, rx)
            course = math.radians(float(state.cog_deg[target]))
            right = (math.cos(course), -math.sin(course))
            candidates = [
                (
                    self.cpa_m * math.cos(theta + sign * alpha),
                    self.cpa_m * math.sin(theta + sign * alpha),
                )
                for sign in (1.0, -1.0)
            ]
            candidates.sort(key=lambda q: q[0] * right[0] + q[1] * right[1])
            qx, qy = candidates[1] if self.starboard else candidates[0]
            _command(state, own, (qx - rx) / tau + vtx, (qy - ry) / tau + vty, self.max_kn)
        self._held = (float(state.want_cog_deg[own]), float(state.want_sog_kn[own]))
        return True


def _station_keep(
    state: State, own: int, target: int, range_m: float, bearing_deg: float, max_kn: float
) -> None:
    """Close on the station at ``bearing_deg`` (relative to the target's course) and
    ``range_m``. When the station is far round the target (it turned), go round at the
    station's range, at most :data:`_GO_ROUND_DEG` at a time, instead of cutting across its
    bows."""
    tlat, tlon = float(state.lat[target]), float(state.lon[target])
    station = math.radians(float(state.cog_deg[target]) + bearing_deg)
    rx, ry = _vec(tlat, tlon, float(state.lat[own]), float(state.lon[own]))
    here = math.atan2(rx, ry)  # bearing of own from the target, radians
    turn = (station - here + math.pi) % (2 * math.pi) - math.pi
    if abs(turn) > math.radians(_GO_ROUND_DEG):
        station = here + math.copysign(math.radians(_GO_ROUND_DEG), turn)
    sx, sy = range_m * math.sin(station), range_m * math.cos(station)
    ex, ey = sx - rx, sy - ry
    vtx, vty = _velocity(state, target)
    _command(state, own, vtx + ex / _SHADOW_CLOSING_S, vty + ey / _SHADOW_CLOSING_S, max_kn)


@dataclass(eq=False)
class Shadow(Situation):
    target: int = 0
    range_m: float = 0.0
    bearing_deg: float = 90.0
    max_kn: float = 0.0

    def steer(self, now_s: float, state: State) -> bool:
        if self.end_s is not None and now_s >= self.end_s:
            return False
        _station_keep(state, self.vessel, self.target, self.range_m, self.bearing_deg, self.max_kn)
        return True


@dataclass(eq=False)
class Meeting:
    """Where a rendezvous meets: given, or the midpoint of the two vessels when it starts.
    The partner waits ``distance_m`` abeam of it (to the right of the drift course)."""

    lat: float | None
    lon: float | None
    distance_m: float
    drift_course_deg: float

    def point(self, state: State, lead: int, partner: int) -> tuple[float, float]:
        if self.lat is None or self.lon is None:
            self.lat = (float(state.lat[lead]) + float(state.lat[partner])) / 2.0
            self.lon = (float(state.lon[lead]) + float(state.lon[partner])) / 2.0
        return self.lat, self.lon

    def partner_point(self, state: State, lead: int, partner: int) -> tuple[float, float]:
        lat, lon = self.point(state, lead, partner)
        right = math.radians(self.drift_course_deg + 90.0)
        return _offset(
            lat, lon, self.distance_m * math.sin(right), self.distance_m * math.cos(right)
        )


@dataclass(eq=False)
class RendezvousLead(Situation):
    partner: int = 0
    meet_s: float = 0.0
    meeting: Meeting | None = None
    drift_kn: float = 0.5
    max_kn: float = 0.0
    within_m: float = 500.0

    def steer(self, now_s: float, state: State) -> bool:
        assert self.meeting is not None
        if self.end_s is not None and now_s >= self.end_s:
            return False
        if now_s < self.meet_s:
            lat, lon = self.meeting.point(state, self.vessel, self.partner)
            _plan_arrival(state, self.vessel, lat, lon, self.meet_s - now_s, self.max_kn)
        else:
            state.want_cog_deg[self.vessel] = self.meeting.drift_course_deg
            state.want_sog_kn[self.vessel] = self.drift_kn
            state.nav_status[self.vessel] = STATUS_UNDER_WAY
        return True


@dataclass(eq=False)
class RendezvousPartner(Situation):
    lead: int = 0
    meet_s: float = 0.0
    meeting: Meeting | None = None
    max_kn: float = 0.0

    def steer(self, now_s: float, state: State) -> bool:
        assert self.meeting is not None
        if self.end_s is not None and now_s >= self.end_s:
            return False
        if now_s < self.meet_s - 60.0:
            lat, lon = self.meeting.partner_point(state, self.lead, self.vessel)
            _plan_arrival(state, self.vessel, lat, lon, self.meet_s - now_s, self.max_kn)
        else:
            course = self.meeting.drift_course_deg + 90.0
            bearing = course - float(state.cog_deg[self.lead])
            _station_keep(
                state, self.vessel, self.lead, self.meeting.distance_m, bearing, self.max_kn
            )
        return True


def _plan_arrival(
    state: State, vessel: int, lat: float, lon: float, remaining_s: float, max_kn: float
) -> None:
    """Head for a point at the speed that arrives on time (slowing to a stop when there)."""
    east, north = _vec(float(state.lat[vessel]), float(state.lon[vessel]), lat, lon)
    distance = math.hypot(east, north)
    if distance < 50.0:
        state.want_sog_kn[vessel] = 0.0
        return
    speed_kn = distance / max(remaining_s, _MIN_PLAN_S) / MPS_PER_KN
    state.want_cog_deg[vessel] = math.degrees(math.atan2(east, north)) % 360.0
    state.want_sog_kn[vessel] = min(max(speed_kn, 1.0), max_kn)
    state.nav_status[vessel] = STATUS_UNDER_WAY


@dataclass(frozen=True, eq=False)
class PlaneZone:
    """A zone on a local plane centred on it, for steering into and out of it."""

    id: str
    plane: LocalPlane
    flat: Polygon | MultiPolygon

    @classmethod
    def of(cls, zone_id: str, geometry: Polygon | MultiPolygon) -> PlaneZone:
        plane = plane_for(geometry)
        flat = to_plane(geometry, plane)
        assert isinstance(flat, Polygon | MultiPolygon)
        return cls(zone_id, plane, flat)

    def xy(self, lat: float, lon: float) -> tuple[float, float]:
        x, y = self.plane.to_xy(lat, lon)
        return float(x), float(y)

    def latlon(self, x: float, y: float) -> tuple[float, float]:
        lat, lon = self.plane.to_latlon(x, y)
        return float(lat), float(lon)

    def contains(self, x: float, y: float) -> bool:
        return bool(shapely.contains_xy(self.flat, x, y))

    def part_at(self, x: float, y: float) -> Polygon:
        """The part of the zone containing (or nearest to) a plane point."""
        if isinstance(self.flat, Polygon):
            return self.flat
        here = Point(x, y)
        return min(self.flat.geoms, key=lambda part: part.distance(here))


def _unit(x: float, y: float) -> tuple[float, float]:
    norm = math.hypot(x, y)
    return (x / norm, y / norm) if norm > 1e-9 else (0.0, 1.0)


@dataclass(eq=False)
class ZoneEntry(Situation):
    zone: PlaneZone | None = None
    enter_s: float = 0.0
    leave_s: float | None = None
    depth_m: float = 3704.0
    speed_kn: float = 6.0
    exit_m: float = 1852.0
    via: tuple[float, float] | None = None
    max_kn: float = 0.0
    _phase: str = field(default="", init=False)
    _entry: tuple[float, float] = field(default=(0.0, 0.0), init=False)
    _aims: list[tuple[float, float]] = field(default_factory=list, init=False)
    _exit: tuple[float, float] = field(default=(0.0, 0.0), init=False)

    def _plan_entry(self, x: float, y: float) -> None:
        assert self.zone is not None
        here = Point(x, y)
        if self.via is not None:
            vx, vy = self.zone.xy(*self.via)
            crossing = LineString([(x, y), (vx, vy)]).intersection(self.zone.flat.boundary)
            entry = nearest_points(crossing, here)[0] if not crossing.is_empty else Point(vx, vy)
            ux, uy = _unit(vx - x, vy - y)
        else:
            entry = nearest_points(self.zone.flat, here)[0]
            ux, uy = _unit(entry.x - x, entry.y - y)
        depth = self.depth_m
        inner = (entry.x + ux * depth, entry.y + uy * depth)
        while not self.zone.contains(*inner) and depth > 50.0:
            depth /= 2.0
            inner = (entry.x + ux * depth, entry.y + uy * depth)
        middle = (entry.x + ux * depth / 2.0, entry.y + uy * depth / 2.0)
        self._entry = (entry.x, entry.y)
        self._aims = [inner, middle]
        self._phase = "approach"

    def _plan_exit(self, x: float, y: float) -> None:
        assert self.zone is not None
        part = self.zone.part_at(x, y)
        out = nearest_points(part.exterior, Point(x, y))[0]
        ux, uy = _unit(out.x - x, out.y - y)
        self._exit = (out.x + ux * self.exit_m, out.y + uy * self.exit_m)
        self._phase = "leave"

    def steer(self, now_s: float, state: State) -> bool:
        assert self.zone is not None
        if self.end_s is not None and now_s >= self.end_s:
            return False
        own = self.vessel
        x, y = self.zone.xy(float(state.lat[own]), float(state.lon[own]))
        if not self._phase:
            self._plan_entry(x, y)
        if self._phase == "approach" and self.zone.contains(x, y):
            self._phase = "inside"
        if self._phase == "inside" and self.leave_s is not None and now_s >= self.leave_s:
            self._plan_exit(x, y)
        if self._phase == "approach":
            ax, ay = self._aims[0]
            ex, ey = self._entry
            ux, uy = _unit(ax - x, ay - y)
            along = max((ex - x) * ux + (ey - y) * uy, 0.0)
            remaining = max(self.enter_s - now_s, _MIN_PLAN_S)
            speed = min(max(along / remaining / MPS_PER_KN, 1.0), self.max_kn)
            _head_to(state, own, *self.zone.latlon(ax, ay), speed)
        elif self._phase == "inside":
            if _head_to(state, own, *self.zone.latlon(*self._aims[0]), self.speed_kn) < _SHUTTLE_M:
                self._aims.reverse()
        else:
            if _head_to(state, own, *self.zone.latlon(*self._exit), self.speed_kn) < _ARRIVE_M:
                return False
        return True


@dataclass(eq=False)
class SpeedRun(Situation):
    lat: float = 0.0
    lon: float = 0.0
    speed_kn: float = 0.0
    pass_m: float = 0.0
    beyond_m: float = 0.0
    zone_id: str | None = None
    _legs: list[tuple[float, float]] = field(default_factory=list, init=False)

    def _plan(self, lat: float, lon: float) -> None:
        east, north = _vec(lat, lon, self.lat, self.lon)
        ux, uy = _unit(east, north)
        # Pass the point pass_m to starboard of the run, then carry on beyond_nm.
        aim = _offset(self.lat, self.lon, -uy * self.pass_m, ux * self.pass_m)
        beyond = _offset(aim[0], aim[1], ux * self.beyond_m, uy * self.beyond_m)
        self._legs = [aim, beyond]

    def steer(self, now_s: float, state: State) -> bool:
        if self.end_s is not None and now_s >= self.end_s:
            return False
        own = self.vessel
        if not self._legs:
            self._plan(float(state.lat[own]), float(state.lon[own]))
        if _head_to(state, own, *self._legs[0], self.speed_kn) < _ARRIVE_M:
            self._legs.pop(0)
            if not self._legs:
                return False
        return True
