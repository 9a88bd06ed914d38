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
from seabridge.sim.draws import STREAMS, uniform, uniform4
from seabridge.sim.encode import (
    CS_RADIO,
    HEADING_NOT_AVAILABLE,
    PositionBatch,
    encode_message,
    encode_positions,
    frame,
    itdma_radio,
    position_dicts,
    raw_turn,
    sotdma_radio,
    static_fields,
    static_payload,
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


Fields = dict[str, Any] | tuple[PositionBatch, int]
"""A message's values: a dict, or a row of a position batch (turned into a dict on demand)."""


def _msg_type(fields: Fields) -> int:
    if isinstance(fields, tuple):
        return int(fields[0].msg_type[fields[1]])
    return int(fields["type"])


@dataclass(frozen=True, slots=True)
class Transmission:
    """One AIS message as received by one station: its sentences and the encoded values."""

    ts_ms: int
    mmsi: int
    msg_type: int
    station: str
    sentences: tuple[str, ...]
    values: Fields
    duplicate: bool = False

    @property
    def fields(self) -> Mapping[str, Any]:
        """Every field as given to pyais's ``encode_dict`` (scaled units: degrees, knots)."""
        if isinstance(self.values, tuple):
            batch, row = self.values
            return position_dicts(batch.row(row))[0]
        return self.values

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
    def __init__(self, plan: Plan, recorder: Recorder, encoder: str) -> None:
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
        self.static_next_s = uniform(seed, self.mmsi, 1, STREAMS["phase"]) * plan.static_every_s
        self.statics = [static_fields(identity) for identity in self.identities]
        self._static_cache: dict[int, list[tuple[str, int]]] = {}
        self.heading_sensor = np.asarray([i.heading_sensor for i in self.identities], np.bool_)
        self.accuracy = np.asarray([i.accuracy for i in self.identities], dtype=np.int64)
        self.encoder = encoder
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
        phase = uniform(self.plan.seed, self.mmsi, 0, STREAMS["phase"])
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
        run_ms = now_s * 1000
        interval = reporting_interval_s(
            self.class_b, state.sog_kn, state.rot_deg_min, state.nav_status
        )
        due = np.flatnonzero((run_ms >= self.nominal_ms + interval * 1000.0) & ~self.dark)
        static_due = np.flatnonzero((now_s >= self.static_next_s) & ~self.dark)
        if due.size == 0 and static_due.size == 0:
            return []
        step_ms = interval[due] * 1000.0
        on_time = run_ms - (self.nominal_ms[due] + step_ms) < 1000.0
        self.nominal_ms[due] = np.where(on_time, self.nominal_ms[due] + step_ms, run_ms)
        changed = (self.last_interval[due] != interval[due]) & (self.report_count[due] > 0)
        self.last_interval[due] = interval[due]
        counters = self.report_count[due]
        self.report_count[due] += 1
        # One hash per report: [drop, duplicate, jitter radius, jitter angle].
        draws = uniform4(plan.seed, self.mmsi[due], counters, STREAMS["report"])
        heard = draws[:, 0] >= plan.noise.drop
        out: list[Transmission] = []
        if heard.any():
            keep = due[heard]
            draws = draws[heard]
            batch = self._batch(
                keep, draws, interval[keep], changed[heard], run_ms, counters[heard]
            )
            duplicate = draws[:, 1] < plan.noise.duplicate
            self._emit_positions(out, keep, duplicate, batch, plan.start_ms + run_ms)
        for vessel in static_due.tolist():
            self.static_next_s[vessel] += plan.static_every_s
            self._statics(out, plan.start_ms + run_ms, vessel)
        return out

    def _batch(
        self,
        keep: NDArray[np.intp],
        draws: F64,
        interval_s: F64,
        changed: NDArray[np.bool_],
        run_ms: int,
        counters: NDArray[np.int64],
    ) -> PositionBatch:
        """The raw fields of the position reports of ``keep`` at this tick."""
        state, plan = self.state, self.plan
        ts_ms = plan.start_ms + run_ms
        lat, lon = state.lat[keep], state.lon[keep]
        if plan.noise.jitter_m > 0:
            lat, lon = self._jitter(draws, lat, lon)
        sog, cog = state.sog_kn[keep], state.cog_deg[keep]
        class_b = self.class_b[keep]
        sensor = self.heading_sensor[keep]
        stamps = np.full(keep.size, ts_ms, dtype=np.int64)
        radio = np.where(
            class_b,
            CS_RADIO,
            np.where(
                changed,
                itdma_radio(interval_s),
                sotdma_radio(counters, stamps, interval_s, min(state.size, 16_383)),
            ),
        )
        turn, rot = raw_turn(state.rot_deg_min[keep], sensor & ~class_b)
        return PositionBatch(
            msg_type=np.where(class_b, 18, np.where(changed, 3, 1)).astype(np.int64),
            mmsi=self.mmsi[keep],
            status=state.nav_status[keep].astype(np.int64),
            turn=turn,
            rot_deg_min=rot,
            speed=np.minimum(np.round(sog * 10.0), 1022).astype(np.int64),
            accuracy=self.accuracy[keep],
            lon=np.round(lon * 600_000.0).astype(np.int64),
            lat=np.round(lat * 600_000.0).astype(np.int64),
            course=(np.round(cog * 10.0) % 3600).astype(np.int64),
            heading=np.where(sensor, np.round(cog) % 360, HEADING_NOT_AVAILABLE).astype(np.int64),
            second=np.full(keep.size, (ts_ms // 1000) % 60, dtype=np.int64),
            radio=radio.astype(np.int64),
            channel=["B" if count % 2 else "A" for count in counters.tolist()],
        )

    def _emit_positions(
        self,
        out: list[Transmission],
        keep: NDArray[np.intp],
        duplicate: NDArray[np.bool_],
        batch: PositionBatch,
        ts_ms: int,
    ) -> None:
        if self.encoder == "pyais":
            sentences = [
                encode_message(fields, channel)[0]
                for fields, channel in zip(position_dicts(batch), batch.channel, strict=True)
            ]
        else:
            sentences = encode_positions(batch)
        near, second = self._stations(keep)
        for row, vessel in enumerate(keep.tolist()):
            self._emit(
                out,
                ts_ms,
                vessel,
                (batch, row),
                (sentences[row],),
                int(near[row]),
                int(second[row]),
                bool(duplicate[row]),
            )

    def _jitter(self, draws: F64, lat: F64, lon: F64) -> tuple[F64, F64]:
        """Gaussian position noise (Box-Muller on two of the report's draws)."""
        radius = self.plan.noise.jitter_m * np.sqrt(-2.0 * np.log1p(-draws[:, 2]))
        angle = 2.0 * math.pi * draws[:, 3]
        per_lat, per_lon = m_per_deg(lat)
        return lat + radius * np.cos(angle) / per_lat, lon + radius * np.sin(angle) / per_lon

    def _emit(
        self,
        out: list[Transmission],
        ts_ms: int,
        vessel: int,
        fields: Fields,
        sentences: tuple[str, ...],
        near: int,
        second: int,
        duplicate: bool,
    ) -> None:
        stations = self.plan.station_ids
        mmsi = int(self.mmsi[vessel])
        msg_type = _msg_type(fields)
        out.append(Transmission(ts_ms, mmsi, msg_type, stations[near], sentences, fields))
        if duplicate and second != near:
            out.append(
                Transmission(ts_ms, mmsi, msg_type, stations[second], sentences, fields, True)
            )
        emitted = self.recorder.emissions.get(vessel)
        run_ms = ts_ms - self.plan.start_ms
        if emitted is not None and (not emitted or emitted[-1] != run_ms):
            emitted.append(run_ms)

    def _statics(self, out: list[Transmission], ts_ms: int, vessel: int) -> None:
        plan = self.plan
        count = int(self.report_count[vessel])
        draws = uniform4(plan.seed, self.mmsi[vessel], count, STREAMS["static"])[0]
        if draws[0] < plan.noise.drop:
            return
        near, second = self._stations(np.asarray([vessel], dtype=np.intp))
        duplicate = bool(draws[1] < plan.noise.duplicate)
        channel = "B" if count % 2 else "A"
        for fields, payload in zip(
            self.statics[vessel], self._static_payloads(vessel), strict=True
        ):
            seq_id = None
            if fields["type"] == 5:
                seq_id = self.static_seq % 10
                self.static_seq += 1
            sentences = tuple(frame(payload, channel, seq_id))
            self._emit(
                out, ts_ms, vessel, fields, sentences, int(near[0]), int(second[0]), duplicate
            )

    def _static_payloads(self, vessel: int) -> list[tuple[str, int]]:
        """The armoured payloads of a vessel's static messages, encoded once by pyais."""
        if vessel not in self._static_cache:
            self._static_cache[vessel] = [static_payload(f) for f in self.statics[vessel]]
        return self._static_cache[vessel]

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
    plan: Plan,
    recorder: Recorder | None = None,
    progress: Progress | None = None,
    encoder: str = "fast",
) -> Iterator[Transmission]:
    """Run a plan, yielding every transmission in time order; fills ``recorder``."""
    recorder = recorder if recorder is not None else Recorder(tracked_vessels(plan))
    for vessel in recorder.tracked.tolist():
        recorder.emissions[vessel] = []
    engine = _Engine(plan, recorder, encoder)
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
