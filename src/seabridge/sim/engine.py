"""The simulation loop: one-second ticks; behaviours steer, vessels report, then move.

Each tick, in order: timeline events (base behaviour switches, situations starting and
ending, dark periods), steering (situations one by one, base behaviours vectorized), the
reports due at this second (positions at the ITU-R M.1371 intervals of
:mod:`seabridge.sim.schedule`, static data every ``static_every``), truth recording, and
finally the kinematic step. Reports go through receiver noise (dropped messages, jitter,
duplicate reception by a second station) and leave as :class:`Transmission` objects, in time
order; writers (:mod:`seabridge.sim.output`) turn them into lines.

Nothing here reads a clock or iterates a set: the same plan and seed give the same
transmissions, byte for byte.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
from numpy.typing import NDArray

from seabridge.sim.controllers import Fishing, FishTask, Hold, HoldTask, RouteFollower, RouteTask
from seabridge.sim.draws import STREAMS, uniform
from seabridge.sim.encode import (
    CS_RADIO,
    encode_message,
    itdma_radio,
    position_fields,
    sotdma_radio,
    static_fields,
    tag_block,
)
from seabridge.sim.plan import BaseTask, Plan
from seabridge.sim.schedule import reporting_interval_s
from seabridge.sim.shapes import flat_vector_m, m_per_deg
from seabridge.sim.situations import Situation

__all__ = ["Progress", "Recorder", "Transmission", "run_plan", "tracked_vessels"]

F64 = NDArray[np.float64]
Progress = Callable[[float, float], None]
"""Called with (simulated seconds done, total seconds)."""
_SNAPSHOT_S = 60
_PROGRESS_S = 60


@dataclass(frozen=True, slots=True)
class Transmission:
    """One AIS message as received by one station: its sentences and the encoded values."""

    ts_ms: int
    mmsi: int
    msg_type: int
    station: str
    sentences: tuple[str, ...]
    fields: Mapping[str, Any]
    duplicate: bool = False

    def lines(self) -> list[str]:
        """The sentences, each behind its NMEA 4.10 tag block."""
        tag = tag_block(self.station, self.ts_ms // 1000)
        return [tag + sentence for sentence in self.sentences]


@dataclass
class Recorder:
    """What the run saw, for the ground truth: tracks of scripted vessels (every tick),
    zone presence in watched zones, emission times, and snapshots of everyone (every
    minute)."""

    tracked: NDArray[np.intp]
    track_lat: list[F64] = field(default_factory=list)
    track_lon: list[F64] = field(default_factory=list)
    track_sog: list[F64] = field(default_factory=list)
    emissions: dict[int, list[int]] = field(default_factory=dict)
    zone_intervals: list[tuple[int, str, int, int | None, float, float]] = field(
        default_factory=list
    )
    snapshot_s: list[int] = field(default_factory=list)
    snapshot_lat: list[F64] = field(default_factory=list)
    snapshot_lon: list[F64] = field(default_factory=list)
    snapshot_sog: list[F64] = field(default_factory=list)
    ticks: int = 0


class _Zones:
    """Watched zones: who is inside, and the intervals of presence (from, to or None)."""

    def __init__(self, plan: Plan, recorder: Recorder) -> None:
        self.ids = plan.watched
        self.geometries = [plan.zones[zone_id] for zone_id in self.ids]
        for geometry in self.geometries:
            shapely.prepare(geometry)
        self.bounds = [geometry.bounds for geometry in self.geometries]
        self.inside = [np.zeros(plan.state.size, dtype=np.bool_) for _ in self.ids]
        self.opened: list[dict[int, tuple[int, float, float]]] = [{} for _ in self.ids]
        self.recorder = recorder

    def update(self, lat: F64, lon: F64, now_s: int) -> None:
        for number, geometry in enumerate(self.geometries):
            west, south, east, north = self.bounds[number]
            near = np.flatnonzero((lon > west) & (lon < east) & (lat > south) & (lat < north))
            now_inside = np.zeros(lat.size, dtype=np.bool_)
            if near.size:
                now_inside[near] = shapely.contains_xy(geometry, lon[near], lat[near])
            changed = np.flatnonzero(now_inside != self.inside[number])
            for vessel in changed.tolist():
                if now_inside[vessel]:
                    self.opened[number][vessel] = (now_s, float(lat[vessel]), float(lon[vessel]))
                else:
                    start, at_lat, at_lon = self.opened[number].pop(vessel)
                    self.recorder.zone_intervals.append(
                        (vessel, self.ids[number], start, now_s, at_lat, at_lon)
                    )
            self.inside[number] = now_inside

    def close(self) -> None:
        for number, opened in enumerate(self.opened):
            for vessel, (start, at_lat, at_lon) in sorted(opened.items()):
                self.recorder.zone_intervals.append(
                    (vessel, self.ids[number], start, None, at_lat, at_lon)
                )


class _Engine:
    def __init__(self, plan: Plan, recorder: Recorder) -> None:
        self.plan = plan
        self.state = plan.state
        self.recorder = recorder
        size = self.state.size
        self.mmsi = plan.mmsis
        self.identities = [vessel.identity for vessel in plan.vessels]
        self.class_b = np.asarray([i.class_b for i in self.identities], dtype=np.bool_)
        self.routes = RouteFollower()
        self.fishing = Fishing(plan.seed, self.mmsi)
        self.hold = Hold()
        self.base: list[BaseTask | None] = [None] * size
        self.active: list[Situation | None] = [None] * size
        self.dark = np.zeros(size, dtype=np.bool_)
        self.events: list[tuple[float, int, int, int, int]] = []
        self._schedule_events()
        seed = plan.seed
        self.nominal_ms = np.zeros(size)
        self.last_interval = np.zeros(size)
        self.report_count = np.zeros(size, dtype=np.int64)
        self.static_next_s = uniform(seed, self.mmsi, 1, STREAMS["station"]) * plan.static_every_s
        self.statics = [static_fields(identity) for identity in self.identities]
        self.static_seq = 0
        self.zones = _Zones(plan, recorder)

    # -- timeline ------------------------------------------------------------------------

    def _schedule_events(self) -> None:
        """Events: (time, order, kind, vessel, item). Kinds: 0 dark off, 1 base, 2 situation
        start, 3 dark on; order keeps equal times in file order."""
        order = 0
        for vessel, plan in enumerate(self.plan.vessels):
            for item, (start, _) in enumerate(plan.bases):
                self.events.append((max(start, 0.0), order, 1, vessel, item))
                order += 1
            for item, situation in enumerate(plan.situations):
                self.events.append((max(situation.start_s, 0.0), order, 2, vessel, item))
                order += 1
            for start, end in plan.darks:
                self.events.append((max(start, 0.0), order, 3, vessel, 0))
                self.events.append((end, order + 1, 0, vessel, 0))
                order += 2
        heapq.heapify(self.events)

    def _activate_base(self, vessel: int, task: BaseTask, resume: bool) -> None:
        if isinstance(task, RouteTask):
            self.routes.add(vessel, task, self.state, resume=resume or task.join_nearest)
        elif isinstance(task, FishTask):
            self.fishing.add(vessel, task)
        else:
            self.hold.add(vessel, task)

    def _deactivate_base(self, vessel: int) -> None:
        task = self.base[vessel]
        if isinstance(task, RouteTask):
            self.routes.remove(vessel)
        elif isinstance(task, FishTask):
            self.fishing.remove(vessel)
        elif isinstance(task, HoldTask):
            self.hold.remove(vessel)

    def _process_events(self, now_s: int) -> None:
        while self.events and self.events[0][0] <= now_s:
            _, _, kind, vessel, item = heapq.heappop(self.events)
            if kind in (0, 3):
                self.dark[vessel] = kind == 3
            elif kind == 1:
                if self.active[vessel] is None:
                    self._deactivate_base(vessel)
                    self.base[vessel] = self.plan.vessels[vessel].bases[item][1]
                    self._activate_base(vessel, self.plan.vessels[vessel].bases[item][1], False)
                else:
                    self.base[vessel] = self.plan.vessels[vessel].bases[item][1]
            else:
                if self.active[vessel] is None:
                    self._deactivate_base(vessel)
                self.active[vessel] = self.plan.vessels[vessel].situations[item]

    def _end_situation(self, vessel: int) -> None:
        self.active[vessel] = None
        task = self.base[vessel]
        if task is not None:
            self._activate_base(vessel, task, True)

    def steer(self, now_s: int) -> None:
        self._process_events(now_s)
        for vessel, situation in enumerate(self.active):
            if situation is not None and not situation.steer(float(now_s), self.state):
                self._end_situation(vessel)
        self.routes.steer(self.state)
        self.fishing.steer(self.state, float(now_s))
        self.hold.steer(self.state)

    # -- reports -------------------------------------------------------------------------

    def start_schedule(self) -> None:
        """Spread the first reports over each vessel's first interval (random phase)."""
        state = self.state
        phase = uniform(self.plan.seed, self.mmsi, 0, STREAMS["station"])
        first = reporting_interval_s(
            self.class_b, state.sog_kn, state.rot_deg_min, state.nav_status
        )
        self.nominal_ms = -phase * first * 1000.0

    def _stations(self, due: NDArray[np.intp]) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
        """Nearest and second-nearest receiving station of each reporting vessel."""
        plan = self.plan
        lat, lon = self.state.lat[due], self.state.lon[due]
        east, north = flat_vector_m(
            lat[:, None], lon[:, None], plan.station_lat[None, :], plan.station_lon[None, :]
        )
        ranked = np.argsort(np.hypot(east, north), axis=1, kind="stable")
        second = ranked[:, 1] if ranked.shape[1] > 1 else ranked[:, 0]
        return ranked[:, 0], second

    def reports(self, now_s: int) -> list[Transmission]:
        state, plan = self.state, self.plan
        now_ms = now_s * 1000
        interval = reporting_interval_s(
            self.class_b, state.sog_kn, state.rot_deg_min, state.nav_status
        )
        due = np.flatnonzero((now_ms >= self.nominal_ms + interval * 1000.0) & ~self.dark)
        static_due = np.flatnonzero((now_s >= self.static_next_s) & ~self.dark)
        if due.size == 0 and static_due.size == 0:
            return []
        step_ms = interval[due] * 1000.0
        on_time = now_ms - (self.nominal_ms[due] + step_ms) < 1000.0
        self.nominal_ms[due] = np.where(on_time, self.nominal_ms[due] + step_ms, now_ms)
        now_ms += plan.start_ms  # from here on: UNIX time
        changed = (self.last_interval[due] != interval[due]) & (self.report_count[due] > 0)
        self.last_interval[due] = interval[due]
        out: list[Transmission] = []
        noise = plan.noise
        lat, lon = state.lat[due], state.lon[due]
        counters = self.report_count[due]
        if noise.jitter_m > 0:
            lat, lon = self._jitter(due, counters, lat, lon)
        drops = uniform(plan.seed, self.mmsi[due], counters, STREAMS["drop"]) < noise.drop
        dupes = uniform(plan.seed, self.mmsi[due], counters, STREAMS["duplicate"]) < noise.duplicate
        near, second = self._stations(due)
        for k, vessel in enumerate(due.tolist()):
            self.report_count[vessel] += 1
            if drops[k]:
                continue
            fields = self._position(
                vessel,
                now_ms,
                float(lat[k]),
                float(lon[k]),
                int(counters[k]),
                float(interval[vessel]),
                bool(changed[k]),
            )
            channel = "A" if counters[k] % 2 == 0 else "B"
            sentences = tuple(encode_message(fields, channel))
            self._emit(
                out, now_ms, vessel, fields, sentences, int(near[k]), int(second[k]), bool(dupes[k])
            )
        for vessel in static_due.tolist():
            self.static_next_s[vessel] += plan.static_every_s
            self._statics(out, now_ms, vessel)
        return out

    def _jitter(
        self, due: NDArray[np.intp], counters: NDArray[np.int64], lat: F64, lon: F64
    ) -> tuple[F64, F64]:
        seed, mmsi = self.plan.seed, self.mmsi[due]
        u1 = uniform(seed, mmsi, counters, STREAMS["jitter_r"])
        u2 = uniform(seed, mmsi, counters, STREAMS["jitter_lat"])
        radius = self.plan.noise.jitter_m * np.sqrt(-2.0 * np.log1p(-u1))
        angle = 2.0 * math.pi * u2
        per_lat, per_lon = m_per_deg(lat)
        return lat + radius * np.cos(angle) / per_lat, lon + radius * np.sin(angle) / per_lon

    def _position(
        self,
        vessel: int,
        now_ms: int,
        lat: float,
        lon: float,
        count: int,
        interval_s: float,
        changed: bool,
    ) -> dict[str, Any]:
        state = self.state
        identity = self.identities[vessel]
        if identity.class_b:
            msg_type, radio = 18, CS_RADIO
        elif changed:
            msg_type, radio = 3, itdma_radio(interval_s)
        else:
            msg_type = 1
            radio = sotdma_radio(count, now_ms, interval_s, min(self.state.size, 16_383))
        return position_fields(
            identity,
            msg_type=msg_type,
            lat=lat,
            lon=lon,
            sog_kn=float(state.sog_kn[vessel]),
            cog_deg=float(state.cog_deg[vessel]),
            rot_deg_min=float(state.rot_deg_min[vessel]),
            nav_status=int(state.nav_status[vessel]),
            second=(now_ms // 1000) % 60,
            radio=radio,
        )

    def _emit(
        self,
        out: list[Transmission],
        now_ms: int,
        vessel: int,
        fields: dict[str, Any],
        sentences: tuple[str, ...],
        near: int,
        second: int,
        duplicate: bool,
    ) -> None:
        stations = self.plan.station_ids
        mmsi = int(self.mmsi[vessel])
        msg_type = int(fields["type"])
        out.append(Transmission(now_ms, mmsi, msg_type, stations[near], sentences, fields))
        if duplicate and second != near:
            out.append(
                Transmission(now_ms, mmsi, msg_type, stations[second], sentences, fields, True)
            )
        emitted = self.recorder.emissions.get(vessel)
        run_ms = now_ms - self.plan.start_ms
        if emitted is not None and (not emitted or emitted[-1] != run_ms):
            emitted.append(run_ms)

    def _statics(self, out: list[Transmission], now_ms: int, vessel: int) -> None:
        plan = self.plan
        count = int(self.report_count[vessel])
        drop = (
            uniform(plan.seed, self.mmsi[vessel], count, STREAMS["drop"] + 16)[0] < plan.noise.drop
        )
        if drop:
            return
        near, second = self._stations(np.asarray([vessel], dtype=np.intp))
        for fields in self.statics[vessel]:
            seq_id = None
            if fields["type"] == 5:
                seq_id = self.static_seq % 10
                self.static_seq += 1
            sentences = tuple(encode_message(fields, "B" if count % 2 else "A", seq_id))
            duplicate = bool(
                uniform(plan.seed, self.mmsi[vessel], count, STREAMS["duplicate"] + 16)[0]
                < plan.noise.duplicate
            )
            self._emit(
                out, now_ms, vessel, fields, sentences, int(near[0]), int(second[0]), duplicate
            )

    # -- truth ---------------------------------------------------------------------------

    def record(self, now_s: int) -> None:
        recorder, state = self.recorder, self.state
        recorder.ticks += 1
        tracked = recorder.tracked
        recorder.track_lat.append(state.lat[tracked].copy())
        recorder.track_lon.append(state.lon[tracked].copy())
        recorder.track_sog.append(state.sog_kn[tracked].copy())
        self.zones.update(state.lat, state.lon, now_s)
        if now_s % _SNAPSHOT_S == 0:
            recorder.snapshot_s.append(now_s)
            recorder.snapshot_lat.append(state.lat.copy())
            recorder.snapshot_lon.append(state.lon.copy())
            recorder.snapshot_sog.append(state.sog_kn.copy())


def tracked_vessels(plan: Plan) -> NDArray[np.intp]:
    """Vessels whose every second the truth needs: those in or targeted by situations."""
    chosen: set[int] = set()
    for number, vessel in enumerate(plan.vessels):
        if vessel.situations or vessel.darks:
            chosen.add(number)
    for first, second in plan.linked:
        chosen.update((first, second))
    return np.asarray(sorted(chosen), dtype=np.intp)


def run_plan(
    plan: Plan, recorder: Recorder | None = None, progress: Progress | None = None
) -> Iterator[Transmission]:
    """Run a plan, yielding every transmission in time order; fills ``recorder``."""
    recorder = recorder if recorder is not None else Recorder(tracked_vessels(plan))
    for vessel in recorder.tracked.tolist():
        recorder.emissions[vessel] = []
    engine = _Engine(plan, recorder)
    total = math.ceil(plan.duration_s)
    for now_s in range(total):
        engine.steer(now_s)
        if now_s == 0:
            plan.state.settle(plan.settled)
            engine.start_schedule()
        yield from engine.reports(now_s)
        engine.record(now_s)
        plan.state.step(1.0)
        if progress is not None and (now_s % _PROGRESS_S == 0):
            progress(float(now_s), float(total))
    engine.zones.close()
    if progress is not None:
        progress(float(total), float(total))
