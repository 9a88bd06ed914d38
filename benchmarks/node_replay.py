"""End-to-end replay: one node's whole pipeline over a scenario, against real time.

DESIGN.md's target: "end-to-end replay (ingest -> detect -> incidents), default scenario:
>= 500x real time". A fresh JCG node (``bench-out/node/jcg``, made anew each run) tails the
scenario's NMEA file (ecs-demo, or ecs-mini while ecs-demo is not in the pack; simulated
once into ``bench-out/detect/`` as :mod:`benchmarks.detect_replay` does) and is driven step
by step as :class:`~seabridge.node.service.Node` drives itself when served, but without
pauses: every step polls the file (what one step takes: ``node.step_lines``, at most 1 MiB),
decodes, stores into the track store, persists the cursor, runs the live engine, logs the
events and hands them to the incidents, which sign their notifications into the hotline
outbox (the own log of the channel to CCG; no peer is configured, so nothing is pushed).
Then the incidents round runs and the ledger's deadline watcher, whose ``deadline-missed``
entries escalate (what the delivery loop does). The node's clock is a replay clock that
follows the data: it reads the newest data time the node has ingested, so deadlines pass
in data time.

Baselines measured in the same run, over the same data: the bare ingest (``seabridge
ingest``: decode, normalize, store, into a fresh track store) and the detection-only replay
of the stored positions (:func:`seabridge.detect.run_store`, :mod:`benchmarks.detect_replay`).
Each is reported as a real-time factor (data time / wall time), and the node's time is split
by phase (the pipeline step, incidents and deadlines) and the step by part (source poll,
decode, take, store, cursors, detection; wall and CPU of each, timed by wrapping the methods
that do them, so the split never needs a profiler). Wall
times on a shared machine vary; CPU seconds are printed too.
"""

from __future__ import annotations

import contextlib
import cProfile
import importlib
import json
import os
import pstats
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from benchmarks.detect_replay import OUT, WARM_UP_MS, _prepared, _replay, _scenario
from seabridge.ais.ingest import IngestOptions, ingest
from seabridge.ais.quarantine import Quarantine
from seabridge.clock import SystemClock
from seabridge.detect import load_rulebook
from seabridge.geo import load_zones
from seabridge.node.directory import init_node
from seabridge.node.sources import SourceConfig
from seabridge.packs import load_pack, load_parties
from seabridge.tracks import TrackStore

TARGET_FACTOR = 500.0
PROFILE = os.environ.get("SEABRIDGE_BENCH_PROFILE", "") not in ("", "0")
"""``SEABRIDGE_BENCH_PROFILE=1``: profile the node's replay (cProfile) and print the top."""


# Parts of the pipeline step timed on their own (wall, and CPU of all threads): the
# (module, class, method) that does each; a part missing from the code is left out.
_PARTS = {
    "poll": ("seabridge.node.sources", "FileSource", "poll"),
    "decode": ("seabridge.ais.nmea", "NmeaDecoder", "feed"),
    "take": ("seabridge.node.pipeline", "Pipeline", "_take"),
    "store": ("seabridge.node.pipeline", "Pipeline", "_store"),
    "cursors": ("seabridge.node.pipeline", "Pipeline", "_save_cursors"),
    "detect": ("seabridge.detect.engine", "Engine", "feed_positions"),
    "(store: DuckDB insert)": ("seabridge.tracks.store", "TrackStore", "_insert"),
}  # a name in parentheses is inside another part


@contextlib.contextmanager
def _timed_parts() -> Iterator[dict[str, list[float]]]:
    """Time the parts of :data:`_PARTS` while inside: ``{part: [wall s, CPU s]}``."""
    times: dict[str, list[float]] = {}
    restore = []
    for part, (module_name, class_name, method) in _PARTS.items():
        owner = getattr(importlib.import_module(module_name), class_name, None)
        original = getattr(owner, method, None)
        if owner is None or original is None:
            continue
        times[part] = [0.0, 0.0]

        def timed(*args: Any, _f: Any = original, _t: list[float] = times[part], **kw: Any) -> Any:
            wall, cpu = time.perf_counter(), time.process_time()
            try:
                return _f(*args, **kw)
            finally:
                _t[0] += time.perf_counter() - wall
                _t[1] += time.process_time() - cpu

        setattr(owner, method, timed)
        restore.append((owner, method, original))
    try:
        yield times
    finally:
        for owner, method, original in restore:
            setattr(owner, method, original)


class DataClock:
    """The node's replay clock: the newest data time it has ingested (set after each step),
    so detection's data time, deadlines and ledger timestamps run together."""

    def __init__(self, now_ms: int) -> None:
        self.now = now_ms

    def now_ms(self) -> int:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += round(seconds * 1000)


def _node_replay(nmea: Path, first_ms: int) -> dict[str, Any]:
    """One fresh node over ``nmea`` as fast as it goes; its counts and phase times."""
    from seabridge.node.service import Node

    folder = OUT / "node"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    # Certificates are dated by the wall clock; the replay clock runs in the data's time.
    init_node(folder / "jcg", "jcg", "JCG", "127.0.0.1:1", "127.0.0.1:2", SystemClock())
    clock = DataClock(first_ms)
    source = SourceConfig(name="replay", url=str(nmea.resolve()), silent_after_s=0.0)
    node = Node.open(folder / "jcg", clock, sources=[source])
    size = nmea.stat().st_size
    phases = {"step": 0.0, "incidents": 0.0, "deadlines": 0.0}
    steps = positions = events = escalations = 0
    wall, cpu = time.perf_counter(), time.process_time()
    with contextlib.ExitStack() as stack:
        parts = stack.enter_context(_timed_parts())
        stack.callback(node.close)
        node.begin()
        while True:
            mark = time.perf_counter()
            result = node.step()
            phases["step"] += time.perf_counter() - mark
            steps += 1
            positions += result.positions
            events += len(result.events)
            data_s = node.metrics.value("seabridge_data_time_seconds")
            clock.now = max(clock.now, round(data_s * 1000))
            mark = time.perf_counter()
            node.incidents_round()
            phases["incidents"] += time.perf_counter() - mark
            mark = time.perf_counter()
            missed = node.ledger.check_deadlines(clock.now)
            if missed:
                escalations += len(missed)
                node.on_deadline_missed(missed)
            phases["deadlines"] += time.perf_counter() - mark
            offsets = node.pipeline.sources[0].cursor().values()
            if not result.lines and max(offsets, default=0) >= size:
                break
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        outbox = {
            peer: node.ledger.size(node.ledger.own_origin(peer)) for peer in node.ledger.channels
        }
        assert node.incidents is not None
        incidents = len(node.incidents.manager.list())
    return {
        "wall_s": wall,
        "cpu_s": cpu,
        "steps": steps,
        "positions": positions,
        "events": events,
        "incidents": incidents,
        "deadlines_missed": escalations,
        "outbox": outbox,
        "phases_s": phases,
        "step_parts_s": parts,
        "data_ms": clock.now - first_ms,
    }


def _bare_ingest(nmea: Path) -> tuple[float, float, int]:
    """``seabridge ingest`` of the file into a fresh store: (wall s, CPU s, messages)."""
    folder = OUT / "node"
    store_path = folder / "ingest.duckdb"
    store_path.unlink(missing_ok=True)
    wall, cpu = time.perf_counter(), time.process_time()
    with (
        Quarantine(folder / "ingest.quarantine.jsonl") as rejected,
        TrackStore.open(store_path) as store,
    ):
        summary = ingest([str(nmea)], store, rejected, IngestOptions(fmt="nmea"))
    return time.perf_counter() - wall, time.process_time() - cpu, summary.messages


def main() -> None:
    scenario, note = _scenario()
    print(f"Node replay (sources -> ingest -> store -> engine -> incidents -> outbox): "
          f"{scenario.name}{note}")  # fmt: skip
    store_path = _prepared(scenario)
    nmea = store_path.with_suffix(".nmea")
    pack = load_pack("ecs")
    zones, parties = load_zones(pack), load_parties(pack)
    rulebook = load_rulebook("ecs-standard", pack, zone_ids=zones.ids, parties=parties)
    with TrackStore.open(store_path, read_only=True) as store:
        stats = store.stats()
        assert stats.first_ms is not None and stats.last_ms is not None
        _replay(store, rulebook, zones, parties, stats.first_ms + WARM_UP_MS)  # numba warm-up
    span_s = (stats.last_ms - stats.first_ms) / 1000.0

    profiler = cProfile.Profile() if PROFILE else None
    if profiler is not None:
        profiler.enable()
    node = _node_replay(nmea, stats.first_ms)
    if profiler is not None:
        profiler.disable()
    with TrackStore.open(store_path, read_only=True) as store:
        cpu = time.process_time()
        detect_s, _, _ = _replay(store, rulebook, zones, parties)
        detect_cpu = time.process_time() - cpu
    ingest_s, ingest_cpu, messages = _bare_ingest(nmea)

    factor = span_s / node["wall_s"]
    verdict = "ok" if factor >= TARGET_FACTOR else "MISS"
    print(f"  {span_s / 3600:.1f} h of data, {messages:,} messages, "
          f"{node['positions']:,} positions in {node['steps']} node steps")  # fmt: skip
    print(f"  node pipeline     {node['wall_s']:6.1f} s (CPU {node['cpu_s']:5.1f} s): "
          f"{factor:5,.0f}x real time (target {TARGET_FACTOR:.0f}x: {verdict})")  # fmt: skip
    for phase, seconds in node["phases_s"].items():
        print(f"    {phase:<10} {seconds:6.1f} s")
        if phase == "step":
            parts = node["step_parts_s"]
            for part, (wall_s, cpu_s) in parts.items():
                print(f"      {part:<8} {wall_s:6.1f} s (CPU {cpu_s:5.1f} s)")
            inside = sum(wall_s for part, (wall_s, _) in parts.items() if part[0] != "(")
            print(f"      {'other':<8} {seconds - inside:6.1f} s")
    print(f"  baseline: ingest  {ingest_s:6.1f} s (CPU {ingest_cpu:5.1f} s): "
          f"{span_s / ingest_s:5,.0f}x real time ({messages / ingest_s:,.0f} msg/s)")  # fmt: skip
    print(f"  baseline: detect  {detect_s:6.1f} s (CPU {detect_cpu:5.1f} s): "
          f"{span_s / detect_s:5,.0f}x real time")  # fmt: skip
    print(f"  ingest + detect   {ingest_s + detect_s:6.1f} s: "
          f"{span_s / (ingest_s + detect_s):5,.0f}x; node / (ingest + detect): "
          f"{node['wall_s'] / (ingest_s + detect_s):.2f}")  # fmt: skip
    print(f"  {node['events']:,} events emitted, {node['incidents']} incidents, "
          f"{node['deadlines_missed']} deadlines missed, outbox {node['outbox']}")  # fmt: skip
    if profiler is not None:
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(40)
    OUT.mkdir(exist_ok=True)
    (OUT / "node_replay.json").write_text(
        json.dumps(
            {
                "scenario": scenario.name,
                "data_hours": span_s / 3600,
                "messages": messages,
                "node": node,
                "real_time_factor": factor,
                "target_factor": TARGET_FACTOR,
                "baseline_ingest_s": ingest_s,
                "baseline_ingest_cpu_s": ingest_cpu,
                "baseline_detect_s": detect_s,
                "baseline_detect_cpu_s": detect_cpu,
            },
            indent=2,
        )
        + "\n"
    )


if __name__ == "__main__":
    main()
