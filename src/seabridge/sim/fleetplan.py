"""Fleets -> vessels: identities, start positions and base tasks for generated traffic.

The rules (MMSI blocks, names, lane slots and placement, fishing cells, anchorage berths)
are described in :mod:`seabridge.sim.fleets`; this module applies them to one fleet of a
scenario, and holds the identity and performance defaults single vessels share.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from seabridge.ais.mid import flag_for_mmsi
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
from seabridge.sim.names import Names
from seabridge.sim.shapes import Route, cells_in, points_in
from seabridge.units import M_PER_NM

__all__ = [
    "BaseTask",
    "FleetBuilder",
    "Generated",
    "default_performance",
    "fish_template",
    "vessel_identity",
]

BaseTask = RouteTask | FishTask | HoldTask
Placement = tuple[tuple[float, float], float | None, float | None, BaseTask]
"""Start (lat, lon), course and speed (None: from the first steering), base task."""


def default_performance(ship_type: int) -> tuple[float, float, float]:
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


@dataclass(frozen=True)
class Generated:
    """One generated vessel."""

    identity: Identity
    where: str
    position: tuple[float, float]
    course: float | None
    speed: float | None
    task: BaseTask


class FleetBuilder:
    """Builds the fleets of one scenario (sharing its MMSIs taken and its lane placer)."""

    def __init__(
        self,
        names: Names,
        seed: int,
        taken: set[int],
        placer: LanePlacer,
        lanes: dict[str, s.Lane],
        lane_route: Callable[[str, str, int, str], Route],
    ) -> None:
        self.names = names
        self.seed = seed
        self.taken = taken
        self.placer = placer
        self.lanes = lanes
        self.lane_route = lane_route

    def build(self, fleet: s.Fleet, where: str) -> list[Generated]:
        """The fleet's vessels: identities, start positions and base tasks.

        Raises:
            ScenarioError: a MID not allocated, an area too small, a lane too short.
        """
        rng = fleet_rng(self.seed, fleet.id)
        mids, mid_weights = _weights(fleet.mids)
        for number, mid in enumerate(mids):
            if flag_for_mmsi(mid * 1_000_000 + 100_000) is None:
                raise self.names.error(f"{where}.mids[{number}]", f"{mid} is not an allocated MID")
        mmsis = pick_mmsis(rng, mids, mid_weights, fleet.count, self.taken)
        kind = fleet.kind
        kinds = [(_pick(rng, fleet.class_) == "B", int(_pick(rng, fleet.ship_type))) for _ in mmsis]
        # A lane vessel must be able to sail the speed it is placed at.
        max_kn = [fleet.max_speed_kn or default_performance(ship_type)[0] for _, ship_type in kinds]
        placements = self._placements(fleet, where, rng, kind, max_kn)
        made = []
        for number, mmsi in enumerate(mmsis):
            class_b, ship_type = kinds[number]
            identity = self._identity(fleet, rng, mmsi, class_b, ship_type, where)
            position, course, speed, task = placements[number]
            made.append(
                Generated(
                    identity, f"{where} ({fleet.id}) #{number}", position, course, speed, task
                )
            )
        return made

    def _identity(
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
            raise self.names.error(
                f"{where}.name", f"bad pattern ({exc}); use {{n}} and {{merchant}}"
            ) from None
        if len(name) > 20:
            raise self.names.error(f"{where}.name", f"{name!r} is longer than 20 characters")
        draught = float(rng.uniform(*fleet.draught_m)) if fleet.draught_m else length / 20.0
        return vessel_identity(
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

    def _placements(
        self,
        fleet: s.Fleet,
        where: str,
        rng: np.random.Generator,
        kind: str,
        max_kn: list[float],
    ) -> list[Placement]:
        count = fleet.count
        if kind == "transit":
            return self._lane_placements(fleet, where, rng, max_kn)
        if kind == "fishing":
            spec = fleet.fishing
            assert spec is not None
            boxes = cells_in(
                self.names.shape(spec.area, f"{where}.fishing.area"), spec.cell_nm * M_PER_NM
            )
            if boxes[0].size < count:
                raise self.names.error(
                    f"{where}.count",
                    f"{count} vessels but the area holds {boxes[0].size} cells of "
                    f"{spec.cell_nm} nm; enlarge the area or lower count or cell_nm",
                )
            chosen = np.sort(rng.permutation(boxes[0].size)[:count]).astype(np.intp)
            tasks = fishing_cells(boxes, chosen, fish_template(spec))
            placed: list[Placement] = []
            for task in tasks:
                lat = float(rng.uniform(task.south, task.north))
                lon = float(rng.uniform(task.west, task.east))
                placed.append(((lat, lon), None, None, task))
            return placed
        spec_hold = fleet.anchored if kind == "anchored" else fleet.moored
        assert spec_hold is not None
        if spec_hold.area is None or spec_hold.position is not None:
            raise self.names.error(
                f"{where}.{kind}", "a fleet needs an area (and no single position)"
            )
        berth_lat, berth_lon = points_in(
            self.names.shape(spec_hold.area, f"{where}.{kind}.area"),
            spec_hold.spacing_nm * M_PER_NM,
        )
        if berth_lat.size < count:
            raise self.names.error(
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
        self, fleet: s.Fleet, where: str, rng: np.random.Generator, max_kn: list[float]
    ) -> list[Placement]:
        spec = fleet.transit
        assert spec is not None
        if spec.lane is None:
            raise self.names.error(
                f"{where}.transit", "a fleet transits a lane (lane: ID), not a route"
            )
        lane = self.lanes.get(spec.lane)
        if lane is None:
            known = ", ".join(self.lanes) or "none"
            raise self.names.error(
                f"{where}.transit.lane", f"unknown lane {spec.lane!r}; known: {known}"
            )
        directions = (
            [spec.direction]
            if spec.direction
            else (["forward", "reverse"] if lane.both_ways else ["forward"])
        )
        slots = [spec.slot] if spec.slot is not None else list(range(lane.slots))
        placed: list[Placement] = []
        for number in range(fleet.count):
            direction = directions[number % len(directions)]
            slot = slots[(number // len(directions)) % len(slots)]
            route = self.lane_route(spec.lane, direction, slot, f"{where}.transit")
            # Each slot has its share of the speed range, the fastest nearest the centre line,
            # so vessels in one slot seldom catch up with each other.
            low, high = spec.speed_kn
            share = (high - low) / lane.slots
            top = high - slot * share
            speed = min(float(rng.uniform(top - share, top)), max_kn[number])
            try:
                start_m = self.placer.place(rng, route, speed)
            except ValueError as exc:
                raise self.names.error(f"{where}.transit.lane", f"{spec.lane}: {exc}") from None
            lat, lon, ahead = route.at(np.asarray([start_m]))
            course = float(route.course_at(ahead)[0])
            task = RouteTask(route.lat, route.lon, speed, join_nearest=True)
            placed.append(((float(lat[0]), float(lon[0])), course, speed, task))
        return placed


def fish_template(spec: s.Fishing) -> FishTask:
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


def vessel_identity(
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
