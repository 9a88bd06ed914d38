"""Close-quarters screen at 1k, 10k and 100k vessels against brute force and a KD-tree.

Snapshots have realistic speeds (moored port clusters, slow fishing fleets, 8-22 kn lanes;
see snapshots.py). Each size reports the median of several runs of
:func:`seabridge.detect.cpa.close_pairs` (numba grid), the same-run baselines (the compiled
brute force up to 10k; a scipy cKDTree screen with the same exact CPA), whether the pair
sets are identical, and at 100k the peak memory of a fresh process running the screen.
Targets (DESIGN.md): 0.5 ms, 5 ms and 250 ms; <= 200 MiB at 100k.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
from scipy.spatial import cKDTree  # type: ignore[import-untyped]

from benchmarks.snapshots import snapshot
from seabridge.detect.cpa import CpaPairs, brute_force_pairs, close_pairs, pair_cpa
from seabridge.units import MPS_PER_KN

HORIZON_S, THRESHOLD_M = 720.0, 926.0
TARGETS_MS = {1_000: 0.5, 10_000: 5.0, 100_000: 250.0}
MEMORY_TARGET_MIB = 200.0
OUT = Path(__file__).resolve().parents[1] / "bench-out"


def kdtree_pairs(lat: Any, lon: Any, sog: Any, cog: Any) -> CpaPairs:
    """The scipy baseline: query_pairs at the worst-case radius on ECEF mid points."""
    phi, lam = np.radians(lat), np.radians(lon)
    # Start points: two vessels at the top speed closing head-on cover 2 * v * H.
    radius_m = (THRESHOLD_M + 2 * float(np.max(sog)) * MPS_PER_KN * HORIZON_S) * 1.01 + 100.0
    xyz = 6_371_000.0 * np.column_stack(
        [np.cos(phi) * np.cos(lam), np.cos(phi) * np.sin(lam), np.sin(phi)]
    )
    candidates = cKDTree(xyz).query_pairs(radius_m, output_type="ndarray")
    d, t = pair_cpa(lat, lon, sog, cog, candidates[:, 0], candidates[:, 1], horizon_s=HORIZON_S)
    hit = d < THRESHOLD_M
    i, j = candidates[hit, 0], candidates[hit, 1]
    return CpaPairs(np.minimum(i, j), np.maximum(i, j), d[hit], t[hit])


def _median_ms(run: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def _same(a: CpaPairs, b: CpaPairs) -> bool:
    a, b = a.sorted(), b.sorted()
    return bool(np.array_equal(a.i, b.i) and np.array_equal(a.j, b.j))


_PEAK_CHILD = """
import sys
from pathlib import Path
from benchmarks.snapshots import snapshot
from seabridge.detect.cpa import close_pairs

def status(key):
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key):
            return int(line.split()[1])

data = snapshot(COUNT, 1)
close_pairs(*data, horizon_s=720, threshold_m=926)  # loads the compiled code
Path("/proc/self/clear_refs").write_text("5")  # resets the peak (VmHWM) to the current RSS
before = status("VmRSS:")
close_pairs(*data, horizon_s=720, threshold_m=926)
print(status("VmHWM:") - before)
"""


def _peak_mib(count: int) -> float:
    """Peak RSS growth (Linux VmHWM, reset just before) of a fresh process screening."""
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run(
        [sys.executable, "-c", _PEAK_CHILD.replace("COUNT", str(count))],
        capture_output=True,
        text=True,
        cwd=root,
        check=True,
    )
    return float(done.stdout.strip()) / 1024.0


def main() -> None:
    close_pairs(*snapshot(100, 0), horizon_s=HORIZON_S, threshold_m=THRESHOLD_M)  # JIT warm-up
    brute_force_pairs(*snapshot(10, 0), horizon_s=HORIZON_S, threshold_m=THRESHOLD_M)
    print("Close-quarters screen (min separation < 0.5 nm within 12 min), realistic speeds")
    print(f"  {'vessels':>8} {'pairs':>9} {'grid ms':>9} {'target':>11} {'kd-tree ms':>11}"
          f" {'brute ms':>10} {'same set':>9}")  # fmt: skip
    results: dict[str, Any] = {}
    for count, target_ms in TARGETS_MS.items():
        data = snapshot(count, 1)
        repeats = 21 if count <= 10_000 else 5
        pairs = close_pairs(*data, horizon_s=HORIZON_S, threshold_m=THRESHOLD_M)
        screen = partial(close_pairs, *data, horizon_s=HORIZON_S, threshold_m=THRESHOLD_M)
        grid_ms = _median_ms(screen, repeats)
        kd_ms = _median_ms(partial(kdtree_pairs, *data), 3 if count < 100_000 else 1)
        same = _same(pairs, kdtree_pairs(*data))
        brute_ms: float | None = None
        if count <= 10_000:
            oracle = brute_force_pairs(*data, horizon_s=HORIZON_S, threshold_m=THRESHOLD_M)
            start = time.perf_counter()
            brute_force_pairs(*data, horizon_s=HORIZON_S, threshold_m=THRESHOLD_M)
            brute_ms = (time.perf_counter() - start) * 1000
            same = same and _same(pairs, oracle)
        brute = f"{brute_ms:10.1f}" if brute_ms is not None else f"{'-':>10}"
        verdict = "ok" if grid_ms <= target_ms else "MISS"
        print(f"  {count:>8,} {len(pairs.i):>9,} {grid_ms:>9.2f} {target_ms:>6} {verdict:<4}"
              f" {kd_ms:>11.1f} {brute} {same!s:>9}")  # fmt: skip
        results[str(count)] = {
            "pairs": len(pairs.i),
            "grid_ms": grid_ms,
            "kdtree_ms": kd_ms,
            "brute_ms": brute_ms,
            "same_pair_set": same,
            "target_ms": target_ms,
        }
    peak = _peak_mib(100_000)
    verdict = "meets" if peak <= MEMORY_TARGET_MIB else "MISSES"
    print(f"  peak memory of the screen at 100k: {peak:.1f} MiB ({verdict} the target)")
    results["peak_mib_100k"] = peak
    OUT.mkdir(exist_ok=True)
    (OUT / "close_quarters.json").write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
