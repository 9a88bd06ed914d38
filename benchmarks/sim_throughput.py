"""Simulator throughput: NMEA sentences generated per second for the built-in ecs-demo.

The whole scenario (6 h, 1,500+ vessels) runs once with the default (numpy) position
encoder, lines going to a counting sink (formatting included, no disk). In the same run, a
20-minute window of ecs-demo runs with each encoder, so the cost of pyais's per-message
``encode_dict`` is measured against the numpy path on identical traffic (their bytes are
equal; a test holds them to it). Wall and CPU seconds are reported; the machine is shared,
so CPU time is the steadier figure.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from seabridge.sim import SimResult, load_scenario, simulate

OUT = Path(__file__).resolve().parents[1] / "bench-out"
WINDOW_S = 20 * 60.0


def _run(encoder: str, duration_s: float | None) -> tuple[float, float, SimResult, int]:
    written = 0

    def sink(line: str) -> None:
        nonlocal written
        written += len(line)

    wall, cpu = time.perf_counter(), time.process_time()
    result = simulate(load_scenario("ecs-demo"), sink, duration_s=duration_s, encoder=encoder)
    return time.perf_counter() - wall, time.process_time() - cpu, result, written


def main() -> None:
    scenario = load_scenario("ecs-demo")
    print(f"Simulator, {scenario.name}: {scenario.spec.duration / 3600:g} h of data")
    windows: dict[str, dict[str, float]] = {}
    for encoder in ("fast", "pyais"):
        wall, cpu, result, _ = _run(encoder, WINDOW_S)
        windows[encoder] = {"wall_s": wall, "cpu_s": cpu, "sentences": result.sentences}
        print(
            f"  {WINDOW_S / 60:.0f}-min window, {encoder:<5} encoder: {result.sentences:,} "
            f"sentences in {wall:.1f} s wall, {cpu:.1f} s CPU "
            f"({result.sentences / cpu:,.0f} sentences per CPU second)"
        )
    wall, cpu, result, written = _run("fast", None)
    summary = result.summary()
    print(
        f"  whole run: {summary['vessels']:,} vessels, {summary['sentences']:,} sentences "
        f"({summary['messages']:,} messages, {written / 2**20:,.0f} MiB), "
        f"{summary['situations']} situations"
    )
    print(
        f"  {wall:.1f} s wall, {cpu:.1f} s CPU: {summary['sentences'] / wall:,.0f} sentences/s "
        f"wall, {summary['sentences'] / cpu:,.0f} per CPU second, "
        f"{scenario.spec.duration / wall:,.0f}x real time"
    )
    OUT.mkdir(exist_ok=True)
    report = {
        "scenario": scenario.name,
        "summary": summary,
        "bytes": written,
        "wall_s": wall,
        "cpu_s": cpu,
        "sentences_per_s_wall": summary["sentences"] / wall,
        "sentences_per_cpu_s": summary["sentences"] / cpu,
        "windows": windows,
    }
    (OUT / "sim.json").write_text(json.dumps(report, indent=2) + "\n")
