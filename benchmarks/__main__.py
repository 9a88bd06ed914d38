"""Run every benchmark: ``python -m benchmarks [NAME ...]`` (``make bench``)."""

from __future__ import annotations

import sys

from benchmarks import (
    close_quarters,
    detect_replay,
    hotline_latency,
    hotline_restart,
    ingest_aishub,
    node_replay,
    scaleout,
    sim_throughput,
    zones_containment,
)

BENCHMARKS = {
    "ingest": ingest_aishub.main,
    "close_quarters": close_quarters.main,
    "zones": zones_containment.main,
    "detect": detect_replay.main,
    "node_replay": node_replay.main,
    "sim": sim_throughput.main,
    "scaleout": scaleout.main,
    "hotline": hotline_latency.main,
    "hotline_restart": hotline_restart.main,
}


def main(argv: list[str]) -> int:
    names = argv or list(BENCHMARKS)
    unknown = [name for name in names if name not in BENCHMARKS]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; known: {', '.join(BENCHMARKS)}")
        return 2
    for name in names:
        BENCHMARKS[name]()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
