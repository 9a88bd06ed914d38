"""Hotline node restart time with 10,000 entries (``domain/hotline-protocol.md`` §7, R8).

A jcg ledger with 10,000 own entries, each pushed to and cosigned by a ccg ledger (the Ledger
API directly, in a temporary directory, pushes handed across in process: no HTTP, no TLS), is
closed; then the time from ``Ledger(...)`` to ready (the constructor loads the stored Merkle
trees, checks every stored leaf and checkpoint against them (S7), and the first
``checkpoint()`` answer) is measured, median of 5 opens. ccg's open (the 10,000-entry mirror
plus the cosignatures it issued) is measured too.

Baselines in the same run, on the same file: a bare ``sqlite3.connect`` + ``SELECT count(*)``
of the log, reading every leaf hash of the log, and rebuilding the Merkle tree in memory from
those leaves (what a node without a stored tree would do).

The file is hot in the OS page cache (it was just written); a cold start after a reboot adds
the disk reads of the file (about 11 MB here).

Target (R8): restart to serving <= 2 s with 10,000 entries.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from seabridge.clock import ManualClock
from seabridge.hotline.keys import KEY_TYPE_COSIGNATURE, KEY_TYPE_NOTE, SigningKey
from seabridge.hotline.ledger import Ledger
from seabridge.hotline.merkle import MerkleTree

OUT = Path(__file__).resolve().parents[1] / "bench-out"
ENTRIES = 10_000
PUSH_EVERY = 250  # sends between pushes (a push carries at most MAX_BATCH = 256)
REPEATS = 5
TARGET_S = 2.0
START_MS = 1_790_000_000_000
PARTIES = ("jcg", "ccg")


def _key(name: str, key_type: int) -> SigningKey:
    seed = hashlib.sha256(f"bench/{name}/{key_type}".encode()).digest()
    return SigningKey.from_seed(name, key_type, seed)


def _open(root: Path, party: str, clock: ManualClock) -> Ledger:
    other = PARTIES[1] if party == PARTIES[0] else PARTIES[0]
    peers = {
        other: (
            _key(f"{other}/hotline", KEY_TYPE_NOTE).verifier,
            _key(f"{other}/hotline/cosigner", KEY_TYPE_COSIGNATURE).verifier,
        )
    }
    (root / party).mkdir(parents=True, exist_ok=True)
    return Ledger(
        root / party / "state.sqlite",
        party,
        _key(f"{party}/hotline", KEY_TYPE_NOTE),
        _key(f"{party}/hotline/cosigner", KEY_TYPE_COSIGNATURE),
        peers,
        clock,
    )


def _push_all(jcg: Ledger, ccg: Ledger) -> None:
    while (body := jcg.push_request("ccg")) is not None:
        jcg.accept_response("ccg", ccg.receive_push(body))


def build(root: Path, entries: int = ENTRIES) -> dict[str, float]:
    """Write ``entries`` notifications from jcg, pushed and cosigned by ccg as they go."""
    clock = ManualClock(START_MS)
    jcg, ccg = _open(root, "jcg", clock), _open(root, "ccg", clock)
    began = time.perf_counter()
    try:
        for i in range(entries):
            text = f"restart benchmark message {i}"
            jcg.send(
                "ccg",
                "notification",
                {"text": text, "text_en": text, "marker": "INFORMATION"},
                msg_id=f"bench-{i:05d}",
            )
            clock.advance(0.1)
            if (i + 1) % PUSH_EVERY == 0 or i + 1 == entries:
                _push_all(jcg, ccg)
            if (i + 1) % 1000 == 0:
                elapsed = time.perf_counter() - began
                print(f"  built {i + 1:,} of {entries:,} entries ({elapsed:.0f} s)", flush=True)
        own = jcg.own_origin("ccg")
        assert jcg.size(own) == ccg.size(own) == entries
        assert jcg.delivery_state("ccg").acked_size == entries
    finally:
        jcg.close()
        ccg.close()
    return {"build_s": time.perf_counter() - began}


def _median_s(action: Callable[[], None], repeats: int = REPEATS) -> dict[str, Any]:
    times = []
    for _ in range(repeats):
        began = time.perf_counter()
        action()
        times.append(time.perf_counter() - began)
    return {"median_s": statistics.median(times), "min_s": min(times), "max_s": max(times)}


def _restart(root: Path, party: str) -> None:
    ledger = _open(root, party, ManualClock(START_MS + 10**9))
    try:
        ledger.checkpoint("jcg/hotline/ccg")  # the first answer a serving node gives
    finally:
        ledger.close()


def _sqlite_count(path: Path) -> None:
    conn = sqlite3.connect(path)
    try:
        conn.execute("SELECT count(*) FROM log").fetchone()
    finally:
        conn.close()


def _read_leaves(path: Path) -> list[bytes]:
    conn = sqlite3.connect(path)
    try:
        rows = conn.execute(
            "SELECT leaf FROM log WHERE origin = 'jcg/hotline/ccg' ORDER BY seq"
        ).fetchall()
    finally:
        conn.close()
    return [bytes(leaf) for (leaf,) in rows]


def _count_leaves(path: Path) -> None:
    assert _read_leaves(path)


def _rebuild_tree(path: Path) -> None:
    tree = MerkleTree()
    for leaf in _read_leaves(path):
        tree.append(leaf)
    tree.root()


def run(entries: int = ENTRIES) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="seabridge-bench-restart-") as tmp:
        root = Path(tmp)
        built = build(root, entries)
        jcg_file = root / "jcg" / "state.sqlite"
        size_mb = sum(p.stat().st_size for p in (root / "jcg").iterdir()) / 1e6
        return {
            "entries": entries,
            "jcg_files_mb": size_mb,
            **built,
            "restart": {party: _median_s(partial(_restart, root, party)) for party in PARTIES},
            "baselines": {
                "sqlite_open_count": _median_s(lambda: _sqlite_count(jcg_file)),
                "read_all_leaves": _median_s(lambda: _count_leaves(jcg_file)),
                "rebuild_tree_from_leaves": _median_s(lambda: _rebuild_tree(jcg_file)),
            },
            "repeats": REPEATS,
            "target_s": TARGET_S,
        }


def main() -> None:
    print(f"Hotline restart with {ENTRIES:,} entries, pushed and cosigned (R8)")
    report = run()
    print(f"  built in {report['build_s']:.0f} s; jcg files {report['jcg_files_mb']:.1f} MB")
    for party, result in report["restart"].items():
        verdict = "meets" if result["median_s"] <= TARGET_S else "MISSES"
        role = "own log" if party == "jcg" else "mirror"
        print(
            f"  {party} ({role}) open to ready, median of {REPEATS}: "
            f"{result['median_s'] * 1000:.0f} ms (min {result['min_s'] * 1000:.0f}, max "
            f"{result['max_s'] * 1000:.0f}) ({verdict} the <= {TARGET_S:g} s target)"
        )
    for name, result in report["baselines"].items():
        print(
            f"  baseline {name.replace('_', ' ')}, median of {REPEATS}: "
            f"{result['median_s'] * 1000:.1f} ms"
        )
    OUT.mkdir(exist_ok=True)
    (OUT / "hotline_restart.json").write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
