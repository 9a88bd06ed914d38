"""Builders for node tests: node directories for parties in a temporary directory."""

from __future__ import annotations

from pathlib import Path

from seabridge.clock import Clock, ManualClock, SystemClock
from seabridge.node import NodeConfig, export_bundle, import_bundle, init_node

__all__ = ["T0_MS", "fixed_clock", "make_node", "make_pair", "wall_clock"]

T0_MS = 1_777_593_600_000
"""2026-05-01T00:00:00Z: a fixed start for tests that read dates, not handshakes."""

_PORTS = {"jcg": 18443, "ccg": 19443, "xcg": 20443}


def fixed_clock() -> ManualClock:
    return ManualClock(T0_MS)


def wall_clock() -> ManualClock:
    """A manual clock started at the wall time: OpenSSL checks certificates against the wall."""
    return ManualClock(SystemClock().now_ms())


def make_node(tmp_path: Path, party: str, clock: Clock, **options: object) -> NodeConfig:
    """A new node of ``party`` in ``tmp_path/party`` (federation port by party, console +1)."""
    port = _PORTS.get(party, 21443)
    return init_node(
        tmp_path / party,
        party,
        f"{party.upper()} test node",
        f"127.0.0.1:{port}",
        f"127.0.0.1:{port + 1}",
        clock,
        **options,  # type: ignore[arg-type]
    )


def make_pair(tmp_path: Path, clock: Clock) -> tuple[NodeConfig, NodeConfig]:
    """jcg and ccg nodes that have imported each other's bundle."""
    jcg = make_node(tmp_path, "jcg", clock)
    ccg = make_node(tmp_path, "ccg", clock)
    jcg_bundle, ccg_bundle = export_bundle(jcg, clock), export_bundle(ccg, clock)
    return import_bundle(jcg, ccg_bundle, clock), import_bundle(ccg, jcg_bundle, clock)
