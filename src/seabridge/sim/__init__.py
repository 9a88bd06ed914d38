"""The scenario simulator: scenario files in, real NMEA out, with the ground truth beside it.

The simulator feeds Seabridge exactly like a receiver does: ``!AIVDM`` sentences with NMEA
4.10 tag blocks, encoded by pyais, never internal objects. A scenario (YAML, format in
``docs/simulator.md``) places vessels and fleets, gives them behaviours (transit, fishing,
anchored, moored, patrol) and scripted situations (approach, shadow, rendezvous,
zone_entry, speed_run, go_dark); the run moves them on the WGS-84 ellipsoid in one-second
ticks, reports at the ITU-R M.1371 intervals, and records what really happened as
ground-truth rows in the detection engine's rule kinds.

Typical use::

    from seabridge.sim import Simulation, load_scenario

    simulation = Simulation(load_scenario("ecs-mini"), seed=7)
    for transmission in simulation.transmissions():
        for line in transmission.lines():
            print(line)
    print(simulation.result.summary(), simulation.result.situations)

Determinism: the same scenario, seed and duration give the same bytes. There is no wall
clock and no unordered iteration; random draws are seeded per fleet or hashed per vessel.

This package may import :mod:`seabridge.ais` (encoding helpers), :mod:`seabridge.geo` and
the ground floor; never the detection engine, typer or rich.
"""

from __future__ import annotations

from seabridge.sim.engine import Transmission
from seabridge.sim.output import parse_address, serve_tcp, truth_line, write_lines
from seabridge.sim.runner import SimResult, Simulation, simulate
from seabridge.sim.scenario import (
    Scenario,
    ScenarioError,
    builtin_scenarios,
    load_scenario,
    parse_scenario,
)
from seabridge.sim.schedule import reporting_interval_s
from seabridge.sim.timespec import parse_duration_s
from seabridge.sim.truth import Incidental

__all__ = [
    "Incidental",
    "Scenario",
    "ScenarioError",
    "SimResult",
    "Simulation",
    "Transmission",
    "builtin_scenarios",
    "load_scenario",
    "parse_address",
    "parse_duration_s",
    "parse_scenario",
    "reporting_interval_s",
    "serve_tcp",
    "simulate",
    "truth_line",
    "write_lines",
]
