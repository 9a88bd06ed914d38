"""``seabridge simulate``: a scenario as real NMEA (a file, stdout or a TCP feed) and its truth."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from seabridge.cli._app import app, err, user_errors
from seabridge.clock import SystemClock
from seabridge.errors import InputError

if TYPE_CHECKING:  # imported inside the command: the simulator pulls in numpy, geo and pyais
    from seabridge.sim import SimResult, Simulation
    from seabridge.sim.engine import Progress as ProgressCallback

SCENARIO_HELP = "A built-in scenario (ecs-mini, ecs-demo) or a scenario file (.yaml)."


@app.command("simulate")
def simulate_command(
    scenario: str = typer.Argument(..., help=SCENARIO_HELP, show_default=False),
    out: str | None = typer.Option(
        None, "--out", help="Write the NMEA to this file; - or nothing: standard output."
    ),
    truth: Path | None = typer.Option(
        None, "--truth", help="Write the ground truth here: one JSON object per situation."
    ),
    seed: int | None = typer.Option(None, "--seed", help="Replace the scenario's seed."),
    duration: str | None = typer.Option(
        None, "--duration", help="Replace the scenario's duration, e.g. 1h, 90m, 2h30m."
    ),
    tcp: str | None = typer.Option(
        None,
        "--tcp",
        help="Serve the NMEA as a TCP feed on HOST:PORT instead; it starts when the first "
        "client connects.",
    ),
    speed: float = typer.Option(
        1.0, "--speed", help="With --tcp: data time runs this many times faster than real time."
    ),
    encoder: str = typer.Option(
        "fast",
        "--encoder",
        help="Position-report encoder: fast (numpy, the same bytes) or pyais (per message).",
    ),
    as_json: bool = typer.Option(
        False, "--json", help="Print only {vessels, sentences, messages, situations} as JSON."
    ),
) -> None:
    """Simulate a scenario: NMEA 0183 !AIVDM sentences with tag blocks, as a receiver gives
    them, and the ground truth of every scripted situation.

    The same scenario, seed and duration give the same bytes. Exit status 2 for a scenario
    that cannot be used (the message names the file, line and field).
    """
    from seabridge.sim import Simulation, load_scenario, write_lines
    from seabridge.sim.runner import ENCODERS

    with user_errors():
        duration_s = _duration(duration)
        if encoder not in ENCODERS:
            raise InputError(f"--encoder {encoder}: choose {' or '.join(ENCODERS)}")
        if tcp is not None and out is not None:
            raise InputError("--out and --tcp both given: write a file or serve a feed")
        if as_json and tcp is None and out in (None, "-"):
            raise InputError("--json prints the summary on stdout: give --out FILE for the NMEA")
        simulation = Simulation(
            load_scenario(scenario), seed=seed, duration_s=duration_s, encoder=encoder
        )
        with _progress(not as_json and err.is_terminal, simulation) as progress:
            transmissions = simulation.transmissions(progress)
            if tcp is not None:
                _serve(transmissions, tcp, speed)
            else:
                with _output(out) as stream:
                    write_lines(transmissions, stream)
        result = simulation.result
        if truth is not None:
            _write_truth(truth, result)
    _report(result, as_json, simulation.scenario.name, out or tcp or "standard output")


def _duration(text: str | None) -> float | None:
    from seabridge.sim import parse_duration_s

    if text is None:
        return None
    try:
        seconds = parse_duration_s(text)
    except ValueError as exc:
        raise InputError(f"--duration: {exc}") from None
    if seconds <= 0:
        raise InputError("--duration must be longer than zero")
    return seconds


@contextmanager
def _output(out: str | None) -> Iterator[TextIO]:
    if out in (None, "-"):
        yield sys.stdout
        sys.stdout.flush()
        return
    path = Path(out)
    try:
        stream = path.open("w", encoding="ascii", newline="\n", buffering=1 << 20)
    except OSError as exc:
        raise InputError(f"--out {out}: cannot be written ({exc.strerror})") from None
    with stream:
        yield stream


def _serve(transmissions: Iterator[object], address: str, speed: float) -> None:
    from seabridge.sim import parse_address, serve_tcp

    def listening(bound: tuple[str, int]) -> None:
        err.print(f"serving NMEA on tcp://{bound[0]}:{bound[1]} (waiting for a client)")

    try:
        serve_tcp(
            transmissions,  # type: ignore[arg-type]
            parse_address(address),
            speed=speed,
            clock=SystemClock(),
            on_listen=listening,
        )
    except KeyboardInterrupt:
        err.print("stopped")
        raise typer.Exit(130) from None


def _write_truth(path: Path, result: SimResult) -> None:
    from seabridge.sim import truth_line

    try:
        with path.open("w", encoding="utf-8", newline="\n") as stream:
            for row in result.situations:
                stream.write(truth_line(row))
    except OSError as exc:
        raise InputError(f"--truth {path}: cannot be written ({exc.strerror})") from None


def _report(result: SimResult, as_json: bool, name: str, where: str) -> None:
    if as_json:
        sys.stdout.write(json.dumps(result.summary()) + "\n")
        return
    summary = result.summary()
    err.print(
        f"{name}: {summary['vessels']:,} vessels, {summary['sentences']:,} sentences "
        f"({summary['messages']:,} messages), {summary['situations']:,} situations -> {where}",
        markup=False,
    )
    for pair in result.incidental[:10]:
        err.print(
            f"warning: unscripted vessels {pair.mmsis[0]} and {pair.mmsis[1]} came within "
            f"{pair.distance_m:.0f} m",
            markup=False,
        )


@contextmanager
def _progress(enabled: bool, simulation: Simulation) -> Iterator[ProgressCallback | None]:
    """A bar of simulated time on a terminal (stderr); nothing otherwise."""
    if not enabled:
        yield None
        return
    bar = Progress(
        TextColumn(simulation.scenario.name),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeRemainingColumn(),
        console=err,
        transient=True,
    )
    task = bar.add_task("simulate", total=simulation.plan.duration_s)

    def update(done_s: float, total_s: float) -> None:
        bar.update(task, completed=done_s, total=total_s)

    with bar:
        yield update
