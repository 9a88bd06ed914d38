"""Scale-out: ecs-standard over a multi-day archive, local engine against Dask (issue 10).

The archive is simulator output made multi-day: ecs-mini (one hour, ~120k positions; ingested
once by the detect benchmark's helper) repeated back to back, each copy an hour later, until
the target size (``SCALEOUT_POSITIONS``, default 20M, i.e. about a week), written once under
``bench-out/scaleout/`` with a 2x twin. For 1x and 2x it times the local engine (one
sequential run) and the partitioned engine on a Dask LocalCluster of 2 single-thread
workers (day partitions), checks both give the same events, and prints positions per second,
per core, and Dask's overhead as a ratio of core-seconds (2 x Dask wall / local wall).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from benchmarks.detect_replay import OUT, _prepared
from seabridge.detect import final_events, load_rulebook
from seabridge.detect.scaleout import EngineFactory, dask_executor, run_archive, run_partitioned
from seabridge.geo import load_zones
from seabridge.packs import load_pack, load_parties
from seabridge.sim.scenario import load_scenario
from seabridge.tracks import TrackStore
from seabridge.tracks.archive import MS_PER_DAY, Archive, ArchiveWriter

TARGET = int(os.environ.get("SCALEOUT_POSITIONS", "20000000"))
WORKERS = 2
HOUR_MS = 3_600_000


def _archive(copies: int, name: str) -> Path:
    """``copies`` hours of ecs-mini back to back, as a day-partitioned archive (once)."""
    root = OUT / "scaleout" / name
    if (root / "_done").is_file():
        return root
    store_path = _prepared(load_scenario("ecs-mini"))
    with TrackStore.open(store_path, read_only=True) as store:
        hour = store.positions(order="ts")
    ts = hour.column("ts").cast(pa.int64())
    print(f"  writing {copies} hours ({copies * hour.num_rows:,} positions) to {root} ...")
    started = time.perf_counter()
    with ArchiveWriter(root, flush_rows=4_000_000) as writer:
        for copy in range(copies):
            shifted = pc.add(ts, copy * HOUR_MS).cast(hour.schema.field("ts").type)
            writer.append_positions(hour.set_column(1, "ts", shifted))
            if copy % 24 == 23:
                print(f"    {copy + 1}/{copies} hours", flush=True)
    (root / "_done").write_text("ok")
    print(f"  written in {time.perf_counter() - started:.0f} s")
    return root


def _ids(events: list[Any]) -> dict[str, Any]:
    return {event.id: event for event in events}


def _build(factory: EngineFactory) -> None:
    factory()


def _warm(client: Any, factory: EngineFactory) -> None:
    """Build an engine on every worker once (imports, numba kernels from the cache), as the
    local engine's process already has; nothing comes back but None."""
    client.run(_build, factory)


def _measure(root: Path, factory: EngineFactory, client: Any) -> dict[str, Any]:
    from dask.distributed import get_task_stream

    archive = Archive(root)
    engine = factory()
    started = time.perf_counter()
    local = final_events(run_archive(archive, engine))
    local_s = time.perf_counter() - started
    positions = engine.stats.positions
    _warm(client, factory)
    started = time.perf_counter()
    with get_task_stream(client) as stream:
        merged, results = run_partitioned(archive, factory, executor=dask_executor(client))
    dask_s = time.perf_counter() - started
    read = sum(r.positions + r.run_on_positions for r in results)
    parts = _partitions(results, stream.data, started)
    return {
        "positions": positions,
        "days": len(archive.days),
        "events": len(local),
        "same_events": _ids(local) == _ids(merged),
        "local_s": round(local_s, 1),
        "local_pos_per_s": round(positions / local_s),
        "dask_s": round(dask_s, 1),
        "dask_pos_per_s": round(positions / dask_s),
        "dask_pos_per_core_s": round(positions / dask_s / WORKERS),
        "dask_positions_read": read,
        "overhead_core_ratio": round(dask_s * WORKERS / local_s, 2),
        "speedup": round(local_s / dask_s, 2),
        "partitions": parts,
    }


def _partitions(results: list[Any], stream: list[dict[str, Any]], t0: float) -> dict[str, Any]:
    """Per partition: positions read (own + warm-up; run-on), wall and CPU seconds inside the
    task; per worker (Dask's task stream): busy seconds and each task's span after submit."""
    epoch0 = time.time() - (time.perf_counter() - t0)
    workers: dict[str, dict[str, Any]] = {}
    for task in stream:
        compute = next(s for s in task["startstops"] if s["action"] == "compute")
        row = workers.setdefault(str(task["worker"]), {"busy_s": 0.0, "tasks": []})
        row["busy_s"] = round(row["busy_s"] + compute["stop"] - compute["start"], 1)
        row["tasks"].append(
            [round(compute["start"] - epoch0, 1), round(compute["stop"] - epoch0, 1)]
        )
    for row in workers.values():
        row["tasks"].sort()
    return {
        "tasks": [
            {
                "index": r.partition.index,
                "read": r.positions,
                "run_on": r.run_on_positions,
                "s": round(r.seconds, 1),
                "cpu_s": round(r.cpu_seconds, 1),
            }
            for r in results
        ],
        "workers": workers,
    }


def main() -> None:
    from dask.distributed import Client, LocalCluster

    with TrackStore.open(_prepared(load_scenario("ecs-mini")), read_only=True) as store:
        hour_rows = store.stats().positions  # one copy of ecs-mini, as stored (deduplicated)
    copies = max(1, -(-TARGET // hour_rows))  # at least TARGET positions at 1x
    print(f"Scale-out: ecs-standard over ~{TARGET:,} positions (1x) and 2x; {WORKERS} workers")
    pack = load_pack("ecs")
    zones, parties = load_zones(pack), load_parties(pack)
    rulebook = load_rulebook("ecs-standard", pack, zone_ids=zones.ids, parties=parties)
    factory = EngineFactory.of(rulebook, zones, parties)
    report: dict[str, Any] = {"target": TARGET, "workers": WORKERS, "partition_ms": MS_PER_DAY}
    with (
        LocalCluster(n_workers=WORKERS, threads_per_worker=1, dashboard_address=":0") as cluster,  # type: ignore[no-untyped-call]
        Client(cluster) as client,  # type: ignore[no-untyped-call]
    ):
        for scale in (1, 2):
            root = _archive(copies * scale, f"{TARGET // 1_000_000}M-x{scale}")
            row = _measure(root, factory, client)
            report[f"x{scale}"] = row
            print(f"  {scale}x: {json.dumps(row)}", flush=True)
    (OUT / "scaleout.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
