"""Whole-engine replay: the ecs-standard rulebook over a simulated scenario, against real time.

The scenario (ecs-demo, or ecs-mini while ecs-demo is not in the pack) is simulated once into
``bench-out/detect/`` and ingested once into a track store there; later runs reuse both
(delete the directory to start afresh). The replay reads the store in data-time order an
hour at a time (:func:`seabridge.detect.run_store`, what ``seabridge detect`` does) with a
fresh engine, after a warm-up replay of the first minutes (numba's compiled code loads once
per process). It reports the real-time factor (data time / wall time; target >= 500x), the
time per tick, and the final events per kind and level. A second replay feeds the same
positions in 10-second batches, as a live node would, to show the cost of small batches.
"""

from __future__ import annotations

import itertools
import json
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from seabridge.ais.ingest import IngestOptions, ingest
from seabridge.ais.quarantine import Quarantine
from seabridge.detect import Engine, Rulebook, final_events, load_rulebook, run_store
from seabridge.geo import ZoneSet, load_zones
from seabridge.packs import Party, load_pack, load_parties
from seabridge.sim.runner import Simulation
from seabridge.sim.scenario import Scenario, ScenarioError, load_scenario
from seabridge.tracks import TrackStore

OUT = Path(__file__).resolve().parents[1] / "bench-out"
TARGET_FACTOR = 500.0
WARM_UP_MS = 10 * 60_000
LIVE_BATCH_MS = 10_000


def _scenario() -> tuple[Scenario, str]:
    """ecs-demo if the pack has it, else ecs-mini (and a note saying so)."""
    directory = load_pack("ecs").path / "scenarios"
    for name in ("ecs-demo", "ecs-mini"):
        path = directory / f"{name}.yaml"
        if path.is_file():
            note = "" if name == "ecs-demo" else " (ecs-demo is not in the pack yet)"
            return load_scenario(path), note
    raise SystemExit("no ecs-demo or ecs-mini scenario in the ecs pack")


def _prepared(scenario: Scenario) -> Path:
    """The scenario's track store under bench-out/detect, simulated and ingested if needed."""
    folder = OUT / "detect"
    folder.mkdir(parents=True, exist_ok=True)
    nmea = folder / f"{scenario.name}.nmea"
    store_path = folder / f"{scenario.name}.duckdb"
    if not nmea.is_file() or nmea.stat().st_mtime < scenario.path.stat().st_mtime:
        print(f"  simulating {scenario.name} into {nmea} (once) ...", flush=True)
        start = time.perf_counter()
        partial = nmea.with_suffix(".partial")
        simulation = Simulation(scenario)
        try:
            with partial.open("w", encoding="ascii") as out:
                for transmission in simulation.transmissions():
                    out.writelines(line + "\n" for line in transmission.lines())
            truth = "".join(json.dumps(row) + "\n" for row in simulation.result.situations)
            (folder / f"{scenario.name}.truth.jsonl").write_text(truth, encoding="utf-8")
        except ScenarioError as exc:  # the traffic is complete; only its truth check failed
            print(f"  warning: {exc}; benchmarking the traffic anyway")
        partial.replace(nmea)
        store_path.unlink(missing_ok=True)
        print(f"  simulated in {time.perf_counter() - start:.0f} s")
    if not store_path.is_file():
        print(f"  ingesting into {store_path} (once) ...", flush=True)
        with (
            Quarantine(folder / f"{scenario.name}.quarantine.jsonl") as rejected,
            TrackStore.open(store_path) as store,
        ):
            ingest([str(nmea)], store, rejected, IngestOptions(fmt="nmea"))
    return store_path


def _replay(
    store: TrackStore,
    rulebook: Rulebook,
    zones: ZoneSet,
    parties: tuple[Party, ...],
    end_ms: int | None = None,
) -> tuple[float, Engine, list[Any]]:
    engine = Engine(rulebook, zones, parties)
    start = time.perf_counter()
    events = list(run_store(store, engine, end_ms=end_ms))
    return time.perf_counter() - start, engine, events


def _live(
    store: TrackStore, rulebook: Rulebook, zones: ZoneSet, parties: tuple[Party, ...]
) -> float:
    """The same positions fed 10 s of data at a time (read up front, not timed)."""
    positions = store.positions(order="ts")
    ts = positions.column("ts").cast("int64").to_numpy()
    batch = (ts - ts[0]) // LIVE_BATCH_MS
    cuts = [0, *(np.flatnonzero(np.diff(batch)) + 1).tolist(), len(ts)]
    engine = Engine(rulebook, zones, parties)
    engine.feed_statics(store.vessels())
    start = time.perf_counter()
    for begin, end in itertools.pairwise(cuts):
        engine.feed_positions(positions.slice(begin, end - begin))
    engine.finish()
    return time.perf_counter() - start


def main() -> None:
    scenario, note = _scenario()
    print(f"Detection replay: ecs-standard over {scenario.name}{note}")
    store_path = _prepared(scenario)
    pack = load_pack("ecs")
    zones, parties = load_zones(pack), load_parties(pack)
    rulebook = load_rulebook("ecs-standard", pack, zone_ids=zones.ids, parties=parties)
    with TrackStore.open(store_path, read_only=True) as store:
        stats = store.stats()
        assert stats.first_ms is not None and stats.last_ms is not None
        _replay(store, rulebook, zones, parties, stats.first_ms + WARM_UP_MS)  # warm-up
        seconds, engine, emitted = _replay(store, rulebook, zones, parties)
        live_seconds = _live(store, rulebook, zones, parties)
    span_s = (stats.last_ms - stats.first_ms) / 1000.0
    factor = span_s / seconds
    final = final_events(emitted)
    by_kind = Counter(event.kind for event in final)
    by_level = Counter(f"{event.kind} L{event.level}" for event in final)
    verdict = "ok" if factor >= TARGET_FACTOR else "MISS"
    print(
        f"  {stats.positions:,} positions, {stats.vessels:,} vessels, {span_s / 3600:.1f} h of "
        f"data, {engine.stats.ticks:,} ticks"
    )
    print(
        f"  replay {seconds:.1f} s: {factor:,.0f}x real time (target {TARGET_FACTOR:.0f}x: "
        f"{verdict}), {seconds / max(engine.stats.ticks, 1) * 1000:.1f} ms per tick"
    )
    print(f"  live-sized batches (10 s of data each): {live_seconds:.1f} s, "
          f"{span_s / live_seconds:,.0f}x real time")  # fmt: skip
    print(f"  {len(final)} events ({len(emitted)} emitted incl. updates):")
    for kind, count in sorted(by_kind.items()):
        levels = ", ".join(
            f"L{level}: {by_level[f'{kind} L{level}']}"
            for level in range(1, 5)
            if by_level[f"{kind} L{level}"]
        )
        print(f"    {kind:<16} {count:>5}  ({levels})")
    OUT.mkdir(exist_ok=True)
    (OUT / "detect_replay.json").write_text(
        json.dumps(
            {
                "scenario": scenario.name,
                "positions": stats.positions,
                "vessels": stats.vessels,
                "data_hours": span_s / 3600,
                "ticks": engine.stats.ticks,
                "replay_s": seconds,
                "real_time_factor": factor,
                "target_factor": TARGET_FACTOR,
                "live_batches_s": live_seconds,
                "events": len(final),
                "emitted": len(emitted),
                "events_by_kind": dict(sorted(by_kind.items())),
                "events_by_kind_level": dict(sorted(by_level.items())),
            },
            indent=2,
        )
        + "\n"
    )


if __name__ == "__main__":
    main()
