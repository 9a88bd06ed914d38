"""One run of the built-in ecs-mini scenario, for the tests that check its output.

The run is the simulator's whole product: NMEA lines, the ground truth and the counts.
Every check decodes what was *emitted* (with pyais) rather than trusting internal state.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyais
from numpy.typing import NDArray

from seabridge import geo
from seabridge.sim import Simulation, Transmission, load_scenario
from seabridge.units import iso_to_ms

POSITION_TYPES = (1, 2, 3, 18)


@dataclass
class Track:
    """A vessel's decoded position reports (one per message, duplicates left out)."""

    ts_ms: NDArray[np.int64]
    lat: NDArray[np.float64]
    lon: NDArray[np.float64]
    sog_kn: NDArray[np.float64]
    turn: list[Any]
    status: list[int]
    msg_type: list[int]

    def at(self, ts_ms: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Positions interpolated linearly in time (reports are seconds apart)."""
        return np.interp(ts_ms, self.ts_ms, self.lat), np.interp(ts_ms, self.ts_ms, self.lon)


@dataclass(repr=False)
class MiniRun:
    simulation: Simulation
    transmissions: list[Transmission]
    decoded: list[Any]
    lines: list[str]
    rows: list[dict[str, Any]]
    zones: geo.ZoneSet
    _tracks: dict[int, Track] = field(default_factory=dict)

    def __repr__(self) -> str:  # pytest prints fixtures in tracebacks: keep it short
        return f"MiniRun({len(self.transmissions)} transmissions, {len(self.rows)} rows)"

    def track(self, mmsi: int) -> Track:
        if mmsi not in self._tracks:
            picked = [
                (tx, msg)
                for tx, msg in zip(self.transmissions, self.decoded, strict=True)
                if tx.mmsi == mmsi and not tx.duplicate and tx.msg_type in POSITION_TYPES
            ]
            self._tracks[mmsi] = Track(
                ts_ms=np.asarray([tx.ts_ms for tx, _ in picked], dtype=np.int64),
                lat=np.asarray([msg.lat for _, msg in picked]),
                lon=np.asarray([msg.lon for _, msg in picked]),
                sog_kn=np.asarray([msg.speed for _, msg in picked]),
                turn=[getattr(msg, "turn", None) for _, msg in picked],
                status=[int(getattr(msg, "status", -1)) for _, msg in picked],
                msg_type=[msg.msg_type for _, msg in picked],
            )
        return self._tracks[mmsi]

    def rows_of(self, kind: str) -> list[dict[str, Any]]:
        return [row for row in self.rows if row["kind"] == kind]


def row_ms(row: dict[str, Any], key: str) -> int:
    return iso_to_ms(str(row[key]))


def run_ecs_mini() -> MiniRun:
    """Simulate ecs-mini and decode every message it emitted."""
    scenario = load_scenario("ecs-mini")
    simulation = Simulation(scenario)
    transmissions = list(simulation.transmissions())
    decoded = [pyais.decode(*tx.sentences) for tx in transmissions]
    lines = [line for tx in transmissions for line in tx.lines()]
    assert scenario.pack is not None
    zones = geo.load_zones(scenario.pack)
    return MiniRun(simulation, transmissions, decoded, lines, simulation.result.situations, zones)
