"""Run a scenario: :class:`Simulation` yields transmissions and, once done, the result.

A :class:`Simulation` builds its plan at once (so a bad scenario fails before any output),
runs it once, and then offers the counts, the ground-truth rows and the incidental
encounters in :attr:`Simulation.result`. :func:`simulate` is the one-call form that writes
lines to a callback.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from seabridge.sim.engine import Progress, Recorder, Transmission, run_plan, tracked_vessels
from seabridge.sim.plan import Plan, build_plan
from seabridge.sim.scenario import Scenario
from seabridge.sim.truth import Incidental, incidental_encounters, truth_rows

__all__ = ["ENCODERS", "SimResult", "Simulation", "simulate"]

ENCODERS = ("fast", "pyais")
"""Position-report encoders: ``fast`` packs types 1, 3 and 18 with numpy, byte for byte
what pyais gives (tested); ``pyais`` calls pyais's ``encode_dict`` for every report.
Static messages (5, 24) always go through pyais."""


@dataclass
class SimResult:
    """What a finished run produced."""

    vessels: int = 0
    """Distinct MMSIs that transmitted."""
    sentences: int = 0
    """NMEA lines written, duplicates included."""
    messages: int = 0
    """AIS messages received (a duplicate reception is not a new message)."""
    situations: list[dict[str, Any]] = field(default_factory=list)
    """Ground-truth rows (:mod:`seabridge.sim.truth`)."""
    incidental: list[Incidental] = field(default_factory=list)
    """Unscripted pairs closer than the scenario's minimum separation."""

    def summary(self) -> dict[str, int]:
        """The object ``seabridge simulate --json`` prints (keys are a contract)."""
        return {
            "vessels": self.vessels,
            "sentences": self.sentences,
            "messages": self.messages,
            "situations": len(self.situations),
        }


class Simulation:
    """One run of a scenario; ``seed`` and ``duration_s`` override the file's values.

    Raises:
        ScenarioError: on construction, for names that resolve to nothing; at the end of
            the run, for a scripted situation that did not come true.
    """

    def __init__(
        self,
        scenario: Scenario,
        *,
        seed: int | None = None,
        duration_s: float | None = None,
        encoder: str = "fast",
    ) -> None:
        if encoder not in ENCODERS:
            raise ValueError(f"encoder {encoder!r}: choose one of {', '.join(ENCODERS)}")
        self.scenario = scenario
        self.encoder = encoder
        self.plan: Plan = build_plan(scenario, seed, duration_s)
        self._result: SimResult | None = None
        self._started = False

    @property
    def result(self) -> SimResult:
        if self._result is None:
            raise RuntimeError("the simulation has not run to its end yet")
        return self._result

    def transmissions(self, progress: Progress | None = None) -> Iterator[Transmission]:
        """Every transmission in time order; the result is ready when this is exhausted."""
        if self._started:
            raise RuntimeError("a Simulation runs once; make a new one to run again")
        self._started = True
        recorder = Recorder(tracked_vessels(self.plan))
        result = SimResult()
        seen: set[int] = set()
        for transmission in run_plan(self.plan, recorder, progress, self.encoder):
            result.sentences += len(transmission.sentences)
            if not transmission.duplicate:
                result.messages += 1
            seen.add(transmission.mmsi)
            yield transmission
        result.vessels = len(seen)
        result.situations = truth_rows(self.plan, recorder)
        result.incidental = incidental_encounters(self.plan, recorder)
        self._result = result


def simulate(
    scenario: Scenario,
    write: Callable[[str], object],
    *,
    seed: int | None = None,
    duration_s: float | None = None,
    progress: Progress | None = None,
    encoder: str = "fast",
) -> SimResult:
    """Run a scenario, passing every line (tag block + sentence, with a newline) to
    ``write``; returns the result."""
    simulation = Simulation(scenario, seed=seed, duration_s=duration_s, encoder=encoder)
    for transmission in simulation.transmissions(progress):
        for line in transmission.lines():
            write(line + "\n")
    return simulation.result
