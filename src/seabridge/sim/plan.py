"""Scenario -> plan: every name resolved, every vessel generated, every behaviour a task.

The plan is what the engine runs: vessel identities, the initial kinematic state, each
vessel's base behaviours (from a time on) and scripted situations (over a window), the
dark periods, the zones, and what the ground truth watches. Everything a scenario names is
checked here, and a bad reference becomes a :class:`~seabridge.sim.scenario.ScenarioError`
naming the file and the field path: an unknown point, zone, lane or vessel; an MMSI whose MID
does not match the flag, or that is not in the fleet of the party it claims; two situations of
one vessel that overlap.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray
from shapely.geometry import MultiPolygon, Point, Polygon

from seabridge import geo
from seabridge.ais.mid import flag_for_mmsi
from seabridge.errors import PackError
from seabridge.packs import Party, load_parties
from seabridge.sim import schema as s
from seabridge.sim.controllers import (
    STATUS_ANCHORED,
    STATUS_MOORED,
    FishTask,
    HoldTask,
    RouteTask,
)
from seabridge.sim.draws import fleet_rng
from seabridge.sim.encode import Identity
from seabridge.sim.fleets import (
    LanePlacer,
    callsign_for,
    fishing_cells,
    imo_number,
    merchant_name,
    pick_mmsis,
)
from seabridge.sim.motion import State
from seabridge.sim.scenario import Scenario, ScenarioError
from seabridge.sim.shapes import (
    Route,
    cells_in,
    flat_vector_m,
    loop_around,
    offset_route,
    points_in,
)
from seabridge.sim.situations import (
    Approach,
    PlaneZone,
    RendezvousLead,
    RendezvousPartner,
    Shadow,
    Situation,
    SpeedRun,
    ZoneEntry,
)
from seabridge.sim.timespec import When
from seabridge.units import M_PER_NM

__all__ = ["BaseTask", "Plan", "VesselPlan", "build_plan"]

F64 = NDArray[np.float64]
BaseTask = RouteTask | FishTask | HoldTask
_DEFAULT_STATION = "sim"
# Lane tracks are dead-reckoned along the polyline; real ones cut corners a little.
_LANE_CLEARANCE = 1.25


def _performance(ship_type: int) -> tuple[float, float, float]:
    """Default (max speed kn, turn deg/min, acceleration kn/min) by ship type."""
    if ship_type == 30:
        return 12.0, 90.0, 6.0
    if 40 <= ship_type <= 49:
        return 40.0, 60.0, 10.0
    if ship_type in (35, 51, 55) or 50 <= ship_type <= 59:
        return 25.0, 60.0, 6.0
    if 60 <= ship_type <= 69:
        return 24.0, 30.0, 3.0
    if 70 <= ship_type <= 79:
        return 18.0, 20.0, 1.5
    if 80 <= ship_type <= 89:
        return 16.0, 15.0, 1.0
    return 15.0, 30.0, 3.0


@dataclass
class VesselPlan:
    """One vessel: identity, origin in the file, and its behaviour timeline."""

    identity: Identity
    where: str
    party: str | None
    scripted: bool
    bases: list[tuple[float, BaseTask]] = field(default_factory=list)
    situations: list[Situation] = field(default_factory=list)
    darks: list[tuple[float, float]] = field(default_factory=list)


@dataclass
class Plan:
    """Everything the engine needs to run a scenario."""

    scenario: Scenario
    start_ms: int
    duration_s: float
    seed: int
    station_ids: list[str]
    station_lat: F64
    station_lon: F64
    noise: s.Noise
    static_every_s: float
    vessels: list[VesselPlan]
    state: State
    settled: NDArray[np.bool_]
    zones: dict[str, Polygon | MultiPolygon]
    watched: tuple[str, ...]
    linked: set[tuple[int, int]]
    min_separation_m: float
    close_quarters_range_m: float
    lane_conflicts: int = 0

    @property
    def mmsis(self) -> NDArray[np.int64]:
        return np.asarray([v.identity.mmsi for v in self.vessels], dtype=np.int64)


def build_plan(
    scenario: Scenario, seed: int | None = None, duration_s: float | None = None
) -> Plan:
    """Resolve a scenario into a plan (``seed`` and ``duration_s`` override the file's).

    Raises:
        ScenarioError: a name that resolves to nothing or an inconsistent field (file, path).
    """
    return _Compiler(scenario, seed, duration_s).build()


class _Compiler:
    def __init__(self, scenario: Scenario, seed: int | None, duration_s: float | None) -> None:
        self.scenario = scenario
        self.spec = scenario.spec
        self.seed = self.spec.seed if seed is None else seed
        self.duration_s = self.spec.duration if duration_s is None else duration_s
        self.start_ms = self.spec.start
        self.features: dict[str, tuple[float, float]] = {}
        self.pack_zones: dict[str, Polygon | MultiPolygon] = {}
        self.parties: tuple[Party, ...] = ()
        self._load_pack()
        self.zones: dict[str, Polygon | MultiPolygon] = dict(self.pack_zones)
        self._plane_zones: dict[str, PlaneZone] = {}
        self.vessels: list[VesselPlan] = []
        self.lat: list[float] = []
        self.lon: list[float] = []
        self.cog: list[float] = []
        self.sog: list[float] = []
        self.settled: list[bool] = []
        self.perf: list[tuple[float, float, float]] = []
        self.taken: set[int] = set()
        self.linked: set[tuple[int, int]] = set()
        self.watched: list[str] = []

    def error(self, where: str, message: str) -> ScenarioError:
        return self.scenario.error(where, message)

    # -- the pack ------------------------------------------------------------------------

    def _load_pack(self) -> None:
        pack = self.scenario.pack
        if pack is None:
            return
        try:
            if "features" in pack.files:
                features = geo.load_features(pack)
                self.features = {f.id: (f.lat, f.lon) for f in features}
                if "zones" in pack.files:
                    zones = geo.load_zones(pack, features)
                    self.pack_zones = {zone.id: zone.geometry for zone in zones}
            if "parties" in pack.files:
                self.parties = load_parties(pack)
        except PackError as exc:
            raise self.error("pack", str(exc)) from None

    # -- names ---------------------------------------------------------------------------

    def time_s(self, when: When) -> float:
        return when.resolve_s(self.start_ms)

    def point(self, spec: s.PointSpec, where: str, depth: int = 0) -> tuple[float, float]:
        if isinstance(spec, s.LatLon):
            return spec.lat, spec.lon
        if isinstance(spec, s.Relative):
            lat, lon = self.point(spec.from_, f"{where}.from", depth + 1)
            lat2, lon2 = geo.forward(lat, lon, spec.bearing_deg, spec.range_nm * M_PER_NM)
            return float(lat2), float(lon2)
        if depth > 8:
            raise self.error(where, f"point {spec!r} refers to itself")
        if spec in self.spec.points:
            return self.point(self.spec.points[spec], f"points.{spec}", depth + 1)
        if spec in self.features:
            return self.features[spec]
        known = sorted(self.spec.points) + sorted(self.features)
        raise self.error(
            where,
            f"unknown point {spec!r}; known: {', '.join(known) or 'none'} "
            "(scenario points, then the pack's features)",
        )

    def zone(self, zone_id: str, where: str) -> Polygon | MultiPolygon:
        if zone_id not in self.zones:
            known = ", ".join(sorted(self.zones)) or "none"
            raise self.error(where, f"unknown zone {zone_id!r}; known: {known}")
        return self.zones[zone_id]

    def plane_zone(self, zone_id: str, where: str) -> PlaneZone:
        if zone_id not in self._plane_zones:
            self._plane_zones[zone_id] = PlaneZone.of(zone_id, self.zone(zone_id, where))
        return self._plane_zones[zone_id]

    def shape(self, spec: s.Shape | s.ZoneSpec, where: str) -> Polygon | MultiPolygon:
        if isinstance(spec, s.Shape) and spec.zone is not None:
            return self.zone(spec.zone, f"{where}.zone")
        if spec.box is not None:
            box = spec.box
            return Polygon(
                [
                    (box.west, box.south),
                    (box.east, box.south),
                    (box.east, box.north),
                    (box.west, box.north),
                ]
            )
        if spec.circle is not None:
            lat, lon = self.point(spec.circle.center, f"{where}.circle.center")
            return geo.geodesic_buffer(Point(lon, lat), spec.circle.radius_nm * M_PER_NM)
        assert spec.polygon is not None
        corners = [self.point(p, f"{where}.polygon[{i}]") for i, p in enumerate(spec.polygon)]
        polygon = Polygon([(lon, lat) for lat, lon in corners])
        if not polygon.is_valid:
            raise self.error(f"{where}.polygon", "the polygon crosses itself")
        return polygon

    # -- the whole plan ------------------------------------------------------------------

    def build(self) -> Plan:
        for number, zone in enumerate(self.spec.zones):
            if zone.id in self.zones:
                raise self.error(f"zones[{number}].id", f"zone {zone.id!r} is defined twice")
            self.zones[zone.id] = self.shape(zone, f"zones[{number}]")
        for number, zone_id in enumerate(self.spec.truth.zones):
            self.zone(zone_id, f"truth.zones[{number}]")
            self.watched.append(zone_id)
        self.lanes = {lane.id: (number, lane) for number, lane in enumerate(self.spec.lanes)}
        self._lane_routes: dict[tuple[str, str, int], Route] = {}
        mmsi_index: dict[int, int] = {}
        for number, vessel in enumerate(self.spec.vessels):
            where = f"vessels[{number}]"
            if vessel.mmsi in mmsi_index:
                raise self.error(f"{where}.mmsi", f"MMSI {vessel.mmsi} is used twice")
            mmsi_index[vessel.mmsi] = len(self.vessels)
            self._add_vessel(vessel, where)
        self.taken.update(mmsi_index)
        for number, vessel in enumerate(self.spec.vessels):
            self._situations(vessel, f"vessels[{number}]", mmsi_index)
        clearance_m = _LANE_CLEARANCE * self.spec.truth.min_separation_nm * M_PER_NM
        self.placer = LanePlacer(self.duration_s, clearance_m)
        for number, fleet in enumerate(self.spec.fleets):
            self._add_fleet(fleet, f"fleets[{number}]")
        return self._plan()

    def _plan(self) -> Plan:
        perf = np.asarray(self.perf, dtype=np.float64).reshape(-1, 3)
        max_kn, turn, accel = perf[:, 0].copy(), perf[:, 1].copy(), perf[:, 2].copy()
        state = State(
            lat=np.asarray(self.lat, dtype=np.float64),
            lon=np.asarray(self.lon, dtype=np.float64),
            cog_deg=np.asarray(self.cog, dtype=np.float64),
            sog_kn=np.asarray(self.sog, dtype=np.float64),
            max_speed_kn=max_kn,
            max_turn_deg_s=turn / 60.0,
            accel_kn_s=accel / 60.0,
        )
        station_ids, station_lat, station_lon = self._stations()
        return Plan(
            scenario=self.scenario,
            start_ms=self.start_ms,
            duration_s=self.duration_s,
            seed=self.seed,
            station_ids=station_ids,
            station_lat=station_lat,
            station_lon=station_lon,
            noise=self.spec.noise,
            static_every_s=self.spec.static_every,
            vessels=self.vessels,
            state=state,
            settled=np.asarray(self.settled, dtype=np.bool_),
            zones=self.zones,
            watched=tuple(dict.fromkeys(self.watched)),
            linked=self.linked,
            min_separation_m=self.spec.truth.min_separation_nm * M_PER_NM,
            close_quarters_range_m=self.spec.truth.close_quarters_range_nm * M_PER_NM,
            lane_conflicts=self.placer.conflicts,
        )

    def _stations(self) -> tuple[list[str], F64, F64]:
        if not self.spec.stations:
            lat = float(np.mean(self.lat)) if self.lat else 0.0
            lon = float(np.mean(self.lon)) if self.lon else 0.0
            return [_DEFAULT_STATION], np.asarray([lat]), np.asarray([lon])
        ids, lats, lons = [], [], []
        for number, station in enumerate(self.spec.stations):
            if station.id in ids:
                raise self.error(
                    f"stations[{number}].id", f"station {station.id!r} is listed twice"
                )
            lat, lon = self.point(station.position, f"stations[{number}].position")
            ids.append(station.id)
            lats.append(lat)
            lons.append(lon)
        return ids, np.asarray(lats), np.asarray(lons)

    # -- single vessels ------------------------------------------------------------------

    def _append(
        self,
        plan: VesselPlan,
        position: tuple[float, float],
        motion: tuple[float | None, float | None],
        performance: tuple[float, float, float],
    ) -> int:
        course, speed = motion
        self.vessels.append(plan)
        self.lat.append(position[0])
        self.lon.append(position[1])
        self.cog.append(0.0 if course is None else course)
        self.sog.append(0.0 if speed is None else speed)
        self.settled.append(course is not None and speed is not None)
        self.perf.append(performance)
        return len(self.vessels) - 1

    def _ship_performance(self, ship: s._Ship, ship_type: int) -> tuple[float, float, float]:
        max_kn, turn, accel = _performance(ship_type)
        return (
            ship.max_speed_kn if ship.max_speed_kn is not None else max_kn,
            ship.turn_deg_per_min if ship.turn_deg_per_min is not None else turn,
            ship.accel_kn_per_min if ship.accel_kn_per_min is not None else accel,
        )

    def _check_mmsi(self, vessel: s.VesselSpec, where: str) -> None:
        flag = flag_for_mmsi(vessel.mmsi)
        if flag is None:
            raise self.error(
                f"{where}.mmsi", f"{vessel.mmsi} has no allocated MID in its first three digits"
            )
        if vessel.flag is not None and vessel.flag != flag:
            raise self.error(
                f"{where}.flag",
                f"MMSI {vessel.mmsi} has MID {vessel.mmsi // 1_000_000} ({flag}), "
                f"not {vessel.flag}",
            )
        if vessel.party is None:
            return
        party = next((p for p in self.parties if p.id == vessel.party), None)
        if party is None:
            known = ", ".join(p.id for p in self.parties) or "none (no pack parties)"
            raise self.error(f"{where}.party", f"unknown party {vessel.party!r}; known: {known}")
        if vessel.mmsi not in party.fleet:
            raise self.error(
                f"{where}.mmsi",
                f"{vessel.mmsi} is not in the fleet of party {party.id!r} in the pack's parties",
            )

    def _add_vessel(self, vessel: s.VesselSpec, where: str) -> None:
        self._check_mmsi(vessel, where)
        beam = vessel.beam_m if vessel.beam_m is not None else vessel.length_m / 5.0
        identity = _identity(
            mmsi=vessel.mmsi,
            name=vessel.name,
            callsign=vessel.callsign,
            ship_type=vessel.ship_type,
            class_b=vessel.class_ == "B",
            imo=vessel.imo or 0,
            length_m=vessel.length_m,
            beam_m=beam,
            draught_m=vessel.draught_m if vessel.draught_m is not None else 0.0,
            destination=vessel.destination,
            heading_sensor=vessel.heading_sensor,
            serial=vessel.mmsi % 1_000_000,
        )
        plan = VesselPlan(identity, where, vessel.party, scripted=True)
        position = self.point(vessel.position, f"{where}.position")
        index = self._append(
            plan,
            position,
            (vessel.course_deg, vessel.speed_kn),
            self._ship_performance(vessel, vessel.ship_type),
        )
        for number, item in enumerate(vessel.behaviours):
            if item.kind in s.BASE_KINDS:
                spot = f"{where}.behaviours[{number}].{item.kind}"
                task = self._base_task(item.kind, item.spec, spot, index)
                start = 0.0 if item.spec.at is None else self.time_s(item.spec.at)
                plan.bases.append((start, task))
        if not plan.bases:
            plan.bases.append((0.0, HoldTask(None, None, STATUS_ANCHORED)))
        plan.bases.sort(key=lambda pair: pair[0])

    def _base_task(self, kind: str, spec: Any, where: str, index: int) -> BaseTask:
        lat, lon = self.lat[index], self.lon[index]
        if kind == "transit":
            return self._transit_task(spec, where)
        if kind == "fishing":
            boxes = cells_in(self.shape(spec.area, f"{where}.area"), spec.cell_nm * M_PER_NM)
            if boxes[0].size == 0:
                raise self.error(f"{where}.area", f"holds no whole {spec.cell_nm} nm cell")
            centre_lat, centre_lon = (boxes[0] + boxes[2]) / 2, (boxes[1] + boxes[3]) / 2
            east, north = flat_vector_m(lat, lon, centre_lat, centre_lon)
            nearest = np.asarray([int(np.argmin(np.hypot(east, north)))], dtype=np.intp)
            return fishing_cells(boxes, nearest, _fish_template(spec))[0]
        if kind in ("anchored", "moored"):
            if spec.area is not None:
                raise self.error(f"{where}.area", "only fleets place vessels in an area")
            status = STATUS_ANCHORED if kind == "anchored" else STATUS_MOORED
            if spec.position is None:
                return HoldTask(None, None, status)
            berth = self.point(spec.position, f"{where}.position")
            return HoldTask(berth[0], berth[1], status)
        assert kind == "patrol"
        geometry = (
            self.zone(spec.zone, f"{where}.zone")
            if spec.zone is not None
            else self.shape(spec.around, f"{where}.around")
        )
        try:
            loop_lat, loop_lon = loop_around(
                geometry, spec.offset_nm * M_PER_NM, lat, lon, spec.direction == "cw"
            )
        except ValueError as exc:
            raise self.error(f"{where}.offset_nm", str(exc)) from None
        return RouteTask(loop_lat, loop_lon, spec.speed_kn, loop=True, join_nearest=True)

    def _transit_task(self, spec: s.Transit, where: str) -> RouteTask:
        low, high = spec.speed_kn
        if low != high:
            raise self.error(f"{where}.speed_kn", "a single vessel has one speed, not a range")
        if spec.route is not None:
            corners = [self.point(p, f"{where}.route[{i}]") for i, p in enumerate(spec.route)]
            lat = np.asarray([c[0] for c in corners])
            lon = np.asarray([c[1] for c in corners])
            return RouteTask(lat, lon, low)
        assert spec.lane is not None
        route = self._lane_route(spec.lane, spec.direction or "forward", spec.slot or 0, where)
        return RouteTask(route.lat, route.lon, low, join_nearest=True)

    def _lane_route(self, lane_id: str, direction: str, slot: int, where: str) -> Route:
        if lane_id not in self.lanes:
            known = ", ".join(self.lanes) or "none"
            raise self.error(f"{where}.lane", f"unknown lane {lane_id!r}; known: {known}")
        number, lane = self.lanes[lane_id]
        if slot >= lane.slots:
            raise self.error(
                f"{where}.slot", f"lane {lane_id!r} has {lane.slots} slots (0-{lane.slots - 1})"
            )
        if direction == "reverse" and not lane.both_ways:
            raise self.error(
                f"{where}.direction", f"lane {lane_id!r} is one way (both_ways: false)"
            )
        key = (lane_id, direction, slot)
        if key not in self._lane_routes:
            corners = [
                self.point(p, f"lanes[{number}].route[{i}]") for i, p in enumerate(lane.route)
            ]
            if direction == "reverse":
                corners.reverse()
            offset_nm = lane.separation_nm / 2.0 + slot * lane.slot_spacing_nm
            if not lane.both_ways:
                offset_nm = (slot - (lane.slots - 1) / 2.0) * lane.slot_spacing_nm
            lat, lon = offset_route(
                np.asarray([c[0] for c in corners]),
                np.asarray([c[1] for c in corners]),
                offset_nm * M_PER_NM,
            )
            self._lane_routes[key] = Route(lat, lon)
        return self._lane_routes[key]

    # -- situations ----------------------------------------------------------------------

    def _situations(self, vessel: s.VesselSpec, where: str, mmsi_index: dict[int, int]) -> None:
        index = mmsi_index[vessel.mmsi]
        plan = self.vessels[index]
        max_kn = self.perf[index][0]
        for number, item in enumerate(vessel.behaviours):
            spot = f"{where}.behaviours[{number}].{item.kind}"
            spec = item.spec
            if item.kind == "go_dark":
                start = self.time_s(spec.at)
                end = (
                    start + spec.duration if spec.duration is not None else self.time_s(spec.until)
                )
                if end <= start:
                    raise self.error(f"{spot}.until", "go_dark must end after it starts")
                plan.darks.append((start, end))
            elif item.kind in s.SITUATION_KINDS:
                self._situation(item.kind, spec, spot, index, mmsi_index, max_kn)

    def _other(self, mmsi: int, where: str, index: int, mmsi_index: dict[int, int]) -> int:
        other = mmsi_index.get(mmsi)
        if other is None:
            raise self.error(where, f"no vessel with MMSI {mmsi} in this scenario's vessels")
        if other == index:
            raise self.error(where, "a vessel cannot be its own target or partner")
        self.linked.add((min(index, other), max(index, other)))
        return other

    def _situation(
        self,
        kind: str,
        spec: Any,
        where: str,
        index: int,
        mmsi_index: dict[int, int],
        max_kn: float,
    ) -> None:
        start = self.time_s(spec.at)
        until = getattr(spec, "until", None)
        end = self.time_s(until) if until is not None else None
        made: list[Situation] = []
        if kind == "approach":
            target = self._other(spec.target, f"{where}.target", index, mmsi_index)
            cpa_s = self.time_s(spec.cpa_at)
            if not start < cpa_s:
                raise self.error(f"{where}.cpa_at", "the CPA must come after the approach starts")
            made.append(
                Approach(
                    kind,
                    index,
                    start,
                    end if end is not None else cpa_s + 600.0,
                    target=target,
                    cpa_s=cpa_s,
                    cpa_m=spec.cpa_nm * M_PER_NM,
                    starboard=spec.side == "starboard",
                    max_kn=spec.max_speed_kn or max_kn,
                )
            )
        elif kind == "shadow":
            target = self._other(spec.target, f"{where}.target", index, mmsi_index)
            if end is None or end <= start:
                raise self.error(f"{where}.until", "shadowing must end after it starts")
            made.append(
                Shadow(
                    kind,
                    index,
                    start,
                    end,
                    target=target,
                    range_m=spec.range_nm * M_PER_NM,
                    bearing_deg=spec.bearing_deg,
                    max_kn=spec.max_speed_kn or max_kn,
                )
            )
        elif kind == "rendezvous":
            made.extend(self._rendezvous(spec, where, index, mmsi_index, start, max_kn))
        elif kind == "zone_entry":
            made.append(self._zone_entry(spec, where, index, start, end, max_kn))
        else:
            lat, lon = self.point(spec.toward, f"{where}.toward")
            if spec.zone is not None:
                self.zone(spec.zone, f"{where}.zone")
                self.watched.append(spec.zone)
            made.append(
                SpeedRun(
                    kind,
                    index,
                    start,
                    end,
                    lat=lat,
                    lon=lon,
                    speed_kn=spec.speed_kn,
                    pass_m=spec.pass_m,
                    beyond_m=spec.beyond_nm * M_PER_NM,
                    zone_id=spec.zone,
                )
            )
        for situation in made:
            situation.where = where
            self._schedule(situation, where)

    def _rendezvous(
        self,
        spec: s.Rendezvous,
        where: str,
        index: int,
        mmsi_index: dict[int, int],
        start: float,
        max_kn: float,
    ) -> list[Situation]:
        partner = self._other(spec.partner, f"{where}.partner", index, mmsi_index)
        meet = self.time_s(spec.meet_at)
        if not start < meet:
            raise self.error(
                f"{where}.meet_at", "the meeting must come after the rendezvous starts"
            )
        end = meet + spec.duration
        if spec.position is not None:
            lat, lon = self.point(spec.position, f"{where}.position")
        else:
            lat = (self.lat[index] + self.lat[partner]) / 2.0
            lon = (self.lon[index] + self.lon[partner]) / 2.0
        right = math.radians(spec.drift_course_deg + 90.0)
        plat, plon = geo.forward(lat, lon, math.degrees(right) % 360.0, spec.distance_m)
        lead = RendezvousLead(
            "rendezvous",
            index,
            start,
            end,
            partner=partner,
            meet_s=meet,
            lat=lat,
            lon=lon,
            drift_kn=spec.drift_kn,
            drift_course_deg=spec.drift_course_deg,
            max_kn=max_kn,
            within_m=spec.within_m,
        )
        follower = RendezvousPartner(
            "rendezvous_partner",
            partner,
            start,
            end,
            lead=index,
            meet_s=meet,
            lat=float(plat),
            lon=float(plon),
            distance_m=spec.distance_m,
            drift_course_deg=spec.drift_course_deg,
            max_kn=self.perf[partner][0],
        )
        return [lead, follower]

    def _zone_entry(
        self,
        spec: s.ZoneEntry,
        where: str,
        index: int,
        start: float,
        end: float | None,
        max_kn: float,
    ) -> Situation:
        zone = self.plane_zone(spec.zone, f"{where}.zone")
        self.watched.append(spec.zone)
        enter = self.time_s(spec.enter_at)
        if not start < enter:
            raise self.error(f"{where}.enter_at", "the entry must come after the behaviour starts")
        leave = self.time_s(spec.leave_at) if spec.leave_at is not None else None
        if leave is not None and leave <= enter:
            raise self.error(f"{where}.leave_at", "the vessel must leave after it enters")
        via = self.point(spec.via, f"{where}.via") if spec.via is not None else None
        if via is not None and not zone.contains(*zone.xy(*via)):
            raise self.error(f"{where}.via", f"the point is not inside zone {spec.zone!r}")
        return ZoneEntry(
            "zone_entry",
            index,
            start,
            end,
            zone=zone,
            enter_s=enter,
            leave_s=leave,
            depth_m=spec.depth_nm * M_PER_NM,
            speed_kn=spec.speed_kn,
            exit_m=spec.exit_nm * M_PER_NM,
            via=via,
            max_kn=spec.max_speed_kn or max_kn,
        )

    def _schedule(self, situation: Situation, where: str) -> None:
        """Add a situation to its vessel; one whose end depends on the run (no ``until``)
        ends when the vessel's next one starts, but fixed windows must not overlap."""
        plan = self.vessels[situation.vessel]
        for other in plan.situations:
            fixed = other.end_s is not None and situation.end_s is not None
            overlap = situation.start_s < (other.end_s or math.inf) and other.start_s < (
                situation.end_s or math.inf
            )
            if situation.start_s == other.start_s or (fixed and overlap):
                raise self.error(
                    where,
                    f"overlaps the {other.kind} of {plan.identity.mmsi} from "
                    f"{other.start_s:g} s; a vessel runs one situation at a time",
                )
        plan.situations.append(situation)
        plan.situations.sort(key=lambda item: item.start_s)

    # -- fleets --------------------------------------------------------------------------

    def _add_fleet(self, fleet: s.Fleet, where: str) -> None:
        rng = fleet_rng(self.seed, fleet.id)
        mids, mid_weights = _weights(fleet.mids)
        for number, mid in enumerate(mids):
            if flag_for_mmsi(mid * 1_000_000 + 100_000) is None:
                raise self.error(f"{where}.mids[{number}]", f"{mid} is not an allocated MID")
        mmsis = pick_mmsis(rng, mids, mid_weights, fleet.count, self.taken)
        kind = fleet.kind
        placements = self._fleet_placements(fleet, where, rng, kind)
        for number, mmsi in enumerate(mmsis):
            class_b = _pick(rng, fleet.class_) == "B"
            ship_type = int(_pick(rng, fleet.ship_type))
            identity = self._fleet_identity(fleet, rng, mmsi, class_b, ship_type, where)
            plan = VesselPlan(identity, f"{where} ({fleet.id}) #{number}", None, scripted=False)
            position, course, speed, task = placements[number]
            plan.bases.append((0.0, task))
            self._append(plan, position, (course, speed), self._ship_performance(fleet, ship_type))

    def _fleet_identity(
        self,
        fleet: s.Fleet,
        rng: np.random.Generator,
        mmsi: int,
        class_b: bool,
        ship_type: int,
        where: str,
    ) -> Identity:
        length = float(rng.uniform(*fleet.length_m))
        merchant = 60 <= ship_type <= 89
        try:
            name = fleet.name.format(n=int(rng.integers(1, 100_000)), merchant=merchant_name(rng))
        except (KeyError, ValueError, IndexError) as exc:
            raise self.error(
                f"{where}.name", f"bad pattern ({exc}); use {{n}} and {{merchant}}"
            ) from None
        if len(name) > 20:
            raise self.error(f"{where}.name", f"{name!r} is longer than 20 characters")
        draught = float(rng.uniform(*fleet.draught_m)) if fleet.draught_m else length / 20.0
        return _identity(
            mmsi=mmsi,
            name=name.upper(),
            callsign=callsign_for(rng, mmsi, fleet.callsign_prefix),
            ship_type=ship_type,
            class_b=class_b,
            imo=imo_number(rng) if merchant and not class_b else 0,
            length_m=length,
            beam_m=length / (6.5 if merchant else 4.0),
            draught_m=min(draught, 25.5),
            destination=fleet.destination,
            heading_sensor=fleet.heading_sensor,
            serial=int(rng.integers(1, 1 << 20)),
        )

    def _fleet_placements(
        self, fleet: s.Fleet, where: str, rng: np.random.Generator, kind: str
    ) -> list[tuple[tuple[float, float], float | None, float | None, BaseTask]]:
        count = fleet.count
        if kind == "transit":
            return self._lane_placements(fleet, where, rng)
        if kind == "fishing":
            spec = fleet.fishing
            assert spec is not None
            boxes = cells_in(
                self.shape(spec.area, f"{where}.fishing.area"), spec.cell_nm * M_PER_NM
            )
            if boxes[0].size < count:
                raise self.error(
                    f"{where}.count",
                    f"{count} vessels but the area holds {boxes[0].size} cells of "
                    f"{spec.cell_nm} nm; enlarge the area or lower count or cell_nm",
                )
            chosen = np.sort(rng.permutation(boxes[0].size)[:count]).astype(np.intp)
            tasks = fishing_cells(boxes, chosen, _fish_template(spec))
            placed: list[tuple[tuple[float, float], float | None, float | None, BaseTask]] = []
            for task in tasks:
                lat = float(rng.uniform(task.south, task.north))
                lon = float(rng.uniform(task.west, task.east))
                placed.append(((lat, lon), None, None, task))
            return placed
        spec_hold = fleet.anchored if kind == "anchored" else fleet.moored
        assert spec_hold is not None
        if spec_hold.area is None or spec_hold.position is not None:
            raise self.error(f"{where}.{kind}", "a fleet needs an area (and no single position)")
        berth_lat, berth_lon = points_in(
            self.shape(spec_hold.area, f"{where}.{kind}.area"), spec_hold.spacing_nm * M_PER_NM
        )
        if berth_lat.size < count:
            raise self.error(
                f"{where}.count",
                f"{count} vessels but the area has {berth_lat.size} berths "
                f"{spec_hold.spacing_nm} nm apart",
            )
        chosen = np.sort(rng.permutation(berth_lat.size)[:count])
        status = STATUS_ANCHORED if kind == "anchored" else STATUS_MOORED
        courses = rng.uniform(0.0, 360.0, count)
        return [
            (
                (float(berth_lat[i]), float(berth_lon[i])),
                float(c),
                0.0,
                HoldTask(float(berth_lat[i]), float(berth_lon[i]), status),
            )
            for i, c in zip(chosen, courses, strict=True)
        ]

    def _lane_placements(
        self, fleet: s.Fleet, where: str, rng: np.random.Generator
    ) -> list[tuple[tuple[float, float], float | None, float | None, BaseTask]]:
        spec = fleet.transit
        assert spec is not None
        if spec.lane is None:
            raise self.error(f"{where}.transit", "a fleet transits a lane (lane: ID), not a route")
        _, lane = self.lanes.get(spec.lane, (0, None))
        if lane is None:
            known = ", ".join(self.lanes) or "none"
            raise self.error(f"{where}.transit.lane", f"unknown lane {spec.lane!r}; known: {known}")
        directions = (
            [spec.direction]
            if spec.direction
            else (["forward", "reverse"] if lane.both_ways else ["forward"])
        )
        slots = [spec.slot] if spec.slot is not None else list(range(lane.slots))
        placed: list[tuple[tuple[float, float], float | None, float | None, BaseTask]] = []
        for number in range(fleet.count):
            direction = directions[number % len(directions)]
            slot = slots[(number // len(directions)) % len(slots)]
            route = self._lane_route(spec.lane, direction, slot, f"{where}.transit")
            # Each slot has its share of the speed range, the fastest nearest the centre line,
            # so vessels in one slot seldom catch up with each other.
            low, high = spec.speed_kn
            share = (high - low) / lane.slots
            top = high - slot * share
            speed = float(rng.uniform(top - share, top))
            try:
                start_m = self.placer.place(rng, route, speed)
            except ValueError as exc:
                raise self.error(f"{where}.transit.lane", f"{spec.lane}: {exc}") from None
            lat, lon, ahead = route.at(np.asarray([start_m]))
            course = float(route.course_at(ahead)[0])
            task = RouteTask(route.lat, route.lon, speed, join_nearest=True)
            placed.append(((float(lat[0]), float(lon[0])), course, speed, task))
        return placed


def _fish_template(spec: s.Fishing) -> FishTask:
    return FishTask(
        0.0,
        0.0,
        0.0,
        0.0,
        spec.speed_kn,
        spec.haul_speed_kn,
        spec.haul_every,
        spec.haul_for,
        spec.leg,
    )


def _weights(spec: Sequence[int] | dict[int, float]) -> tuple[list[int], list[float]]:
    if isinstance(spec, dict):
        return list(spec), [float(w) for w in spec.values()]
    return list(spec), [1.0] * len(spec)


def _pick(rng: np.random.Generator, spec: Any) -> Any:
    if not isinstance(spec, dict):
        return spec
    keys = list(spec)
    weights = np.asarray([float(spec[k]) for k in keys])
    return keys[int(rng.choice(len(keys), p=weights / weights.sum()))]


def _identity(
    *,
    mmsi: int,
    name: str,
    callsign: str,
    ship_type: int,
    class_b: bool,
    imo: int,
    length_m: float,
    beam_m: float,
    draught_m: float,
    destination: str,
    heading_sensor: bool | None,
    serial: int,
) -> Identity:
    """An identity with the GNSS antenna 70 % of the length from the stern, centred."""
    to_bow = min(round(length_m * 0.3), 511)
    to_stern = min(round(length_m * 0.7), 511)
    side = min(round(beam_m / 2.0), 63)
    return Identity(
        mmsi=mmsi,
        name=name,
        callsign=callsign,
        ship_type=ship_type,
        class_b=class_b,
        imo=imo,
        to_bow=to_bow,
        to_stern=to_stern,
        to_port=side,
        to_starboard=side,
        draught_m=draught_m,
        destination=destination,
        heading_sensor=(not class_b) if heading_sensor is None else heading_sensor,
        accuracy=1 if ship_type in (35, 55) else 0,
        serial=serial,
    )
