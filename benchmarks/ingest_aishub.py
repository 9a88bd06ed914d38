"""AIS ingest against a bare pyais decode loop, on the 82.7k-message AISHub log.

Seabridge's whole ingest (framing, checksums, multipart assembly, decode: numpy for
whole 168-bit position reports, pyais for the rest; normalization, DuckDB store with
de-duplication) runs on the file with ``--start`` (the
log has no times, so every position is stored) into a fresh DuckDB file. In the same run,
the baseline is the loop pyais's own benchmark uses: ``for msg in FileReaderStream(path):
msg.decode()``. Runs alternate; the median of each is reported, in wall and CPU seconds.
Target (DESIGN.md): ingest <= 1.5 x the bare loop.
"""

from __future__ import annotations

import json
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pyais

from seabridge.ais.ingest import IngestOptions, ingest
from seabridge.ais.quarantine import Quarantine
from seabridge.ais.summary import IngestSummary
from seabridge.tracks import TrackStore
from seabridge.units import iso_to_ms

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "ais"
LOG = DATA / "aishub-nmea-sample" / "nmea-sample.txt"
RUNS = 7
TARGET_RATIO = 1.5
OUT = Path(__file__).resolve().parents[1] / "bench-out"


def bare_pyais(path: Path) -> int:
    """The baseline: pyais's stream reader and decode, nothing else."""
    count = 0
    for message in pyais.FileReaderStream(str(path)):
        try:
            message.decode()
        except Exception:
            continue
        count += 1
    return count


def seabridge_ingest(path: Path, workdir: Path) -> IngestSummary:
    """The whole Seabridge ingest into a fresh DuckDB file."""
    db = workdir / "bench.duckdb"
    db.unlink(missing_ok=True)
    options = IngestOptions(fmt="nmea", start_ms=iso_to_ms("2024-01-01T00:00:00Z"))
    with Quarantine(workdir / "quarantine.jsonl") as quarantine, TrackStore.open(db) as store:
        return ingest([str(path)], store, quarantine, options)


def _timed(run: Callable[[], object]) -> tuple[float, float, object]:
    wall, cpu = time.perf_counter(), time.process_time()
    result = run()
    return time.perf_counter() - wall, time.process_time() - cpu, result


def main() -> None:
    if not LOG.exists():
        print(f"ingest benchmark skipped: {LOG} not found (shared data beside the checkout)")
        return
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        seabridge_ingest(LOG, workdir)  # warm-up: imports, caches, page cache
        bare_pyais(LOG)
        walls: dict[str, list[float]] = {"pyais": [], "seabridge": []}
        cpus: dict[str, list[float]] = {"pyais": [], "seabridge": []}
        summary: object = None
        baseline_count: object = None
        for _ in range(RUNS):
            wall, cpu, baseline_count = _timed(lambda: bare_pyais(LOG))
            walls["pyais"].append(wall)
            cpus["pyais"].append(cpu)
            wall, cpu, summary = _timed(lambda: seabridge_ingest(LOG, workdir))
            walls["seabridge"].append(wall)
            cpus["seabridge"].append(cpu)
        with TrackStore.open(workdir / "bench.duckdb", read_only=True) as store:
            stored = store.stats()
    assert isinstance(summary, IngestSummary)
    result = _report(walls, cpus, summary, int(baseline_count))  # type: ignore[call-overload]
    print(f"  stored {stored.positions:,} positions and {stored.statics:,} static reports")
    OUT.mkdir(exist_ok=True)
    (OUT / "ingest.json").write_text(json.dumps(result, indent=2) + "\n")


def _report(
    walls: dict[str, list[float]],
    cpus: dict[str, list[float]],
    summary: IngestSummary,
    baseline_count: int,
) -> dict[str, object]:
    median = {name: statistics.median(values) for name, values in walls.items()}
    median_cpu = {name: statistics.median(values) for name, values in cpus.items()}
    ratio = median["seabridge"] / median["pyais"]
    verdict = "meets" if ratio <= TARGET_RATIO else "MISSES"
    print(f"AIS ingest, {LOG.name}: {summary.messages:,} messages, median of {RUNS} runs")
    for name in ("pyais", "seabridge"):
        rate = (summary.messages if name == "seabridge" else baseline_count) / median[name]
        print(
            f"  {name:<10} {median[name]:.3f} s wall  {median_cpu[name]:.3f} s CPU"
            f"  {rate:>9,.0f} msg/s"
        )
    print(f"  ratio {ratio:.2f}x (target <= {TARGET_RATIO}x): {verdict} the target")
    print(
        f"  decoded {summary.positions:,} positions, {summary.statics:,} static reports; "
        f"rejected {dict(summary.rejected)}"
    )
    return {
        "messages": summary.messages,
        "baseline_messages": baseline_count,
        "median_wall_s": median,
        "median_cpu_s": median_cpu,
        "ratio": ratio,
        "target_ratio": TARGET_RATIO,
        "runs": RUNS,
    }
