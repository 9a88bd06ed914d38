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
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray
from shapely.geometry import MultiPolygon, Polygon

from seabridge.ais.mid import flag_for_mmsi
from seabridge.sim import schema as s
from seabridge.sim.controllers import (
    STATUS_ANCHORED,
    STATUS_MOORED,
    HoldTask,
    RouteTask,
)
from seabridge.sim.encode import Identity
from seabridge.sim.fleetplan import (
    BaseTask,
    FleetBuilder,
    default_performance,
    fish_template,
    vessel_identity,
)
from seabridge.sim.fleets import (
    LanePlacer,
    fishing_cells,
)
from seabridge.sim.motion import State
from seabridge.sim.names import Names
from seabridge.sim.scenario import Scenario, ScenarioError
from seabridge.sim.shapes import (
    Route,
    cells_in,
    flat_vector_m,
    loop_around,
    offset_route,
)
from seabridge.sim.situations import (
    Approach,
    Meeting,
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
_DEFAULT_STATION = "sim"
# Lane tracks are dead-reckoned along the polyline; real ones cut corners a little.
_LANE_CLEARANCE = 1.25


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
        self.names = Names(scenario)
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

    # -- names (seabridge.sim.names) --------------------------------------------------

    def time_s(self, when: When) -> float:
        return self.names.time_s(when)

    def point(self, spec: s.PointSpec, where: str) -> tuple[float, float]:
        return self.names.point(spec, where)

    def zone(self, zone_id: str, where: str) -> Polygon | MultiPolygon:
        return self.names.zone(zone_id, where)

    def plane_zone(self, zone_id: str, where: str) -> PlaneZone:
        return self.names.plane_zone(zone_id, where)

    def shape(self, spec: s.Shape | s.ZoneSpec, where: str) -> Polygon | MultiPolygon:
        return self.names.shape(spec, where)

    # -- the whole plan ------------------------------------------------------------------

    def build(self) -> Plan:
        self.names.add_zones()
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
        self.fleet_builder = FleetBuilder(
            self.names,
            self.seed,
            self.taken,
            self.placer,
            {lane.id: lane for lane in self.spec.lanes},
            self._lane_route,
        )
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
            zones=self.names.zones,
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
        max_kn, turn, accel = default_performance(ship_type)
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
        party = next((p for p in self.names.parties if p.id == vessel.party), None)
        if party is None:
            known = ", ".join(p.id for p in self.names.parties) or "none (no pack parties)"
            raise self.error(f"{where}.party", f"unknown party {vessel.party!r}; known: {known}")
        if vessel.mmsi not in party.fleet:
            raise self.error(
                f"{where}.mmsi",
                f"{vessel.mmsi} is not in the fleet of party {party.id!r} in the pack's parties",
            )

    def _add_vessel(self, vessel: s.VesselSpec, where: str) -> None:
        self._check_mmsi(vessel, where)
        beam = vessel.beam_m if vessel.beam_m is not None else vessel.length_m / 5.0
        identity = vessel_identity(
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
            return fishing_cells(boxes, nearest, fish_template(spec))[0]
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
        lat: float | None = None
        lon: float | None = None
        if spec.position is not None:
            lat, lon = self.point(spec.position, f"{where}.position")
        meeting = Meeting(lat, lon, spec.distance_m, spec.drift_course_deg)
        lead = RendezvousLead(
            "rendezvous", index, start, end, partner=partner, meet_s=meet, meeting=meeting,
            drift_kn=spec.drift_kn, max_kn=max_kn, within_m=spec.within_m,
        )  # fmt: skip
        follower = RendezvousPartner(
            "rendezvous_partner", partner, start, end, lead=index, meet_s=meet,
            meeting=meeting, max_kn=self.perf[partner][0],
        )  # fmt: skip
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

    def _add_fleet(self, fleet: s.Fleet, where: str) -> None:
        for made in self.fleet_builder.build(fleet, where):
            plan = VesselPlan(made.identity, made.where, None, scripted=False)
            plan.bases.append((0.0, made.task))
            self._append(
                plan, made.position, (made.course, made.speed),
                self._ship_performance(fleet, made.identity.ship_type),
            )  # fmt: skip
